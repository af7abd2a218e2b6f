"""Commands that set up the registry and manage accounts and village tables."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from vault.accounts import ROLE_LABELS, ROLES, Account, totp_uri
from vault.audit import AuditRecord
from vault.bootstrap import open_services
from vault.cli.auth import login, read_password_stdin, require_role
from vault.cli.common import (
    add_store_options,
    add_user_option,
    new_request_id,
    services_for,
    store_config,
)
from vault.cli.output import Console
from vault.crypto.keyring import create_development_keyring, create_sealed_keyring, keyring_path
from vault.errors import AccessDenied, DataFolderExists, KeyringMissing, VaultError
from vault.passwords import check_new_password
from vault.villages import import_villages


def register(commands: Any) -> None:
    init = commands.add_parser("init", help="创建数据目录、密钥环和第一个系统管理员 / create a registry")
    add_store_options(init)
    init.add_argument("--admin", required=True, help="第一个系统管理员的用户名 / first system admin")
    init.add_argument("--password-stdin", action="store_true", required=True,
                      help="从标准输入第一行读取管理员口令 / read the password from stdin")
    init.add_argument("--dev", action="store_true",
                      help="创建开发密钥环（不加密保存，仅供开发测试）/ development keyring")
    init.set_defaults(handler=run_init)

    user = commands.add_parser("user", help="账户管理 / accounts").add_subparsers(dest="user_command")
    add = user.add_parser("add", help="新建账户 / create an account")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, choices=ROLES,
                     help="角色，可重复 / role, may repeat")
    add.add_argument("--jurisdiction", default="", help="管辖区划代码前缀 / division-code prefix")
    add.add_argument("--department", help="部门用户所属部门 / department of a department user")
    add.add_argument("--password-stdin", action="store_true", required=True)
    for sub in (add,):
        add_store_options(sub)
        add_user_option(sub)
    add.set_defaults(handler=run_user_add)

    listing = user.add_parser("list", help="列出账户 / list accounts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_user_list)
    disable = user.add_parser("disable", help="停用账户 / disable an account")
    disable.add_argument("name")
    disable.set_defaults(handler=run_user_disable, disabled=True)
    enable = user.add_parser("enable", help="启用账户 / re-enable an account")
    enable.add_argument("name")
    enable.set_defaults(handler=run_user_disable, disabled=False)
    roles = user.add_parser("set-roles", help="修改角色 / change roles")
    roles.add_argument("name")
    roles.add_argument("--role", action="append", required=True, choices=ROLES)
    roles.add_argument("--department")
    roles.set_defaults(handler=run_user_set_roles)
    scope = user.add_parser("set-jurisdiction", help="修改管辖范围 / change jurisdiction")
    scope.add_argument("name")
    scope.add_argument("jurisdiction")
    scope.set_defaults(handler=run_user_set_jurisdiction)
    force = user.add_parser("force-password-change", help="要求下次登录修改口令 / force a change")
    force.add_argument("name")
    force.set_defaults(handler=run_user_force)
    reset_totp = user.add_parser("reset-totp", help="重置动态口令密钥 / give a new TOTP secret")
    reset_totp.add_argument("name")
    reset_totp.set_defaults(handler=run_user_reset_totp)
    passwd = user.add_parser("passwd", help="修改自己的口令（新口令从标准输入读取）/ change own password")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    passwd.set_defaults(handler=run_user_passwd)
    for sub in (listing, disable, enable, roles, scope, force, reset_totp, passwd):
        add_store_options(sub)
        add_user_option(sub)

    villages = commands.add_parser("villages", help="村表 / village table").add_subparsers(
        dest="villages_command")
    load = villages.add_parser("import", help="导入村表（名称、代码）/ load a village table")
    load.add_argument("file", type=Path)
    add_store_options(load)
    add_user_option(load)
    load.set_defaults(handler=run_villages_import)

    projections = commands.add_parser("projections", help="读模型 / read models").add_subparsers(
        dest="projections_command")
    rebuild = projections.add_parser("rebuild", help="从事件重建读模型 / rebuild from events")
    add_store_options(rebuild)
    add_user_option(rebuild)
    rebuild.set_defaults(handler=run_projections_rebuild)


def run_init(args: argparse.Namespace, console: Console) -> int:
    config = store_config(args)
    if config.data_dir.exists() and any(config.data_dir.iterdir()):
        raise DataFolderExists(
            f"数据目录 {config.data_dir} 已存在且不为空，未做任何改动。",
            f"The data folder {config.data_dir} exists and is not empty; nothing was changed.",
            field="--data", value=str(config.data_dir),
        )
    password = read_password_stdin()
    check_new_password(password)
    if keyring_path(config.keys_dir).exists():
        raise DataFolderExists(
            f"密钥目录 {config.keys_dir} 中已有密钥环，未做任何改动。",
            f"The keys folder {config.keys_dir} already holds a keyring; nothing was changed.",
            code="KEYRING_EXISTS", field="--keys", value=str(config.keys_dir),
        )
    if args.dev:
        keyring = create_development_keyring(config.keys_dir)
    else:
        passphrase = os.environ.get("VAULT_KEYRING_PASSPHRASE")
        if not passphrase:
            raise KeyringMissing(
                "生产密钥环需要口令：请设置 VAULT_KEYRING_PASSPHRASE，或用 --dev 创建开发密钥环。",
                "A production keyring needs a passphrase: set VAULT_KEYRING_PASSPHRASE,"
                " or pass --dev for a development keyring.",
                code="KEYRING_PASSPHRASE_REQUIRED", field="VAULT_KEYRING_PASSPHRASE",
            )
        keyring = create_sealed_keyring(config.keys_dir, passphrase)

    with open_services(config, keyring=keyring, create=True) as services:
        account = services.accounts.create(args.admin, password, ("system-admin",), "")
        services.audit.append(AuditRecord(
            action="account.create", outcome="ok", request_id=new_request_id(),
            account_id=account.account_id, account_name=account.name, role="system-admin",
            subject_ids=[str(account.account_id)],
        ))
    console.say(
        f"已创建数据目录 {config.data_dir}，密钥环 {keyring_path(config.keys_dir)}，"
        f"系统管理员 {args.admin}。",
        f"Created the data folder {config.data_dir}, the keyring"
        f" {keyring_path(config.keys_dir)} and the system admin {args.admin}.",
    )
    print_totp_secret(console, account)
    if keyring.development:
        console.note(f"注意：{keyring.label}", f"Note: {keyring.label}")
    return 0


def print_totp_secret(console: Console, account: Account) -> None:
    """Print a new TOTP secret once, as an otpauth:// URI for an authenticator app."""
    if account.totp_secret is None:
        return
    uri = totp_uri(account.name, account.totp_secret)
    console.say(f"动态口令密钥（只显示这一次，请用验证器扫描或录入）：{uri}",
                f"TOTP secret (shown only this once; add it to an authenticator): {uri}")


def _admin(
    args: argparse.Namespace, console: Console, request_id: str, action: str
) -> tuple[Any, Account]:
    services = services_for(args, console)
    try:
        account = login(services, args.user, request_id)
        try:
            require_role(account, "system-admin")
        except AccessDenied as error:
            services.audit.append(AuditRecord(
                action=action, outcome="denied", request_id=request_id,
                account_id=account.account_id, account_name=account.name,
                role=",".join(account.roles), office=account.jurisdiction, reason=error.code,
            ))
            raise
    except BaseException:
        services.close()
        raise
    return services, account


def _audit_account_change(services: Any, admin: Account, action: str, target: Account,
                          request_id: str, reason: str | None = None) -> None:
    services.audit.append(AuditRecord(
        action=action, outcome="ok", request_id=request_id, account_id=admin.account_id,
        account_name=admin.name, role="system-admin", office=admin.jurisdiction,
        subject_ids=[str(target.account_id)], reason=reason,
    ))


def _deny_change(services: Any, admin: Account, action: str, request_id: str, error: Any) -> None:
    services.audit.append(AuditRecord(
        action=action, outcome="denied", request_id=request_id, account_id=admin.account_id,
        account_name=admin.name, role="system-admin", reason=error.code,
    ))


def run_user_add(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    services, admin = _admin(args, console, request_id, "account.create")
    with services:
        password = read_password_stdin()
        try:
            account = services.accounts.create(
                args.name, password, tuple(args.role), args.jurisdiction, args.department,
            )
        except VaultError as error:
            _deny_change(services, admin, "account.create", request_id, error)
            raise
        _audit_account_change(services, admin, "account.create", account, request_id,
                              reason="roles=" + ",".join(account.roles))
    console.say(f"已创建账户 {account.name}（{_labels(account)}）。",
                f"Created the account {account.name} ({', '.join(account.roles)}).")
    print_totp_secret(console, account)
    return 0


def run_user_reset_totp(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    services, admin = _admin(args, console, request_id, "account.totp_reset")
    with services:
        account = services.accounts.reset_totp(args.name)
        _audit_account_change(services, admin, "account.totp_reset", account, request_id)
    console.say(f"已重置账户 {account.name} 的动态口令。", f"Reset the TOTP secret of {account.name}.")
    print_totp_secret(console, account)
    return 0


def run_user_list(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    services, admin = _admin(args, console, request_id, "account.list")
    with services:
        accounts = services.accounts.list()
        services.audit.append(AuditRecord(
            action="account.list", outcome="ok", request_id=request_id,
            account_id=admin.account_id, account_name=admin.name, role="system-admin",
        ))
    if args.json:
        console.json([_account_dict(a) for a in accounts])
        return 0
    for a in accounts:
        state = ("停用" if a.disabled else "启用") if console.language == "zh" else (
            "disabled" if a.disabled else "enabled")
        roles = _labels(a) if console.language == "zh" else ",".join(a.roles)
        console.say(f"{a.name}\t{roles}\t{a.jurisdiction or '-'}\t{a.department or '-'}\t{state}",
                    f"{a.name}\t{roles}\t{a.jurisdiction or '-'}\t{a.department or '-'}\t{state}")
    return 0


def _change(
    args: argparse.Namespace, console: Console, action: str, change: Any,
    describe: Any = None,
) -> int:
    request_id = new_request_id()
    services, admin = _admin(args, console, request_id, action)
    with services:
        try:
            account = change(services.accounts)
        except VaultError as error:
            _deny_change(services, admin, action, request_id, error)
            raise
        _audit_account_change(services, admin, action, account, request_id,
                              reason=describe(account) if describe else None)
    console.say(f"已更新账户 {account.name}。", f"Updated the account {account.name}.")
    # A role change that added a second factor returns the new secret, shown once.
    print_totp_secret(console, account)
    return 0


def run_user_disable(args: argparse.Namespace, console: Console) -> int:
    action = "account.disable" if args.disabled else "account.enable"
    return _change(args, console, action, lambda a: a.set_disabled(args.name, args.disabled))


def run_user_set_roles(args: argparse.Namespace, console: Console) -> int:
    return _change(args, console, "account.set_roles",
                   lambda a: a.set_roles(args.name, tuple(args.role), args.department),
                   lambda account: "roles=" + ",".join(account.roles))


def run_user_set_jurisdiction(args: argparse.Namespace, console: Console) -> int:
    return _change(args, console, "account.set_jurisdiction",
                   lambda a: a.set_jurisdiction(args.name, args.jurisdiction),
                   lambda account: f"jurisdiction={account.jurisdiction}")


def run_user_force(args: argparse.Namespace, console: Console) -> int:
    return _change(args, console, "account.force_password_change",
                   lambda a: a.force_password_change(args.name))


def run_user_passwd(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    with services_for(args, console) as services:
        account = login(services, args.user, request_id, changing_password=True)
        services.accounts.change_password(account.name, read_password_stdin())
        services.audit.append(AuditRecord(
            action="account.change_password", outcome="ok", request_id=request_id,
            account_id=account.account_id, account_name=account.name,
            subject_ids=[str(account.account_id)],
        ))
    console.say("口令已修改。", "The password was changed.")
    return 0


def run_villages_import(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    with services_for(args, console) as services:
        account = login(services, args.user, request_id)
        if "clerk" not in account.roles:
            require_role(account, "system-admin")
        # A clerk loads villages of their own jurisdiction only; a system admin any.
        scope = None if "system-admin" in account.roles else account.jurisdiction
        result = import_villages(services.store.db, args.file, services.clock, scope)
        services.audit.append(AuditRecord(
            action="villages.import", outcome="ok", request_id=request_id,
            account_id=account.account_id, account_name=account.name,
            reason=f"added={result.added} unchanged={result.unchanged} retired={result.retired}",
        ))
    console.say(
        f"村表已导入：新增 {result.added}，未变 {result.unchanged}，停用旧名 {result.retired}。",
        f"Village table loaded: {result.added} added, {result.unchanged} unchanged,"
        f" {result.retired} retired.",
    )
    return 0


def run_projections_rebuild(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    services, admin = _admin(args, console, request_id, "projections.rebuild")
    with services:
        applied = services.residents.rebuild()
        services.audit.append(AuditRecord(
            action="projections.rebuild", outcome="ok", request_id=request_id,
            account_id=admin.account_id, account_name=admin.name, role="system-admin",
            reason=f"events={applied}",
        ))
    console.say(f"读模型已重建，处理事件 {applied} 个。",
                f"Rebuilt the read models from {applied} events.")
    return 0


def _labels(account: Account) -> str:
    return "、".join(ROLE_LABELS[r] for r in account.roles)


def _account_dict(account: Account) -> dict[str, Any]:
    return {
        "account_id": str(account.account_id),
        "name": account.name,
        "roles": list(account.roles),
        "jurisdiction": account.jurisdiction,
        "department": account.department,
        "disabled": account.disabled,
        "must_change_password": account.must_change_password,
    }
