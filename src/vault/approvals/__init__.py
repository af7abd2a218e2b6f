"""Second-person approval: requests that take effect only after another account approves.

``Approvals`` is the service; ``register_kind`` adds a kind of change. The ID-number
correction (``IdNumberCorrection``) is registered here; merging duplicates, erasure
and extract releases are meant to register their own kinds the same way.
"""

from vault.approvals.id_number import IdNumberCorrection
from vault.approvals.kinds import RequestKind, kind_named, register_kind, registered_kinds
from vault.approvals.model import (
    APPLIED,
    APPROVED,
    EXPIRED,
    FAILED,
    PENDING,
    REJECTED,
    STATUSES,
    ApprovalRequest,
    OwnRequestReview,
    RequestNotFound,
    RequestNotPending,
    Status,
)
from vault.approvals.service import DEFAULT_EXPIRY, EXPIRY_SETTING, Approvals, RequestView

ID_NUMBER_CORRECTION = IdNumberCorrection()
register_kind(ID_NUMBER_CORRECTION)

__all__ = [
    "APPLIED",
    "APPROVED",
    "DEFAULT_EXPIRY",
    "EXPIRED",
    "EXPIRY_SETTING",
    "FAILED",
    "ID_NUMBER_CORRECTION",
    "PENDING",
    "REJECTED",
    "STATUSES",
    "ApprovalRequest",
    "Approvals",
    "IdNumberCorrection",
    "OwnRequestReview",
    "RequestKind",
    "RequestNotFound",
    "RequestNotPending",
    "RequestView",
    "Status",
    "kind_named",
    "register_kind",
    "registered_kinds",
]
