"""Append-only audit records: who read, searched, changed or was denied what.

A record holds ids, field names, the policy version and outcomes, never a value of a
personal field. The table refuses UPDATE and DELETE at the database (see
``vault.store.schema``); the Merkle proofs that make tampering evident build on these
rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from vault.clock import Clock
from vault.store.database import Database


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited action. ``subject_ids`` and ``fields`` are ids and field keys only."""

    action: str
    outcome: str
    request_id: str
    account_id: UUID | None = None
    account_name: str | None = None
    role: str | None = None
    office: str | None = None
    purpose: str | None = None
    subject_ids: Sequence[str] = ()
    fields: Sequence[str] = ()
    reason: str | None = None
    policy_version: str | None = None


_INSERT = (
    "INSERT INTO {audit} (at, account_id, account_name, role, office, action, purpose,"
    " subject_ids, fields, outcome, reason, request_id, policy_version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class AuditLog:
    """Append audit records and read them back for security officers."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def append(self, *records: AuditRecord) -> None:
        """Append ``records`` in one transaction."""
        rows = [self._row(record) for record in records]
        with self._db.transaction() as tx:
            tx.executemany(_INSERT, rows)

    def rows_for(self, record: AuditRecord) -> tuple[str, list[tuple[Any, ...]]]:
        """Return the portable SQL and row to write ``record`` in another transaction."""
        return _INSERT, [self._row(record)]

    def records(
        self,
        *,
        action: str | None = None,
        account_name: str | None = None,
        subject_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        action_prefix: str | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Return records matching the filters, oldest first unless ``newest_first``.

        ``since`` and ``until`` are ISO 8601 times compared as text, so they must
        carry the same UTC offset as the stored ones (the clock's Asia/Shanghai).
        ``action_prefix`` keeps actions that start with it (``person.`` for look-ups).
        """
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("action", action), ("account_name", account_name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if action_prefix is not None:
            # substr, not LIKE: "_" is a wildcard in LIKE, and the two backends escape it
            # differently.
            clauses.append("substr(action, 1, ?) = ?")
            params.extend([len(action_prefix), action_prefix])
        if subject_id is not None:
            clauses.append("subject_ids LIKE ?")
            params.append(f'%"{subject_id}"%')
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("at < ?")
            params.append(until)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        with self._db.transaction(commit=False) as tx:
            order = "DESC" if newest_first else "ASC"
            query = f"SELECT * FROM {{audit}}{where} ORDER BY seq {order} LIMIT ?"  # noqa: S608  # clauses are fixed strings; values are parameters
            rows = tx.execute(query, params).fetchall()
        return [_decode(dict(row)) for row in rows]

    def count(self, action: str | None = None) -> int:
        with self._db.transaction(commit=False) as tx:
            if action is None:
                return int(tx.scalar("SELECT COUNT(*) FROM {audit}"))
            return int(tx.scalar("SELECT COUNT(*) FROM {audit} WHERE action = ?", (action,)))

    def _row(self, record: AuditRecord) -> tuple[Any, ...]:
        return (
            self._clock.now().isoformat(),
            str(record.account_id) if record.account_id else None,
            record.account_name,
            record.role,
            record.office,
            record.action,
            record.purpose,
            json.dumps(list(record.subject_ids)),
            json.dumps(list(record.fields)),
            record.outcome,
            record.reason,
            record.request_id,
            record.policy_version,
        )


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["subject_ids"] = json.loads(row["subject_ids"])
    row["fields"] = json.loads(row["fields"])
    return row
