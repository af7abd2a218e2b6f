"""Second-person approval: one request mechanism for every change that needs two people.

A requester with ``request.create`` on the subject's village requests a change and
gives the reason. A reviewer with ``request.review`` there, who is not the requester,
approves or rejects it with a reason of their own. Only an approved request takes
effect, and a pending request expires after a configurable time (7 days unless
the ``request_expiry_days`` setting or the caller says otherwise). Every create,
approve, reject, expiry and apply is audited, allowed or not.

The requester's reason, the decision reason and the payload are free text and may
name people, so each is sealed in a field envelope under the first subject's data
key, bound to the request id; erasing the subject makes them unreadable too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from vault.access import principal_of
from vault.accounts import Account
from vault.approvals import table as requests_table
from vault.approvals.kinds import RequestKind, kind_named
from vault.approvals.model import (
    APPROVED,
    EXPIRED,
    FAILED,
    PENDING,
    REJECTED,
    ApprovalRequest,
    OwnRequestReview,
    RequestNotFound,
    RequestNotPending,
    Status,
)
from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.domain.actor import Actor
from vault.errors import AccessDenied, InvalidValue, KeyShredded, StaleVersion, VaultError
from vault.policy import Decision, MaskContext, PolicySet, Request, decide
from vault.store.reader import FieldReader

DEFAULT_EXPIRY = timedelta(days=7)
EXPIRY_SETTING = "request_expiry_days"
MAX_EXPIRY_DAYS = 90
MAX_REASON_CHARACTERS = 500

CREATE = "request.create"
REVIEW = "request.review"


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request as one account may see it, with its text opened and its payload masked.

    ``reason`` and ``decision_reason`` are ``None`` when the subject was erased;
    ``details`` holds only the payload fields the viewer's read decision allows.
    """

    request: ApprovalRequest
    reason: str | None
    decision_reason: str | None
    details: Mapping[str, str | None] = field(default_factory=dict)


class Approvals:
    """Create, review, expire and list second-person requests for one set of services."""

    def __init__(
        self, services: Services, policy: PolicySet, *, expiry: timedelta | None = None
    ) -> None:
        self._services = services
        self._policy = policy
        self._table = requests_table.RequestTable(services.store.db)
        self._reader = FieldReader(services.store)
        self._expiry = expiry

    # -- asking ------------------------------------------------------------

    def create(
        self,
        account: Account,
        kind_name: str,
        subject_ids: Sequence[UUID],
        details: Mapping[str, str],
        reason: str,
        *,
        request_id: str,
    ) -> ApprovalRequest:
        """Record a pending request; raise if the account may not ask or the change is invalid."""
        kind = kind_named(kind_name)
        audit = _Audit(self._services, account, CREATE, kind, subject_ids=subject_ids,
                       request_id=request_id)
        try:
            text = _clean_reason(reason, "--reason")
            village, minor = self._locate(subject_ids[0])
            self._allow(account, CREATE, village, minor)
            self._reject_duplicate(kind, subject_ids[0])
            payload = kind.prepare(self._services, subject_ids, details)
        except VaultError as error:
            audit.failure(error)
            raise

        now = self._services.clock.now()
        new_id = uuid4()
        subject = subject_ids[0]
        request = ApprovalRequest(
            request_id=new_id,
            kind=kind.name,
            subject_ids=tuple(subject_ids),
            village_code=village,
            requester_id=account.account_id,
            office=account.jurisdiction,
            status=PENDING,
            created_at=now,
            expires_at=now + self._expiry_period(),
            reason=self._seal(new_id, subject, kind.name, "reason", text),
            payload=self._seal(new_id, subject, kind.name, "", json.dumps(payload)),
        )
        self._table.insert(request)
        audit.ok(new_id)
        return request

    # -- deciding ----------------------------------------------------------

    def approve(
        self, account: Account, request_uuid: UUID, reason: str, *, request_id: str
    ) -> ApprovalRequest:
        """Approve another account's pending request and apply it; return it as applied."""
        request, kind, text, audit = self._review(account, request_uuid, reason, "request.approve",
                                                  request_id)
        payload = self._payload(request)
        try:
            kind.check(self._services, request, payload)
        except VaultError as error:
            audit.failure(error)
            raise

        now = self._services.clock.now()
        decided = self._table.transition(
            request.request_id, expected=PENDING, status=APPROVED,
            reviewer_id=account.account_id, decided_at=now,
            decision_reason=self._seal(request.request_id, request.subject_id, kind.name,
                                       "decision", text),
        )
        if not decided:
            self._lost_race(request, audit)
        audit.ok(request.request_id)

        self._apply(account, request, kind, payload, request_id)
        return self._reload(request.request_id)

    def reject(
        self, account: Account, request_uuid: UUID, reason: str, *, request_id: str
    ) -> ApprovalRequest:
        """Reject another account's pending request, so that it can never take effect."""
        request, kind, text, audit = self._review(account, request_uuid, reason, "request.reject",
                                                  request_id)
        decided = self._table.transition(
            request.request_id, expected=PENDING, status=REJECTED,
            reviewer_id=account.account_id, decided_at=self._services.clock.now(),
            decision_reason=self._seal(request.request_id, request.subject_id, kind.name,
                                       "decision", text),
        )
        if not decided:
            self._lost_race(request, audit)
        audit.ok(request.request_id)
        return self._reload(request.request_id)

    def expire_due(self, *, request_id: str) -> list[UUID]:
        """Mark every pending request past its expiry time expired; return their ids."""
        now = self._services.clock.now()
        expired: list[UUID] = []
        for due in self._table.due_for_expiry(now):
            if not self._table.transition(due, expected=PENDING, status=EXPIRED, decided_at=now):
                continue  # another account decided it a moment ago
            request = self._reload(due)
            self._services.audit.append(AuditRecord(
                action="request.expire", outcome="ok", request_id=request_id,
                subject_ids=[str(s) for s in request.subject_ids],
                reason=f"request={due} kind={request.kind}",
            ))
            expired.append(due)
        return expired

    # -- reading -----------------------------------------------------------

    def visible_to(
        self,
        account: Account,
        *,
        request_id: str,
        statuses: Sequence[Status] = (PENDING,),
        limit: int = 200,
    ) -> list[RequestView]:
        """Return the requests the account may create or review, oldest first; audit the list.

        A request is shown when the account may ask for or review that kind of
        change on the subject's village now. Payload fields are masked as the
        account's ``person.read`` decision for the subject gives.
        """
        self.expire_due(request_id=request_id)
        views: list[RequestView] = []
        if account.jurisdiction:
            for request in self._table.select(
                jurisdiction=account.jurisdiction, statuses=statuses, limit=limit
            ):
                view = self._view(account, request)
                if view is not None:
                    views.append(view)
        shown_fields = sorted({key for view in views for key in view.details})
        self._services.audit.append(AuditRecord(
            action="request.list", outcome="ok", request_id=request_id,
            account_id=account.account_id, account_name=account.name,
            role=",".join(account.roles), office=account.jurisdiction,
            subject_ids=[str(s) for view in views for s in view.request.subject_ids],
            fields=shown_fields, reason=f"requests={len(views)}",
            policy_version=self._policy.version,
        ))
        return views

    # -- steps -------------------------------------------------------------

    def _review(
        self, account: Account, request_uuid: UUID, reason: str, action: str, request_id: str
    ) -> tuple[ApprovalRequest, RequestKind, str, _Audit]:
        """Load a request and check that ``account`` may decide it now; audit a denial."""
        self.expire_due(request_id=request_id)
        request = self._table.get(request_uuid)
        if request is None:
            error = RequestNotFound(
                "没有这个申请。", "No such request.",
                field="REQUEST_ID", value=str(request_uuid),
            )
            _Audit(self._services, account, action, None, subject_ids=(),
                   request_id=request_id).failure(error)
            raise error
        kind = kind_named(request.kind)
        audit = _Audit(self._services, account, action, kind, subject_ids=request.subject_ids,
                       request_id=request_id, approval_id=request.request_id)
        try:
            if request.requester_id == account.account_id:
                raise OwnRequestReview(
                    "不能审核自己提出的申请，请由另一名审核员处理。",
                    "You made this request, so another reviewer must decide it.",
                    field="--user",
                )
            if request.status != PENDING:
                raise _not_pending(request)
            text = _clean_reason(reason, "--reason")
            village, minor = self._locate(request.subject_id, fallback=request.village_code)
            # NOTE: the shipped policy gives reviewers no field of a child, and ``decide``
            # then denies ``request.review`` with MINOR_DATA_SENSITIVE, so a request about
            # a child under the minor age cannot be approved yet.
            self._allow(account, REVIEW, village, minor)
        except VaultError as error:
            audit.failure(error)
            raise
        return request, kind, text, audit

    def _apply(
        self,
        account: Account,
        request: ApprovalRequest,
        kind: RequestKind,
        payload: Mapping[str, Any],
        request_id: str,
    ) -> None:
        actor = Actor(account.account_id, "reviewer", account.jurisdiction)
        rows = [requests_table.mark_applied_rows(request.request_id, self._services.clock.now())]
        audit = _Audit(self._services, account, "request.apply", kind,
                       subject_ids=request.subject_ids, request_id=request_id,
                       approval_id=request.request_id)
        try:
            kind.apply(self._services, request, payload, actor, rows)
        except IntegrityError:
            # The subject changed between the check and the save (another write won);
            # the transaction rolled back, so nothing of this request was written.
            conflict = StaleVersion(
                "该人员记录在审批期间被修改，更正未生效，请重新提出申请。",
                "The person's record changed during the review, so the change was not"
                " applied. Make a new request.",
                code="REQUEST_CONFLICT",
            )
            self._fail(request, audit, conflict)
            raise conflict from None
        except VaultError as error:
            self._fail(request, audit, error)
            raise
        audit.ok(request.request_id)

    def _reload(self, request_uuid: UUID) -> ApprovalRequest:
        request = self._table.get(request_uuid)
        if request is None:
            raise RequestNotFound("没有这个申请。", "No such request.",
                                  field="REQUEST_ID", value=str(request_uuid))
        return request

    def _lost_race(self, request: ApprovalRequest, audit: _Audit) -> None:
        """Raise, and audit, that another account decided the request first."""
        error = _not_pending(self._table.get(request.request_id) or request)
        audit.failure(error)
        raise error

    def _fail(self, request: ApprovalRequest, audit: _Audit, error: VaultError) -> None:
        self._table.transition(request.request_id, expected=APPROVED, status=FAILED,
                               failure_code=error.code)
        audit.failure(error)

    def _allow(self, account: Account, action: str, village: str, minor: bool | None) -> Decision:
        decision = decide(self._policy, principal_of(account),
                          Request(action, village_code=village, subject_is_minor=minor))
        if not decision.allowed:
            raise AccessDenied(decision.reason_zh, decision.reason_en, code=decision.reason_code)
        return decision

    def _reject_duplicate(self, kind: RequestKind, subject_id: UUID) -> None:
        if self._table.has_pending(kind.name, subject_id):
            raise InvalidValue(
                "该人员已有一件同类申请待审核，请等待审核结果或请审核员驳回后再申请。",
                "This person already has a pending request of this kind; wait for the"
                " decision, or ask a reviewer to reject it first.",
                code="REQUEST_ALREADY_PENDING", field="--person", value=str(subject_id),
            )

    def _locate(self, subject_id: UUID, fallback: str | None = None) -> tuple[str, bool | None]:
        """Return the subject's village and whether they are a minor (``None``: unknown)."""
        located = self._reader.read(subject_id, ())
        if located is None or "village_code" not in located.clear:
            if fallback is not None:
                return fallback, None
            raise InvalidValue("没有这个人员。", "No such person.",
                               code="PERSON_NOT_FOUND", field="--person", value=str(subject_id))
        village = str(located.clear["village_code"])
        return village, self._is_minor(subject_id, located.clear.get("birth_year"))

    def _is_minor(self, person_id: UUID, birth_year: object) -> bool | None:
        # NOTE: the same rule as ``Gate._is_minor``; keep the two in step.
        today = self._services.clock.today()
        if not isinstance(birth_year, int):
            return None
        age_by_year = today.year - birth_year
        if age_by_year != self._policy.minor_age:
            return age_by_year < self._policy.minor_age
        read = self._reader.read(person_id, ["birth_date"])
        born = read.fields.get("birth_date") if read else None
        if not isinstance(born, date):
            return None
        return (today.month, today.day) < (born.month, born.day)

    def _view(self, account: Account, request: ApprovalRequest) -> RequestView | None:
        village, minor = self._locate(request.subject_id, fallback=request.village_code)
        principal = principal_of(account)
        allowed = any(
            decide(self._policy, principal,
                   Request(action, village_code=village, subject_is_minor=minor)).allowed
            for action in (CREATE, REVIEW)
        )
        if not allowed:
            return None
        read = decide(self._policy, principal,
                      Request("person.read", village_code=village, subject_is_minor=minor))
        masks = read.fields if read.allowed else {}
        try:
            reason = self._unseal(request, "reason", request.reason)
            decision = (self._unseal(request, "decision", request.decision_reason)
                        if request.decision_reason is not None else None)
            payload = json.loads(self._unseal(request, "", request.payload))
        except KeyShredded:
            return RequestView(request, None, None)
        context = MaskContext(today=self._services.clock.today(), division_code=village,
                              subject_id=request.subject_id)
        details = kind_named(request.kind).describe(payload, masks, context)
        return RequestView(request, reason, decision, details)

    def _payload(self, request: ApprovalRequest) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self._unseal(request, "", request.payload))
        return payload

    def _expiry_period(self) -> timedelta:
        if self._expiry is not None:
            return self._expiry
        with self._services.store.db.transaction(commit=False) as tx:
            value = tx.scalar("SELECT value FROM {settings} WHERE key = ?", (EXPIRY_SETTING,))
        if value is None:
            return DEFAULT_EXPIRY
        if not str(value).isdigit() or not 1 <= int(value) <= MAX_EXPIRY_DAYS:
            raise InvalidValue(
                f"设置 {EXPIRY_SETTING} 必须是 1 到 {MAX_EXPIRY_DAYS} 之间的天数。",
                f"The setting {EXPIRY_SETTING} must be a number of days from 1 to"
                f" {MAX_EXPIRY_DAYS}.",
                code="SETTING_INVALID", field=EXPIRY_SETTING, value=str(value),
            )
        return timedelta(days=int(value))

    # -- sealing -----------------------------------------------------------

    def _seal(self, request_id: UUID, subject_id: UUID, kind: str, part: str, text: str) -> bytes:
        cipher = self._services.store.keys.cipher(subject_id)
        return cipher.encrypt(
            text.encode("utf-8"), subject_id=subject_id, field=sealed_field(kind, part),
            originator_id=request_id, originator_version=0,
        )

    def _unseal(self, request: ApprovalRequest, part: str, envelope: bytes) -> str:
        cipher = self._services.store.keys.cipher(request.subject_id)
        plaintext = cipher.decrypt(
            envelope, subject_id=request.subject_id, field=sealed_field(request.kind, part),
            originator_id=request.request_id, originator_version=0,
        )
        return plaintext.decode("utf-8")


def sealed_field(kind: str, part: str) -> str:
    """Return the envelope field name: ``request:<kind>`` for the payload, else with ``:<part>``."""
    return f"request:{kind}:{part}" if part else f"request:{kind}"


def _clean_reason(text: str, field_name: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InvalidValue("必须说明理由。", "A reason is required.",
                           code="REASON_MISSING", field=field_name)
    if len(cleaned) > MAX_REASON_CHARACTERS:
        raise InvalidValue(
            f"理由最多 {MAX_REASON_CHARACTERS} 个字符。",
            f"A reason may have at most {MAX_REASON_CHARACTERS} characters.",
            code="REASON_TOO_LONG", field=field_name,
        )
    return cleaned


def _not_pending(request: ApprovalRequest) -> RequestNotPending:
    if request.status == EXPIRED:
        return RequestNotPending(
            "该申请已过期，不能再审核；如仍需更改，请重新提出申请。",
            "The request has expired and can no longer be decided; make a new request if"
            " the change is still needed.",
            code="REQUEST_EXPIRED", field="REQUEST_ID", value=str(request.request_id),
        )
    return RequestNotPending(
        f"该申请的状态是“{request.status}”，只有待审核的申请才能批准或驳回。",
        f"The request is {request.status}; only a pending request can be approved or rejected.",
        field="REQUEST_ID", value=str(request.request_id),
    )


class _Audit:
    """Audit records for one action on one request: one per outcome."""

    def __init__(
        self,
        services: Services,
        account: Account,
        action: str,
        kind: RequestKind | None,
        *,
        subject_ids: Iterable[UUID],
        request_id: str,
        approval_id: UUID | None = None,
    ) -> None:
        self._services = services
        self._account = account
        self._action = action
        self._kind = kind
        self._subjects = [str(s) for s in subject_ids]
        self._request_id = request_id
        self._approval_id = approval_id

    def ok(self, approval_id: UUID) -> None:
        self._append("ok", f"request={approval_id}")

    def failure(self, error: VaultError) -> None:
        outcome = "denied" if isinstance(error, AccessDenied) else "invalid"
        prefix = f"request={self._approval_id} " if self._approval_id else ""
        self._append(outcome, f"{prefix}code={error.code}")

    def _append(self, outcome: str, reason: str) -> None:
        account = self._account
        kind = f" kind={self._kind.name}" if self._kind else ""
        self._services.audit.append(AuditRecord(
            action=self._action, outcome=outcome, request_id=self._request_id,
            account_id=account.account_id, account_name=account.name,
            role=",".join(account.roles), office=account.jurisdiction,
            subject_ids=self._subjects, fields=list(self._kind.fields) if self._kind else [],
            reason=reason + kind,
        ))
