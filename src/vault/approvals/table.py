"""The ``vault_requests`` table: insert, read, and move a request from one status to another.

Every status change is a compare-and-set on the current status, so that of two
reviewers deciding the same request at once exactly one wins, and an approval can
never overwrite a rejection or an expiry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from vault.approvals.model import APPLIED, APPROVED, ApprovalRequest, Status
from vault.store.database import Database

_COLUMNS = (
    "request_id, kind, subject_ids, village_code, requester_id, office, reason, payload,"
    " status, created_at, expires_at, reviewer_id, decided_at, decision_reason, applied_at,"
    " failure_code"
)

# Marks an approved request applied; run in the transaction that saves its events.
MARK_APPLIED = (
    "UPDATE {requests} SET status = ?, applied_at = ? WHERE request_id = ? AND status = ?"
)


def mark_applied_rows(request_id: UUID, now: datetime) -> tuple[str, Sequence[Sequence[Any]]]:
    """Return the SQL and parameters that mark ``request_id`` applied, for ``save_with_rows``."""
    return MARK_APPLIED, [(APPLIED, now.isoformat(), str(request_id), APPROVED)]


class RequestTable:
    """Portable SQL over ``vault_requests``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, request: ApprovalRequest) -> None:
        with self._db.transaction() as tx:
            tx.execute(
                f"INSERT INTO {{requests}} ({_COLUMNS})"  # noqa: S608  # fixed column list
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(request.request_id), request.kind,
                    json.dumps([str(s) for s in request.subject_ids]), request.village_code,
                    str(request.requester_id), request.office, request.reason, request.payload,
                    request.status, request.created_at.isoformat(),
                    request.expires_at.isoformat(), None, None, None, None, None,
                ),
            )

    def get(self, request_id: UUID) -> ApprovalRequest | None:
        with self._db.transaction(commit=False) as tx:
            row = tx.execute(
                f"SELECT {_COLUMNS} FROM {{requests}} WHERE request_id = ?",  # noqa: S608  # fixed column list
                (str(request_id),),
            ).fetchone()
        return _request(row) if row else None

    def select(
        self, *, jurisdiction: str, statuses: Sequence[Status], limit: int
    ) -> list[ApprovalRequest]:
        """Return requests whose village starts with ``jurisdiction``, oldest first.

        ``CN`` stands for every village.
        """
        clauses = [f"status IN ({', '.join('?' * len(statuses))})"]
        params: list[Any] = list(statuses)
        if jurisdiction != "CN":
            clauses.append("village_code LIKE ?")
            params.append(f"{jurisdiction}%")
        params.append(limit)
        with self._db.transaction(commit=False) as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM {{requests}} WHERE {' AND '.join(clauses)}"  # noqa: S608  # clauses are fixed strings; values are parameters
                " ORDER BY created_at, request_id LIMIT ?",
                params,
            ).fetchall()
        return [_request(row) for row in rows]

    def has_pending(self, kind: str, subject_id: UUID) -> bool:
        """Return whether a pending request of ``kind`` names ``subject_id``."""
        with self._db.transaction(commit=False) as tx:
            found = tx.scalar(
                "SELECT COUNT(*) FROM {requests}"
                " WHERE kind = ? AND status = 'pending' AND subject_ids LIKE ?",
                (kind, f'%"{subject_id}"%'),
            )
        return int(found) > 0

    def due_for_expiry(self, now: datetime) -> list[UUID]:
        with self._db.transaction(commit=False) as tx:
            rows = tx.execute(
                "SELECT request_id FROM {requests} WHERE status = 'pending' AND expires_at <= ?",
                (now.isoformat(),),
            ).fetchall()
        return [UUID(row["request_id"]) for row in rows]

    def transition(
        self,
        request_id: UUID,
        *,
        expected: Status,
        status: Status,
        reviewer_id: UUID | None = None,
        decided_at: datetime | None = None,
        decision_reason: bytes | None = None,
        failure_code: str | None = None,
    ) -> bool:
        """Set the status of a request that still has status ``expected``; return whether it did.

        Only the columns given are written, so a later step never clears what an
        earlier one recorded.
        """
        assignments = ["status = ?"]
        params: list[Any] = [status]
        for column, value in (
            ("reviewer_id", str(reviewer_id) if reviewer_id else None),
            ("decided_at", decided_at.isoformat() if decided_at else None),
            ("decision_reason", decision_reason),
            ("failure_code", failure_code),
        ):
            if value is not None:
                assignments.append(f"{column} = ?")
                params.append(value)
        params.extend((str(request_id), expected))
        with self._db.transaction() as tx:
            tx.execute(
                f"UPDATE {{requests}} SET {', '.join(assignments)}"  # noqa: S608  # column names are fixed strings
                " WHERE request_id = ? AND status = ?",
                params,
            )
            return tx.rowcount == 1


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _request(row: Any) -> ApprovalRequest:
    decision = row["decision_reason"]
    return ApprovalRequest(
        request_id=UUID(row["request_id"]),
        kind=row["kind"],
        subject_ids=tuple(UUID(s) for s in json.loads(row["subject_ids"])),
        village_code=row["village_code"],
        requester_id=UUID(row["requester_id"]),
        office=row["office"],
        status=row["status"],
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        reason=bytes(row["reason"]),
        payload=bytes(row["payload"]),
        reviewer_id=UUID(row["reviewer_id"]) if row["reviewer_id"] else None,
        decided_at=_time(row["decided_at"]),
        decision_reason=bytes(decision) if decision is not None else None,
        applied_at=_time(row["applied_at"]),
        failure_code=row["failure_code"],
    )
