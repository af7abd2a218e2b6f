"""API tokens for department systems: hashed, scoped, expiring, revocable.

A token acts for the account that obtained it, with that account's roles, but only
within the token's jurisdiction (the account's own or a narrower division-code
prefix) and, for a department account, only for its department. The table keeps
the SHA-256 of each token: a token carries 256 random bits, so an unsalted fast
hash is enough, and a copy of the table yields no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from vault.accounts import Account
from vault.clock import Clock
from vault.errors import InvalidValue
from vault.policy import WHOLE_COUNTRY
from vault.store.database import Database

TOKEN_PREFIX = "vault_"  # noqa: S105  # a public prefix, not a secret
# The three administrators work interactively with a second factor; a long-lived
# token would let them skip it, so they get none.
NO_TOKEN_ROLES = ("system-admin", "security-admin", "security-officer")


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_id: UUID
    account_id: UUID
    label: str
    jurisdiction: str
    department: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": str(self.token_id),
            "label": self.label,
            "jurisdiction": self.jurisdiction,
            "department": self.department,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=UUID(row["token_id"]),
        account_id=UUID(row["account_id"]),
        label=row["label"],
        jurisdiction=row["jurisdiction"],
        department=row["department"],
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        revoked_at=_time(row["revoked_at"]),
        last_used_at=_time(row["last_used_at"]),
    )


def token_jurisdiction(account: Account, requested: str | None) -> str:
    """Return the token's jurisdiction: the account's own, or a narrower prefix of it."""
    own = account.jurisdiction
    if not requested or requested == own:
        return own
    within = own == WHOLE_COUNTRY or (requested.isdigit() and requested.startswith(own))
    if not within or len(requested) not in (2, 4, 6, 9, 12):
        raise InvalidValue(
            f"令牌的管辖范围必须是账户管辖范围 {own} 之内的区划代码前缀。",
            f"The token's jurisdiction must be a division-code prefix within the account's"
            f" own ({own}).",
            code="TOKEN_JURISDICTION_INVALID", field="jurisdiction", value=requested,
        )
    return requested


LABEL_MAX_LENGTH = 100


def check_label(label: str) -> str:
    """Return ``label`` if it is 1 to 100 printable characters; raise ``InvalidValue`` if not.

    Control and format characters (ESC, NUL, line breaks, bidirectional overrides)
    and line or paragraph separators are rejected, because the label is shown in
    terminals and web pages and could rewrite what they display.
    """
    unprintable = any(
        unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
        for char in label
    )
    if not label or len(label) > LABEL_MAX_LENGTH or unprintable:
        raise InvalidValue(
            f"令牌名称须为 1 到 {LABEL_MAX_LENGTH} 个可见字符，不能含控制字符或换行。",
            f"The token label must be 1 to {LABEL_MAX_LENGTH} printable characters, with no"
            " control characters or line breaks.",
            code="TOKEN_LABEL_INVALID", field="label",
        )
    return label


class TokenStore:
    """Issue, look up, list and revoke API tokens."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def issue(
        self, account: Account, label: str, lifetime: timedelta, jurisdiction: str
    ) -> tuple[str, ApiToken]:
        """Return a new token (shown once) and its record."""
        if any(role in NO_TOKEN_ROLES for role in account.roles):
            raise InvalidValue(
                "管理员账户不能申请 API 令牌。",
                "Administrator accounts cannot obtain API tokens.",
                code="TOKEN_NOT_ALLOWED", field="username",
            )
        check_label(label)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        token = ApiToken(uuid4(), account.account_id, label, jurisdiction, account.department,
                         now, now + lifetime, None, None)
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO {api_tokens} (token_id, token_hash, account_id, label, jurisdiction,"
                " department, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (str(token.token_id), _hash(secret), str(account.account_id), label,
                 jurisdiction, token.department, now.isoformat(), token.expires_at.isoformat()),
            )
        return secret, token

    def find(self, secret: str) -> ApiToken | None:
        """Return the live token for ``secret`` and note its use.

        Returns None for an unknown, expired or revoked token.
        """
        now = self._clock.now()
        with self._db.transaction() as tx:
            row = tx.execute("SELECT * FROM {api_tokens} WHERE token_hash = ?",
                             (_hash(secret),)).fetchone()
            if row is None:
                return None
            token = _token(row)
            if token.revoked_at is not None or token.expires_at <= now:
                return None
            tx.execute("UPDATE {api_tokens} SET last_used_at = ? WHERE token_id = ?",
                       (now.isoformat(), str(token.token_id)))
        return token

    def get(self, token_id: UUID) -> ApiToken | None:
        with self._db.transaction(commit=False) as tx:
            row = tx.execute("SELECT * FROM {api_tokens} WHERE token_id = ?",
                             (str(token_id),)).fetchone()
        return _token(row) if row else None

    def list_for(self, account_id: UUID) -> list[ApiToken]:
        with self._db.transaction(commit=False) as tx:
            rows = tx.execute(
                "SELECT * FROM {api_tokens} WHERE account_id = ? ORDER BY created_at",
                (str(account_id),),
            ).fetchall()
        return [_token(row) for row in rows]

    def revoke(self, token_id: UUID) -> None:
        with self._db.transaction() as tx:
            tx.execute(
                "UPDATE {api_tokens} SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (self._clock.now().isoformat(), str(token_id)),
            )
