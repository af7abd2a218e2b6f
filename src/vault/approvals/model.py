"""Second-person requests: the record, its statuses and the errors a review raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from vault.errors import AccessDenied, DomainError

Status = Literal["pending", "approved", "rejected", "expired", "applied", "failed"]

PENDING: Status = "pending"
# Approved and about to be applied. A request stays here only when the process
# stopped between the decision and the write.
APPROVED: Status = "approved"
REJECTED: Status = "rejected"
EXPIRED: Status = "expired"
APPLIED: Status = "applied"
# Approved, but the change could not be written (say, the corrected number was
# registered to another person in the meantime); ``failure_code`` says why.
FAILED: Status = "failed"
STATUSES: tuple[Status, ...] = (PENDING, APPROVED, REJECTED, EXPIRED, APPLIED, FAILED)

STATUS_LABELS: dict[str, str] = {
    PENDING: "待审核",
    APPROVED: "已批准",
    REJECTED: "已驳回",
    EXPIRED: "已过期",
    APPLIED: "已生效",
    FAILED: "批准后未能生效",
}


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One row of ``vault_requests``, with its free text and payload still sealed.

    ``subject_ids`` names the data subjects the request changes; the first one's
    data key seals ``reason``, ``payload`` and ``decision_reason``. ``village_code``
    is that subject's village when the request was made, and ``office`` the
    requester's jurisdiction.
    """

    request_id: UUID
    kind: str
    subject_ids: tuple[UUID, ...]
    village_code: str
    requester_id: UUID
    office: str
    status: Status
    created_at: datetime
    expires_at: datetime
    reason: bytes
    payload: bytes
    reviewer_id: UUID | None = None
    decided_at: datetime | None = None
    decision_reason: bytes | None = None
    applied_at: datetime | None = None
    failure_code: str | None = None

    @property
    def subject_id(self) -> UUID:
        """The subject whose data key seals the request's text and payload."""
        return self.subject_ids[0]


class RequestNotFound(DomainError):
    default_code = "REQUEST_NOT_FOUND"


class RequestNotPending(DomainError):
    """The request was already decided, expired or applied."""

    default_code = "REQUEST_NOT_PENDING"


class OwnRequestReview(AccessDenied):
    """The reviewer made the request, and no account may review its own request."""

    default_code = "REQUEST_OWN_REVIEW"
