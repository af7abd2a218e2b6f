"""System-admin routes: resetting a second factor and lifting a lockout."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import PathParameter

from vault.accounts import totp_uri
from vault.api.auth import Caller, authenticated, role_required
from vault.api.context import context_of
from vault.api.errors import request_id_of
from vault.api.login import CALLER
from vault.audit import AuditRecord

AccountName = Annotated[str, PathParameter(max_length=64)]
_ADMIN_GUARDS = [authenticated, role_required("system-admin")]


def _audit(
    request: Request[Any, Any, Any], caller: Caller, action: str, subject: str
) -> None:
    admin = caller.account
    context_of(request).services.audit.append(AuditRecord(
        action=action, outcome="ok", request_id=request_id_of(request),
        account_id=admin.account_id, account_name=admin.name, role="system-admin",
        office=admin.jurisdiction, subject_ids=[subject],
    ))


@post("/accounts/{name:str}/totp/reset", guards=_ADMIN_GUARDS, dependencies=CALLER,
      sync_to_thread=True, status_code=200)
def reset_totp(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller], name: AccountName
) -> dict[str, str]:
    """Give an account a new TOTP secret, end its sessions, and show the secret once."""
    context = context_of(request)
    account = context.services.accounts.reset_totp(name)
    assert account.totp_secret is not None  # noqa: S101  # reset_totp always sets one
    context.sessions.end_all(account.account_id)
    _audit(request, caller, "account.totp_reset", str(account.account_id))
    return {"otpauth_uri": totp_uri(account.name, account.totp_secret)}


@post("/accounts/{name:str}/unlock", guards=_ADMIN_GUARDS, dependencies=CALLER,
      sync_to_thread=True, status_code=200)
def unlock_account(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller], name: AccountName
) -> dict[str, str]:
    """Lift the lockout of an account after too many failed logins."""
    context = context_of(request)
    account = context.services.accounts.get(name)
    context.throttle.unlock(account.name)
    _audit(request, caller, "account.unlock", str(account.account_id))
    return {"unlocked": account.name}


ROUTES = [reset_totp, unlock_account]
