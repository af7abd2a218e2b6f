"""``vault serve`` runs the HTTP API on a data folder; ``vault demo`` sets one up first.

The demo builds a throwaway registry in a new temporary folder with a development
keyring, one account per role, and either the sample workbook of 清溪镇 (when it is
found) or an invented township, then serves it on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import tempfile
from pathlib import Path
from typing import Any

from vault.accounts import ROLES, Account
from vault.audit import AuditRecord
from vault.bootstrap import Services, open_services, policies_dir
from vault.cli.admin import print_totp_secret
from vault.cli.common import add_store_options, new_request_id, store_config
from vault.cli.output import Console
from vault.cli.township import TOWNSHIP, invent_township, write_township
from vault.crypto.keyring import create_development_keyring
from vault.errors import Problem, WorkbookError
from vault.logs import configure_logging
from vault.policy import load_policies
from vault.store.config import StoreConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SAMPLE = Path("shared/samples/qingxi-registration.xlsx")
SAMPLE_TOWNSHIP = "331024103"
# The department the demo's department account belongs to (a key of departments.toml).
DEMO_DEPARTMENT = "health"


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="运行 HTTP API / run the HTTP API")
    add_store_options(serve)
    _add_listen_options(serve)
    serve.set_defaults(handler=run_serve)

    demo = commands.add_parser(
        "demo", help="建一个临时演示库并运行 / build a throwaway demo registry and serve it")
    demo.add_argument(
        "--residents", type=int, default=2000,
        help="找不到样本工作簿时虚构的居民人数 / residents to invent without the sample")
    demo.add_argument("--sample", type=Path, help="样本工作簿路径 / sample workbook to import")
    demo.add_argument("--no-serve", action="store_true",
                      help="只建库，不启动服务 / build the registry, do not serve")
    _add_listen_options(demo)
    demo.set_defaults(handler=run_demo)


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"监听地址（默认 {DEFAULT_HOST}）/ address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"监听端口（默认 {DEFAULT_PORT}）/ TCP port")


def run_serve(args: argparse.Namespace, console: Console) -> int:
    _serve(store_config(args), args.host, args.port, console)
    return 0


def _serve(config: StoreConfig, host: str, port: int, console: Console) -> None:
    # Imported here so that other commands do not pay for loading the web stack.
    import uvicorn  # noqa: PLC0415

    from vault.api import create_app  # noqa: PLC0415

    configure_logging(json=True, level=logging.INFO)
    with open_services(config) as services:
        app = create_app(services, load_policies(policies_dir()))
        console.note(
            f"网页：http://{host}:{port}/　接口：http://{host}:{port}/api/v1（Ctrl-C 停止）。",
            f"Pages: http://{host}:{port}/  API: http://{host}:{port}/api/v1 (Ctrl-C stops).",
        )
        # Uvicorn's own access log would record client addresses; the application
        # writes its own, with a hashed address.
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


# -- demo -------------------------------------------------------------------------


def run_demo(args: argparse.Namespace, console: Console) -> int:
    folder = Path(tempfile.mkdtemp(prefix="vault-demo-"))
    config = StoreConfig(data_dir=folder / "var", keys_dir=folder / "keys")
    sample = args.sample or find_sample()
    township = SAMPLE_TOWNSHIP if sample else TOWNSHIP
    keyring = create_development_keyring(config.keys_dir)

    with open_services(config, keyring=keyring, create=True) as services:
        accounts = _create_accounts(services, township, console)
        workbook = sample or write_township(folder / "township.xlsx",
                                            invent_township(args.residents))
        _import(services, accounts["clerk"], workbook, console)

    console.say(f"演示数据目录：{folder}（开发密钥环，数据均为虚构，用完可删除）",
                f"Demo folder: {folder} (development keyring, invented data; delete when done)")
    _print_curl(console, args.port, accounts["clerk"].name)
    if not args.no_serve:
        _serve(config, args.host, args.port, console)
    return 0


def find_sample() -> Path | None:
    """Return the sample workbook beside the repository or the working folder, if any."""
    repository = Path(__file__).resolve().parents[3]
    for base in (Path.cwd().parent, repository.parent, Path.cwd()):
        candidate = base / SAMPLE
        if candidate.is_file():
            return candidate
    return None


def _create_accounts(services: Services, township: str, console: Console) -> dict[str, Account]:
    created: dict[str, Account] = {}
    console.say("演示账户（口令只显示这一次）：", "Demo accounts (passwords are shown only once):")
    for role in ROLES:
        password = secrets.token_urlsafe(12)
        scoped = role in ("clerk", "reviewer", "security-officer", "department")
        account = services.accounts.create(
            f"demo-{role}", password, (role,), township if scoped else "",
            DEMO_DEPARTMENT if role == "department" else None,
        )
        services.audit.append(AuditRecord(
            action="account.create", outcome="ok", request_id=new_request_id(),
            account_id=account.account_id, account_name=account.name, role=role,
            subject_ids=[str(account.account_id)], reason="demo",
        ))
        console.say(f"  {account.name}\t角色 {role}\t口令 {password}",
                    f"  {account.name}\trole {role}\tpassword {password}")
        print_totp_secret(console, account)
        created[role] = account
    return created


def _import(services: Services, clerk: Account, workbook: Path, console: Console) -> None:
    from vault.access import Gate  # noqa: PLC0415  # the web stack's import cost again

    gate = Gate(services, load_policies(policies_dir()))
    result = gate.import_workbook(clerk, workbook, request_id=new_request_id())
    if isinstance(result, Problem):
        raise WorkbookError(result.message_zh, result.message_en, code=result.code)
    console.say(f"已导入 {workbook.name}：登记 {result.registered} 人，拒绝 {result.rejected} 行。",
                f"Imported {workbook.name}: {result.registered} registered,"
                f" {result.rejected} rows rejected.")


def _print_curl(console: Console, port: int, clerk: str) -> None:
    base = f"http://127.0.0.1:{port}/api/v1"
    example = (
        f"  TOKEN=$(curl -s {base}/auth/tokens -H 'Content-Type: application/json' \\\n"
        f"    -d '{{\"username\": \"{clerk}\", \"password\": \"<口令/password>\","
        f" \"label\": \"demo\"}}' \\\n"
        f"    | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')\n"
        f"  curl -s {base}/persons/search -H \"Authorization: Bearer $TOKEN\" \\\n"
        f"    -H 'Content-Type: application/json' \\\n"
        f"    -d '{{\"id_number\": \"<证件号码/ID number>\"}}'"
    )
    console.say("用 API 令牌查询居民：\n" + example,
                "Find a resident with an API token:\n" + example)
