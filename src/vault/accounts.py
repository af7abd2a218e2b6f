"""Accounts: names, roles, jurisdictions and Argon2id password hashes.

Only a system admin manages accounts, and no account may hold two of the three
administrator roles (三权分立): the check runs at creation and at every role change.
Every change is audited by the caller through ``vault.audit``.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pyotp
from cryptography.exceptions import InvalidTag

from vault.clock import Clock
from vault.crypto.keyring import Keyring
from vault.domain.divisions import PROVINCE_PREFIXES
from vault.errors import AuthenticationFailed, DecryptionFailed, InvalidValue, KeysError
from vault.passwords import burn_time, check_new_password, hash_password, verify_password
from vault.policy import check_admin_separation
from vault.store.database import Database

ROLES = ("clerk", "reviewer", "security-officer", "security-admin", "system-admin", "department")
ROLE_LABELS = {
    "clerk": "信息员",
    "reviewer": "审核员",
    "security-officer": "安全审计员",
    "security-admin": "安全管理员",
    "system-admin": "系统管理员",
    "department": "部门用户",
}
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
# A division-code prefix at the province, prefecture, county, township or village
# level (2, 4, 6, 9 or 12 digits), or "CN" for an account that may see every division.
_JURISDICTION = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12}|CN)$")

# The same message for an unknown account and a wrong password, so that a login
# attempt cannot learn which account names exist.
_LOGIN_FAILED = ("用户名或口令错误。", "The account name or password is wrong.")

# Roles that must log in with a second factor: the reviewer and the three
# administrators (MLPS 2.0 level 3 requires two factors on privileged accounts).
TOTP_ROLES = ("reviewer", "security-officer", "security-admin", "system-admin")
TOTP_ISSUER = "Vault"
_TOTP_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True, slots=True)
class Account:
    account_id: UUID
    name: str
    roles: tuple[str, ...]
    jurisdiction: str
    department: str | None
    disabled: bool
    must_change_password: bool
    # Set only on the account that ``create`` or ``reset_totp`` returns, so that the
    # caller can show the new secret once; accounts read back never carry it.
    totp_secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def needs_totp(self) -> bool:
        return totp_required(self.roles)


def totp_required(roles: tuple[str, ...]) -> bool:
    """Return whether an account with ``roles`` must log in with a TOTP code."""
    return any(role in TOTP_ROLES for role in roles)


def totp_uri(name: str, secret: str) -> str:
    """Return the ``otpauth://`` URI that authenticator apps enrol from."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)


def totp_code(secret: str, at: datetime | None = None) -> str:
    """Return the TOTP code of ``secret`` at ``at`` (now by default), for tests and scripts."""
    totp = pyotp.TOTP(secret)
    return totp.at(at) if at is not None else totp.now()


def _totp_ad(kek_id: str, account_id: UUID) -> bytes:
    return b"vault.totp-secret.v1\x1f" + kek_id.encode("ascii") + b"\x1f" + account_id.bytes


def _account(row: Any) -> Account:
    return Account(
        account_id=UUID(row["account_id"]),
        name=row["name"],
        roles=tuple(json.loads(row["roles"])),
        jurisdiction=row["jurisdiction"],
        department=row["department"],
        disabled=bool(row["disabled"]),
        must_change_password=bool(row["must_change_password"]),
    )


def validate_roles(roles: tuple[str, ...], department: str | None) -> None:
    """Raise ``InvalidValue`` for an unknown role, a broken 三权分立 or a missing department."""
    if not roles:
        raise InvalidValue(
            "至少需要一个角色。", "At least one role is required.",
            code="ROLE_MISSING", field="--role",
        )
    for role in roles:
        if role not in ROLES:
            raise InvalidValue(
                f"未知角色 {role}。可用角色：{'、'.join(ROLES)}。",
                f"Unknown role {role}. Roles: {', '.join(ROLES)}.",
                code="ROLE_UNKNOWN",
                field="--role",
                value=role,
            )
    problem = check_admin_separation(roles)
    if problem is not None:
        raise InvalidValue.from_problem(problem)
    blind_admins = [role for role in roles if role in NO_PERSONAL_DATA_ROLES]
    readers = [role for role in roles if role in PERSONAL_DATA_ROLES]
    if blind_admins and readers:
        # A policy grants per role and takes the union, so an extra role would let
        # the administrator read what their own role forbids.
        raise InvalidValue(
            f"系统管理员和安全管理员不得查看个人信息，不能同时拥有 {'、'.join(readers)} 角色。",
            f"System and security administrators never read personal data, so they cannot"
            f" also hold {', '.join(readers)}.",
            code="ADMIN_WITH_DATA_ROLE",
            field="--role",
            value=",".join(blind_admins + readers),
        )
    if "security-officer" in roles and {"clerk", "department"} & set(roles):
        # The auditor would audit their own reads and edits, and see in full what
        # the officer's own role shows only masked.
        raise InvalidValue(
            "安全审计员不能同时是信息员或部门用户：审计员不得审计自己的操作。",
            "A security officer cannot also be a clerk or a department user: nobody"
            " audits their own actions.",
            code="AUDITOR_WITH_DATA_ROLE",
            field="--role",
            value=",".join(roles),
        )
    if "department" in roles and not department:
        raise InvalidValue(
            "部门用户必须用 --department 指明所属部门。",
            "A department account must name its department with --department.",
            code="DEPARTMENT_MISSING",
            field="--department",
        )
    if department and "department" not in roles:
        raise InvalidValue(
            "只有部门用户才能指定 --department。",
            "Only a department account can name a department.",
            code="DEPARTMENT_NOT_ALLOWED",
            field="--department",
        )


# Administrators who may never read personal data, and the roles that read it (the
# security officer reads masked data and is kept apart by 三权分立 already).
NO_PERSONAL_DATA_ROLES = ("system-admin", "security-admin")
PERSONAL_DATA_ROLES = ("clerk", "reviewer", "department")

# Roles that see residents need an area; the two other administrators never do.
SCOPED_ROLES = ("clerk", "reviewer", "department", "security-officer")


def validate_jurisdiction(code: str, roles: tuple[str, ...]) -> str:
    """Return the cleaned jurisdiction; raise ``InvalidValue`` if it is malformed or missing."""
    code = code.strip()
    if not code and not any(role in SCOPED_ROLES for role in roles):
        return code
    if not _JURISDICTION.match(code) or (code != "CN" and code[:2] not in PROVINCE_PREFIXES):
        raise InvalidValue(
            "管辖范围必须是 2、4、6、9 或 12 位的行政区划代码前缀（省、市、县、乡、村），"
            "或代表全国的 CN。",
            "The jurisdiction must be a division-code prefix of 2, 4, 6, 9 or 12 digits"
            " (province, prefecture, county, township, village), or CN for the whole country.",
            code="JURISDICTION_INVALID",
            field="--jurisdiction",
            value=code,
        )
    return code


class Accounts:
    """Create, authenticate and administer accounts."""

    def __init__(self, db: Database, clock: Clock, keyring: Keyring) -> None:
        self._db = db
        self._clock = clock
        self._keyring = keyring

    # TOTP secrets are sealed under the keyring's active key-encryption key, bound to
    # the account id, so that a copy of the database alone cannot compute codes.
    def _seal_totp(self, account_id: UUID, secret: str) -> str:
        kek = self._keyring.active_kek
        nonce = os.urandom(12)
        sealed = kek.aead.encrypt(nonce, secret.encode("ascii"), _totp_ad(kek.kek_id, account_id))
        return f"{kek.kek_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def _open_totp(self, account_id: UUID, stored: str) -> str:
        kek_id, _, text = stored.partition(":")
        try:
            blob = base64.b64decode(text, validate=True)
            kek = self._keyring.kek(kek_id)
            opened = kek.aead.decrypt(blob[:12], blob[12:], _totp_ad(kek_id, account_id))
            return opened.decode("ascii")
        except (ValueError, InvalidTag, KeysError):
            raise DecryptionFailed(
                "动态口令密钥无法解密：请系统管理员重置该账户的动态口令。",
                "The TOTP secret cannot be decrypted: ask a system administrator to reset it.",
                code="TOTP_SECRET_UNREADABLE",
            ) from None

    def totp_secret(self, name: str) -> str | None:
        """Return the TOTP secret of ``name``, for scripts and tests; ``None`` if none."""
        account = self.get(name)
        with self._db.transaction(commit=False) as tx:
            stored = tx.scalar("SELECT totp_secret FROM {accounts} WHERE name = ?", (name,))
        return self._open_totp(account.account_id, stored) if stored else None

    def create(
        self,
        name: str,
        password: str,
        roles: tuple[str, ...],
        jurisdiction: str,
        department: str | None = None,
    ) -> Account:
        """Create an account; raise ``InvalidValue`` or ``AuthenticationFailed`` on bad input."""
        if not _NAME.match(name):
            raise InvalidValue(
                "用户名只能包含字母、数字、点、横线和下划线，长度 2 到 64。",
                "Account names use letters, digits, '.', '-' and '_', 2 to 64 characters.",
                code="ACCOUNT_NAME_INVALID",
                field="NAME",
            )
        roles = tuple(dict.fromkeys(roles))
        validate_roles(roles, department)
        jurisdiction = validate_jurisdiction(jurisdiction, roles)
        check_new_password(password)
        if self.find(name) is not None:
            raise InvalidValue(
                f"用户名 {name} 已存在。",
                f"The account name {name} is already taken.",
                code="ACCOUNT_EXISTS",
                field="NAME",
                value=name,
            )

        account_id = uuid4()
        now = self._clock.now().isoformat()
        secret = pyotp.random_base32() if totp_required(roles) else None
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO {accounts} (account_id, name, password_hash, roles, jurisdiction,"
                " department, disabled, must_change_password, totp_secret, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
                (str(account_id), name, hash_password(password), json.dumps(list(roles)),
                 jurisdiction, department,
                 self._seal_totp(account_id, secret) if secret else None, now, now),
            )
        return Account(account_id, name, roles, jurisdiction, department, False, False, secret)

    def find(self, name: str) -> Account | None:
        with self._db.transaction(commit=False) as tx:
            row = tx.execute("SELECT * FROM {accounts} WHERE name = ?", (name,)).fetchone()
        return _account(row) if row else None

    def find_by_id(self, account_id: UUID) -> Account | None:
        with self._db.transaction(commit=False) as tx:
            row = tx.execute(
                "SELECT * FROM {accounts} WHERE account_id = ?", (str(account_id),)
            ).fetchone()
        return _account(row) if row else None

    def get(self, name: str) -> Account:
        account = self.find(name)
        if account is None:
            raise InvalidValue(
                f"用户 {name} 不存在。", f"No account is named {name}.",
                code="ACCOUNT_NOT_FOUND", field="NAME", value=name,
            )
        return account

    def list(self) -> list[Account]:
        with self._db.transaction(commit=False) as tx:
            rows = tx.execute("SELECT * FROM {accounts} ORDER BY name").fetchall()
        return [_account(row) for row in rows]

    def authenticate(self, name: str, password: str) -> Account:
        """Return the account if ``password`` is right; otherwise raise one generic error."""
        with self._db.transaction(commit=False) as tx:
            row = tx.execute("SELECT * FROM {accounts} WHERE name = ?", (name,)).fetchone()
        if row is None:
            burn_time(password)
            raise AuthenticationFailed(*_LOGIN_FAILED)
        if not verify_password(row["password_hash"], password):
            raise AuthenticationFailed(*_LOGIN_FAILED)
        account = _account(row)
        if account.disabled:
            raise AuthenticationFailed(
                "该账户已停用，请联系系统管理员。",
                "This account is disabled; ask a system administrator.",
                code="ACCOUNT_DISABLED",
            )
        return account

    def set_disabled(self, name: str, disabled: bool) -> Account:
        account = self.get(name)
        if disabled:
            self._keep_a_system_admin(account)
        self._update(name, "disabled = ?", (1 if disabled else 0,))
        return self.get(name)

    def set_roles(self, name: str, roles: tuple[str, ...], department: str | None) -> Account:
        account = self.get(name)
        roles = tuple(dict.fromkeys(roles))
        validate_roles(roles, department)
        validate_jurisdiction(account.jurisdiction, roles)
        if "system-admin" not in roles:
            self._keep_a_system_admin(account)
        self._update(name, "roles = ?, department = ?", (json.dumps(list(roles)), department))
        if totp_required(roles) and not self.has_totp(name):
            # A new role that needs a second factor gets its secret now; the caller
            # shows it once, as at account creation.
            return self.reset_totp(name)
        return self.get(name)

    def set_jurisdiction(self, name: str, jurisdiction: str) -> Account:
        account = self.get(name)
        code = validate_jurisdiction(jurisdiction, account.roles)
        self._update(name, "jurisdiction = ?", (code,))
        return self.get(name)

    def force_password_change(self, name: str) -> Account:
        self.get(name)
        self._update(name, "must_change_password = 1", ())
        return self.get(name)

    def change_password(self, name: str, new_password: str) -> None:
        self.get(name)
        check_new_password(new_password)
        self._update(
            name, "password_hash = ?, must_change_password = 0", (hash_password(new_password),)
        )

    # -- second factor -------------------------------------------------------
    def has_totp(self, name: str) -> bool:
        """Return whether ``name`` has a TOTP secret enrolled."""
        with self._db.transaction(commit=False) as tx:
            secret = tx.scalar("SELECT totp_secret FROM {accounts} WHERE name = ?", (name,))
        return bool(secret)

    def reset_totp(self, name: str) -> Account:
        """Give ``name`` a new TOTP secret; the returned account carries it, once."""
        account = self.get(name)
        if not account.needs_totp:
            raise InvalidValue(
                f"账户 {name} 的角色不需要动态口令。",
                f"The roles of the account {name} do not use a TOTP code.",
                code="TOTP_NOT_REQUIRED", field="NAME", value=name,
            )
        secret = pyotp.random_base32()
        self._update(name, "totp_secret = ?", (self._seal_totp(account.account_id, secret),))
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {totp_steps} WHERE account_id = ?", (str(account.account_id),))
        return Account(account.account_id, account.name, account.roles, account.jurisdiction,
                       account.department, account.disabled, account.must_change_password, secret)

    def enrol_totp(self, name: str) -> Account:
        """Enrol a first TOTP secret for an account that needs one and has none."""
        if self.has_totp(name):
            raise InvalidValue(
                "该账户已登记动态口令；如需更换，请系统管理员重置。",
                "This account already has a TOTP secret; a system administrator can reset it.",
                code="TOTP_ALREADY_ENROLLED", field="username",
            )
        return self.reset_totp(name)

    def verify_totp(self, account: Account, code: str) -> bool:
        """Return whether ``code`` is valid for ``account`` now and was not used before.

        A code from the previous, current or next 30-second step is accepted, so
        that a clock off by up to 30 seconds still works. Each step is accepted once:
        the last used step is moved forward by compare-and-set, so two requests with
        the same code cannot both succeed.
        """
        if not _TOTP_CODE.match(code or ""):
            return False
        with self._db.transaction(commit=False) as tx:
            stored = tx.scalar("SELECT totp_secret FROM {accounts} WHERE account_id = ?",
                               (str(account.account_id),))
        if not stored:
            return False
        totp = pyotp.TOTP(self._open_totp(account.account_id, stored))
        now = self._clock.now()
        current = totp.timecode(now)
        matched = None
        for offset in (-1, 0, 1):
            if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
                matched = current + offset
        if matched is None:
            return False
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO {totp_steps} AS t (account_id, last_step) VALUES (?, ?)"
                " ON CONFLICT (account_id) DO UPDATE SET last_step = excluded.last_step"
                " WHERE t.last_step < excluded.last_step",
                (str(account.account_id), matched),
            )
            return tx.rowcount == 1

    def _keep_a_system_admin(self, account: Account) -> None:
        """Raise if ``account`` is the last enabled system admin, who alone can manage accounts."""
        if "system-admin" not in account.roles or account.disabled:
            return
        others = [a for a in self.list() if a.name != account.name
                  and "system-admin" in a.roles and not a.disabled]
        if not others:
            raise InvalidValue(
                "这是最后一个启用的系统管理员，不能停用或取消其系统管理员角色；请先创建另一个。",
                "This is the last enabled system administrator, so it cannot be disabled or"
                " lose the system-admin role; create another one first.",
                code="LAST_SYSTEM_ADMIN", field="NAME", value=account.name,
            )

    def _update(self, name: str, assignments: str, params: tuple[Any, ...]) -> None:
        with self._db.transaction() as tx:
            tx.execute(
                f"UPDATE {{accounts}} SET {assignments}, updated_at = ? WHERE name = ?",  # noqa: S608  # assignments are fixed strings from this module
                (*params, self._clock.now().isoformat(), name),
            )
