"""Account pages for system administrators: list, create, disable, roles, jurisdiction, TOTP.

The rules are ``vault.accounts``' own: 三权分立, no personal-data role beside an
administrator role, and at least one enabled system administrator. A rejected
change shows the rule's message on the form and keeps what was chosen. Every
change, made or rejected, is audited as ``vault user`` audits it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import PathParameter

from vault.accounts import ROLE_LABELS, ROLES, Account, totp_uri
from vault.api.auth import role_required
from vault.api.context import context_of
from vault.api.errors import request_id_of
from vault.audit import AuditRecord
from vault.errors import Language, Problem, VaultError
from vault.web.i18n import language_of, text
from vault.web.pages import Form, caller_of, form_value, form_values, page, signed_in

_GUARDS = [signed_in, role_required("system-admin")]
AccountName = Annotated[str, PathParameter(max_length=64)]
# Field names of ``vault.accounts`` errors (written for the CLI) mapped to the form's.
_FORM_FIELDS = {"--role": "roles", "roles": "roles", "--jurisdiction": "jurisdiction",
                "--department": "department", "NAME": "name"}
# The next step under a refused role change, for the rules that concern roles.
_ROLE_ADVICE = {
    "ADMIN_SEPARATION": (
        "系统管理员、安全管理员和安全审计员必须由不同的人担任：请只保留其中一个角色，其余职责另建账户并交给他人。",
        "The system administrator, security administrator and security officer must be"
        " different people: keep one of these roles and give the others to another person's"
        " account.",
    ),
    "ADMIN_WITH_DATA_ROLE": (
        "请去掉信息员、审核员或部门用户角色，或另建一个账户用于查看居民信息。",
        "Remove the clerk, reviewer or department role, or create a separate account for"
        " working with residents.",
    ),
}


def _audit(request: Request[Any, Any, Any], action: str, outcome: str,
           target: Account | None = None, reason: str | None = None) -> None:
    admin = caller_of(request).account
    context_of(request).services.audit.append(AuditRecord(
        action=action, outcome=outcome, request_id=request_id_of(request),
        account_id=admin.account_id, account_name=admin.name, role="system-admin",
        office=admin.jurisdiction, subject_ids=[str(target.account_id)] if target else [],
        reason=reason,
    ))


def _role_options(language: Language) -> list[dict[str, str]]:
    return [{"value": role, "label": f"{ROLE_LABELS[role]}（{role}）" if language == "zh" else role}
            for role in ROLES]


def _departments(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    language = language_of(request)
    departments = context_of(request).gate.policy.departments.values()
    return [{"value": d.name, "label": text(language, d.label_zh, d.label_en)}
            for d in departments]


def _error(language: Language, problem: Problem) -> dict[str, str | None]:
    advice = _ROLE_ADVICE.get(problem.code)
    return {
        "message": problem.message(language),
        "advice": text(language, *advice) if advice else None,
        "field": _FORM_FIELDS.get(problem.field or "", problem.field),
    }


@get("/accounts", guards=_GUARDS, sync_to_thread=True)
def account_list(request: Request[Any, Any, Any]) -> Any:
    """List every account."""
    accounts = context_of(request).services.accounts.list()
    _audit(request, "account.list", "ok")
    return page(request, "accounts.html", ("账户管理", "Accounts"), accounts=accounts,
                role_names=ROLE_LABELS)


def _new_form(request: Request[Any, Any, Any], *, status: int = 200,
              values: dict[str, Any] | None = None, error: Problem | None = None) -> Any:
    language = language_of(request)
    return page(request, "account_new.html", ("新建账户", "New account"), status=status,
                values=values or {"name": "", "roles": [], "jurisdiction": "", "department": ""},
                role_options=_role_options(language), departments=_departments(request),
                error=_error(language, error) if error else None)


@get("/accounts/new", guards=_GUARDS, sync_to_thread=False)
def new_account_form(request: Request[Any, Any, Any]) -> Any:
    """Show the form for a new account."""
    return _new_form(request)


@post("/accounts/new", guards=_GUARDS, sync_to_thread=True, status_code=201)
def create_account(request: Request[Any, Any, Any], data: Form) -> Any:
    """Create an account with a one-time password that must be changed at first login."""
    accounts = context_of(request).services.accounts
    values: dict[str, Any] = {
        "name": form_value(data, "name", 64),
        "roles": form_values(data, "roles"),
        "jurisdiction": form_value(data, "jurisdiction", 12),
        "department": form_value(data, "department", 64),
    }
    password = secrets.token_urlsafe(12)
    try:
        account = accounts.create(values["name"], password, tuple(values["roles"]),
                                  values["jurisdiction"], values["department"] or None)
        accounts.force_password_change(account.name)
    except VaultError as error:
        _audit(request, "account.create", "denied", reason=error.code)
        return _new_form(request, status=400, values=values, error=error.problem())
    _audit(request, "account.create", "ok", account, reason="roles=" + ",".join(account.roles))
    return page(request, "account_created.html", ("账户已创建", "Account created"), status=201,
                created=account, password=password,
                otpauth=totp_uri(account.name, account.totp_secret) if account.totp_secret
                else None)


def _edit_page(request: Request[Any, Any, Any], name: str, *, status: int = 200,
               roles: list[str] | None = None, department: str | None = None,
               jurisdiction: str | None = None, error: Problem | None = None,
               notice: str | None = None, otpauth: str | None = None) -> Any:
    account = context_of(request).services.accounts.get(name)
    language = language_of(request)
    return page(
        request, "account_edit.html", (f"账户 {account.name}", f"Account {account.name}"),
        status=status, target=account,
        roles=roles if roles is not None else list(account.roles),
        department=department if department is not None else (account.department or ""),
        jurisdiction=jurisdiction if jurisdiction is not None else account.jurisdiction,
        role_options=_role_options(language), departments=_departments(request),
        error=_error(language, error) if error else None, notice=notice, otpauth=otpauth,
    )


@get("/accounts/{name:str}", guards=_GUARDS, sync_to_thread=True)
def edit_account(request: Request[Any, Any, Any], name: AccountName) -> Any:
    """Show one account with its forms."""
    return _edit_page(request, name)


def _change(
    request: Request[Any, Any, Any], name: str, action: str,
    change: Callable[[], Account], notice: tuple[str, str], **kept: Any,
) -> Any:
    try:
        account = change()
    except VaultError as error:
        _audit(request, action, "denied", reason=error.code)
        return _edit_page(request, name, status=400, error=error.problem(), **kept)
    _audit(request, action, "ok", account)
    return _edit_page(request, name, notice=text(language_of(request), *notice))


@post("/accounts/{name:str}/roles", guards=_GUARDS, sync_to_thread=True, status_code=200)
def set_roles(request: Request[Any, Any, Any], name: AccountName, data: Form) -> Any:
    """Change an account's roles (and the department of a department user)."""
    roles = form_values(data, "roles")
    department = form_value(data, "department", 64)
    accounts = context_of(request).services.accounts
    return _change(request, name, "account.set_roles",
                   lambda: accounts.set_roles(name, tuple(roles), department or None),
                   ("角色已修改。", "The roles were changed."),
                   roles=roles, department=department)


@post("/accounts/{name:str}/jurisdiction", guards=_GUARDS, sync_to_thread=True, status_code=200)
def set_jurisdiction(request: Request[Any, Any, Any], name: AccountName, data: Form) -> Any:
    """Change an account's jurisdiction (a division-code prefix)."""
    jurisdiction = form_value(data, "jurisdiction", 12)
    accounts = context_of(request).services.accounts
    return _change(request, name, "account.set_jurisdiction",
                   lambda: accounts.set_jurisdiction(name, jurisdiction),
                   ("管辖范围已修改。", "The jurisdiction was changed."), jurisdiction=jurisdiction)


@post("/accounts/{name:str}/disable", guards=_GUARDS, sync_to_thread=True, status_code=200)
def disable_account(request: Request[Any, Any, Any], name: AccountName) -> Any:
    """Disable an account and end its sessions."""
    context = context_of(request)

    def change() -> Account:
        account = context.services.accounts.set_disabled(name, True)
        context.sessions.end_all(account.account_id)
        return account

    return _change(request, name, "account.disable", change,
                   ("账户已停用，其会话已全部结束。",
                    "The account was disabled and its sessions ended."))


@post("/accounts/{name:str}/enable", guards=_GUARDS, sync_to_thread=True, status_code=200)
def enable_account(request: Request[Any, Any, Any], name: AccountName) -> Any:
    """Enable a disabled account."""
    accounts = context_of(request).services.accounts
    return _change(request, name, "account.enable", lambda: accounts.set_disabled(name, False),
                   ("账户已启用。", "The account was enabled."))


@post("/accounts/{name:str}/totp", guards=_GUARDS, sync_to_thread=True, status_code=200)
def reset_totp(request: Request[Any, Any, Any], name: AccountName) -> Any:
    """Give an account a new TOTP secret, shown once, and end its sessions."""
    context = context_of(request)
    try:
        account = context.services.accounts.reset_totp(name)
    except VaultError as error:
        _audit(request, "account.totp_reset", "denied", reason=error.code)
        return _edit_page(request, name, status=400, error=error.problem())
    assert account.totp_secret is not None  # noqa: S101  # reset_totp always sets one
    context.sessions.end_all(account.account_id)
    _audit(request, "account.totp_reset", "ok", account)
    return _edit_page(
        request, name, otpauth=totp_uri(account.name, account.totp_secret),
        notice=text(language_of(request), "动态口令已重置，其会话已全部结束。",
                    "The TOTP secret was reset and the account's sessions ended."))


@post("/accounts/{name:str}/unlock", guards=_GUARDS, sync_to_thread=True, status_code=200)
def unlock(request: Request[Any, Any, Any], name: AccountName) -> Any:
    """Lift the lockout after too many failed logins."""
    context = context_of(request)

    def change() -> Account:
        account = context.services.accounts.get(name)
        context.throttle.unlock(account.name)
        return account

    return _change(request, name, "account.unlock", change,
                   ("已解除锁定。", "The lockout was lifted."))


ROUTES = [account_list, new_account_form, create_account, edit_account, set_roles,
          set_jurisdiction, disable_account, enable_account, reset_totp, unlock]

