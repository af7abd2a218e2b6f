"""Authenticating the account behind a command: ``--user`` and a password.

The password comes from ``VAULT_PASSWORD`` or, when that is unset, from a prompt on
the terminal; never from an argument, where it would land in shell history and the
process list. Standard input stays free for data (ID numbers to look up). Reviewers
and the three administrators also give a TOTP code, from ``VAULT_TOTP`` or a prompt.
"""

from __future__ import annotations

import getpass
import os
import sys

from vault.accounts import ROLE_LABELS, Account
from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.errors import AccessDenied, AuthenticationFailed, InvalidValue

ADMIN_ROLES = ("system-admin", "security-admin", "security-officer")


def read_password(prompt: str = "口令 / Password: ") -> str:
    password = os.environ.get("VAULT_PASSWORD")
    if password is not None:
        return password
    # getpass falls back to standard input when there is no terminal, which would
    # swallow the data piped in; without a terminal, fail instead.
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise AuthenticationFailed(
            "未提供口令：请设置 VAULT_PASSWORD，或在终端中运行以输入口令。",
            "No password given: set VAULT_PASSWORD or run the command in a terminal.",
            code="PASSWORD_MISSING",
            field="VAULT_PASSWORD",
        ) from None
    os.close(fd)
    return getpass.getpass(prompt)


def read_totp(prompt: str = "动态口令 / TOTP code: ") -> str:
    """Read the TOTP code from ``VAULT_TOTP`` or, when that is unset, a terminal prompt.

    Each code is accepted once, so a script that runs several commands in a row
    needs a new code for each (``vault.accounts.totp_code`` computes one).
    """
    code = os.environ.get("VAULT_TOTP")
    if code is not None:
        return code.strip()
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise AuthenticationFailed(
            "此账户需要动态口令：请设置 VAULT_TOTP，或在终端中运行以输入动态口令。",
            "This account needs a TOTP code: set VAULT_TOTP or run the command in a terminal.",
            code="TOTP_MISSING", field="VAULT_TOTP",
        ) from None
    os.close(fd)
    return getpass.getpass(prompt).strip()


def read_password_stdin() -> str:
    """Read a new password from the first line of standard input."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidValue(
            "标准输入中没有口令。", "No password on standard input.",
            code="PASSWORD_MISSING", field="--password-stdin",
        )
    return password


def login(
    services: Services, name: str | None, request_id: str, *, changing_password: bool = False
) -> Account:
    """Authenticate ``name``; audit the login, successful or not.

    An account whose password an administrator marked for change may only run the
    password change itself (``changing_password``) until it has done so.
    """
    if not name:
        raise AuthenticationFailed(
            "需要用 --user 指明账户。", "Name the account with --user.",
            code="USER_MISSING", field="--user",
        )
    try:
        account = services.accounts.authenticate(name, read_password())
        if account.needs_totp and not services.accounts.verify_totp(account, read_totp()):
            raise AuthenticationFailed(
                "动态口令错误或已经用过：请输入验证器上的新动态口令。",
                "The TOTP code is wrong or was already used: enter a new code from the"
                " authenticator.",
                code="TOTP_INVALID", field="VAULT_TOTP",
            )
        if account.must_change_password and not changing_password:
            raise AuthenticationFailed(
                "管理员要求修改口令：请先运行 vault user passwd --password-stdin 设置新口令。",
                "An administrator requires a new password: run vault user passwd"
                " --password-stdin first.",
                code="PASSWORD_CHANGE_REQUIRED", field="--user",
            )
    except AuthenticationFailed as error:
        services.audit.append(AuditRecord(
            action="login", outcome="denied", request_id=request_id, account_name=name,
            reason=error.code,
        ))
        raise
    services.audit.append(AuditRecord(
        action="login", outcome="ok", request_id=request_id, account_id=account.account_id,
        account_name=account.name, role=",".join(account.roles), office=account.jurisdiction,
    ))
    return account


def require_role(account: Account, role: str) -> None:
    if role not in account.roles:
        raise AccessDenied(
            f"此操作需要{ROLE_LABELS[role]}角色。",
            f"This command needs the {role} role.",
            code="ROLE_REQUIRED",
            field="--user",
            value=role,
        )
