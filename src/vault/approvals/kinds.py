"""The registry of request kinds: what each kind checks, writes and shows.

The approval service handles everything that is the same for every kind: who may
ask and review, sealing, expiry, status changes and audit records. A kind adds only
its own rules. Merging duplicates, erasure and extracts plug in here by calling
``register_kind`` with an object that has these methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from vault.approvals.model import ApprovalRequest
from vault.bootstrap import Services
from vault.domain.actor import Actor
from vault.errors import InvalidValue
from vault.policy import MaskContext

Rows = list[tuple[str, Sequence[Sequence[Any]]]]


class RequestKind(Protocol):
    """One kind of change that takes effect only after a second person approves it."""

    name: str
    """The stable identifier stored in ``vault_requests.kind`` and used in field labels."""
    label_zh: str
    label_en: str
    fields: tuple[str, ...]
    """Field keys the change writes, recorded in every audit record of the request."""

    def prepare(
        self, services: Services, subject_ids: Sequence[UUID], details: Mapping[str, str]
    ) -> dict[str, Any]:
        """Validate what the requester typed and return the payload to seal.

        Raise ``InvalidValue`` (or another ``VaultError``) when the change could not
        take effect now; messages must not quote personal data.
        """
        ...

    def check(
        self, services: Services, request: ApprovalRequest, payload: Mapping[str, Any]
    ) -> None:
        """Raise when the change can no longer take effect (checked again before approval)."""
        ...

    def apply(
        self,
        services: Services,
        request: ApprovalRequest,
        payload: Mapping[str, Any],
        actor: Actor,
        rows: Rows,
    ) -> None:
        """Write the change and ``rows`` (the status update) in one transaction."""
        ...

    def describe(
        self, payload: Mapping[str, Any], masks: Mapping[str, str], context: MaskContext
    ) -> dict[str, str | None]:
        """Return the payload for display, each field masked with the mask ``masks`` gives.

        A field missing from ``masks`` is left out: the viewer may not see it.
        """
        ...


_KINDS: dict[str, RequestKind] = {}


def register_kind(kind: RequestKind) -> None:
    """Make ``kind`` available to the approval service; a name can be registered once."""
    existing = _KINDS.get(kind.name)
    if existing is not None and existing is not kind:
        raise ValueError(f"a request kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind


def kind_named(name: str) -> RequestKind:
    """Return the registered kind ``name``; raise ``InvalidValue`` for an unknown one."""
    kind = _KINDS.get(name)
    if kind is None:
        raise InvalidValue(
            f"未知的申请类型 {name}。",
            f"Unknown request kind {name}.",
            code="REQUEST_KIND_UNKNOWN",
            field="kind",
            value=name,
        )
    return kind


def registered_kinds() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))
