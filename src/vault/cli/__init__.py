"""The ``vault`` command: argument parsing and the one place errors become output."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

import structlog

from vault.cli.output import Console, language_from
from vault.errors import VaultError
from vault.logs import configure_logging

log = structlog.get_logger("vault.cli")


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the command receives SIGTERM."""


def _terminate(_signal: int, _frame: object) -> None:
    raise Terminated


def build_parser() -> argparse.ArgumentParser:
    from vault.cli import commands

    parser = argparse.ArgumentParser(
        prog="vault",
        description="Vault 全员人口信息数据库 / privacy-hardened population registry",
    )
    parser.add_argument("--lang", help="输出语言 zh 或 en（默认 zh，或 VAULT_LANG）/ output language")
    commands.register(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    configure_logging(json=True, level=30)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        console = Console(language_from(args.lang))
    except VaultError as error:
        return Console("zh").error(error)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    # A service manager or `kill` stops a command with SIGTERM: end it as Ctrl-C does,
    # with the same message, instead of silently. (`vault serve` sets its own.)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.handler(args, console) or 0)
    except VaultError as error:
        return console.error(error)
    except BrokenPipeError:
        # The reader of our output went away (``| head``); that is not an error here.
        # Point stdout at /dev/null so that the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as interrupt:
        console.note("已中断。已提交的批次保留，重新运行同一命令即可继续。",
                     "Interrupted. Committed batches are kept; rerun the same command to go on.")
        return 143 if isinstance(interrupt, Terminated) else 130
    except Exception as error:  # the last line of defence: no traceback, no data
        # The exception text could quote personal data (a library echoing a value), so
        # only its type is printed; VAULT_DEBUG=1 shows the full traceback to a developer.
        if os.environ.get("VAULT_DEBUG") == "1":
            raise
        log.error("unexpected_error", error_type=type(error).__name__)
        console.note(
            f"内部错误（{type(error).__name__}）。请联系管理员；设置 VAULT_DEBUG=1 可查看详情。",
            f"Internal error ({type(error).__name__}). Contact an administrator;"
            " set VAULT_DEBUG=1 for details.",
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
