"""Failed-login state: a progressive delay per client address and a lockout per account.

Both live in the ``login_state`` table, so that every worker process and every
restart reads the same counts. Rows are keyed by an HMAC of the account name or the
address, so the table lists no account and no address.

The account lockout counts names, not accounts: an unknown name is locked after the
same number of failures as a real one, so a lockout does not reveal that a name
exists.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from vault.api.errors import AccountLocked, LoginThrottled
from vault.api.settings import ApiSettings
from vault.clock import Clock
from vault.store.database import Database, Tx

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class _State:
    failures: int
    last_failure_at: datetime
    blocked_until: datetime | None


class LoginThrottle:
    """Check, count and clear failed logins."""

    def __init__(self, db: Database, clock: Clock, key: bytes, settings: ApiSettings) -> None:
        self._db = db
        self._clock = clock
        self._key = key
        self._settings = settings

    def check(self, name: str, address: str) -> None:
        """Raise ``LoginThrottled`` or ``AccountLocked`` before any password is checked."""
        now = self._clock.now()
        with self._db.transaction(commit=False) as tx:
            by_address = self._load(tx, ADDRESS, address)
            by_account = self._load(tx, ACCOUNT, name.lower())
        if by_address and by_address.blocked_until and by_address.blocked_until > now:
            wait = by_address.blocked_until - now
            raise LoginThrottled(max(1, int(wait.total_seconds() + 0.999)))
        if by_account and by_account.blocked_until and by_account.blocked_until > now:
            minutes = max(1, int((by_account.blocked_until - now).total_seconds() // 60) + 1)
            raise AccountLocked(
                f"连续登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系系统管理员。",
                f"Too many failed logins in a row: the account is locked; try again in"
                f" {minutes} minutes or ask a system administrator.",
                field="username",
            )

    def failed(self, name: str, address: str) -> None:
        """Count one failure for the name and the address, and block them when due."""
        now = self._clock.now()
        settings = self._settings
        with self._db.transaction() as tx:
            failures = self._count(tx, ACCOUNT, name.lower(), now)
            if failures >= settings.lockout_threshold:
                self._block(tx, ACCOUNT, name.lower(), now + settings.lockout_period)
            failures = self._count(tx, ADDRESS, address, now)
            if failures > settings.address_free_failures:
                exponent = min(failures - settings.address_free_failures - 1, 16)
                delay = min(timedelta(seconds=2**exponent), settings.address_max_delay)
                self._block(tx, ADDRESS, address, now + delay)

    def succeeded(self, name: str) -> None:
        """Clear the name's failures. The address keeps its own until they expire."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {login_state} WHERE kind = ? AND key = ?",
                       (ACCOUNT, self._digest(ACCOUNT, name.lower())))

    def unlock(self, name: str) -> None:
        """Lift a lockout (a system admin's action)."""
        self.succeeded(name)

    def _count(self, tx: Tx, kind: str, value: str, now: datetime) -> int:
        state = self._load(tx, kind, value)
        fresh = state is None or now - state.last_failure_at > self._settings.failure_window
        failures = 1 if fresh or state is None else state.failures + 1
        # An upsert, so that two failures at the same moment do not fail on the primary
        # key; one of their two counts may be lost.
        tx.execute(
            "INSERT INTO {login_state} (kind, key, failures, last_failure_at, blocked_until)"
            " VALUES (?, ?, ?, ?, NULL) ON CONFLICT (kind, key) DO UPDATE SET"
            " failures = excluded.failures, last_failure_at = excluded.last_failure_at",
            (kind, self._digest(kind, value), failures, now.isoformat()),
        )
        return failures

    def _block(self, tx: Tx, kind: str, value: str, until: datetime) -> None:
        tx.execute("UPDATE {login_state} SET blocked_until = ? WHERE kind = ? AND key = ?",
                   (until.isoformat(), kind, self._digest(kind, value)))

    def _load(self, tx: Tx, kind: str, value: str) -> _State | None:
        row = tx.execute(
            "SELECT failures, last_failure_at, blocked_until FROM {login_state}"
            " WHERE kind = ? AND key = ?",
            (kind, self._digest(kind, value)),
        ).fetchone()
        if row is None:
            return None
        blocked = row["blocked_until"]
        return _State(int(row["failures"]), datetime.fromisoformat(row["last_failure_at"]),
                      datetime.fromisoformat(blocked) if blocked else None)

    def _digest(self, kind: str, value: str) -> str:
        message = f"login\x1f{kind}\x1f{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
