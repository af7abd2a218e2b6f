"""Options and helpers shared by the ``vault`` subcommands."""

from __future__ import annotations

import argparse
from uuid import uuid4

from vault.bootstrap import Services, open_services
from vault.cli.output import Console
from vault.store.config import StoreConfig, config_from


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="数据目录（默认 var/，或 VAULT_DATA）/ data folder")
    parser.add_argument("--keys", help="密钥环目录（默认 keys/，或 VAULT_KEYS）/ keyring folder")


def add_user_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", help="执行操作的账户 / account that runs the command")


def store_config(args: argparse.Namespace) -> StoreConfig:
    return config_from(args.data, args.keys)


def services_for(args: argparse.Namespace, console: Console) -> Services:
    services = open_services(store_config(args))
    if services.keyring.development:
        console.note(f"注意：{services.keyring.label}", f"Note: {services.keyring.label}")
    return services


def new_request_id() -> str:
    return uuid4().hex
