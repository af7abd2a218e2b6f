"""The subcommand table of ``vault``."""

from __future__ import annotations

import argparse

from vault.cli import admin, approvals, policy, registry, serve


def register(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    admin.register(commands)
    registry.register(commands)
    policy.register(commands)
    approvals.register(commands)
    serve.register(commands)
