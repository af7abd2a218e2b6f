"""Server-side browser sessions with idle and absolute timeouts.

The cookie holds a random 256-bit session id; the table holds only its SHA-256, so
a copy of the database does not let anyone take a session over. Each login makes a
new id (an id set before login is never promoted, which defeats session fixation),
and each session has its own CSRF token that state-changing requests must echo.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from vault.api.settings import ApiSettings
from vault.clock import Clock
from vault.store.database import Database

# The __Host- prefix makes browsers refuse the cookie unless it is Secure, has
# path / and names no domain, so a sibling subdomain cannot plant or read it.
SESSION_COOKIE = "__Host-vault-session"


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    account_id: UUID
    csrf_token: str
    created_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Create, look up, refresh and end sessions."""

    def __init__(self, db: Database, clock: Clock, settings: ApiSettings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings

    def create(self, account_id: UUID) -> Session:
        session = Session(secrets.token_urlsafe(32), account_id, secrets.token_urlsafe(32),
                          self._clock.now())
        now = session.created_at.isoformat()
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO {sessions} (session_hash, account_id, csrf_token, created_at,"
                " last_seen_at) VALUES (?, ?, ?, ?, ?)",
                (_hash(session.session_id), str(account_id), session.csrf_token, now, now),
            )
        return session

    def find(self, session_id: str) -> Session | None:
        """Return the live session and mark it seen now; end it if it has timed out."""
        now = self._clock.now()
        key = _hash(session_id)
        with self._db.transaction() as tx:
            row = tx.execute(
                "SELECT account_id, csrf_token, created_at, last_seen_at FROM {sessions}"
                " WHERE session_hash = ?", (key,),
            ).fetchone()
            if row is None:
                return None
            created = datetime.fromisoformat(row["created_at"])
            seen = datetime.fromisoformat(row["last_seen_at"])
            if (now - seen > self._settings.idle_timeout
                    or now - created > self._settings.absolute_timeout):
                tx.execute("DELETE FROM {sessions} WHERE session_hash = ?", (key,))
                return None
            tx.execute("UPDATE {sessions} SET last_seen_at = ? WHERE session_hash = ?",
                       (now.isoformat(), key))
        return Session(session_id, UUID(row["account_id"]), row["csrf_token"], created)

    def end(self, session_id: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {sessions} WHERE session_hash = ?", (_hash(session_id),))

    def end_all(self, account_id: UUID) -> None:
        """End every session of an account (after a TOTP reset, say)."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {sessions} WHERE account_id = ?", (str(account_id),))
