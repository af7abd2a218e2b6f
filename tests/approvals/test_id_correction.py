"""ID-number corrections through second-person approval, on the configured storage backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from tests.approvals.conftest import NEW_NUMBER, OLD_NUMBER, OTHER_NUMBER, Registry
from tests.strategies import with_check
from vault.access import Gate
from vault.approvals import (
    APPLIED,
    EXPIRED,
    FAILED,
    PENDING,
    REJECTED,
    ApprovalRequest,
    Approvals,
    OwnRequestReview,
    RequestNotPending,
    register_kind,
)
from vault.approvals.kinds import Rows
from vault.approvals.service import sealed_field
from vault.approvals.table import RequestTable
from vault.bootstrap import Services
from vault.domain.actor import Actor
from vault.errors import AccessDenied, InvalidValue
from vault.imports.service import ID_NUMBER
from vault.policy import MaskContext
from vault.store.reader import FieldReader

pytestmark = pytest.mark.storage

KIND = "id_number_correction"


def ask(
    registry: Registry, number: str = NEW_NUMBER, reason: str = "户籍底册核对有误"
) -> ApprovalRequest:
    return registry.approvals.create(
        registry.clerk, KIND, [registry.person_id], {"id_number": number}, reason,
        request_id="test-create",
    )


def holders(registry: Registry, number: str) -> list[UUID]:
    return registry.services.blind.find(ID_NUMBER, [number]).get(number, [])


def audit_rows(registry: Registry, action: str) -> list[dict[str, Any]]:
    return registry.services.audit.records(action=action)


def resident_row(registry: Registry) -> Mapping[str, Any]:
    with registry.services.store.db.transaction(commit=False) as tx:
        row = tx.execute("SELECT sex, birth_year, version FROM {residents} WHERE person_id = ?",
                         (str(registry.person_id),)).fetchone()
    return dict(row)


# -- taking effect -------------------------------------------------------------


def test_approved_correction_takes_effect(registry: Registry) -> None:
    request = ask(registry)

    done = registry.approvals.approve(registry.reviewer, request.request_id, "已核对户口簿",
                                      request_id="test-approve")

    assert done.status == APPLIED
    assert done.reviewer_id == registry.reviewer.account_id
    assert done.applied_at is not None
    assert holders(registry, NEW_NUMBER) == [registry.person_id]
    assert holders(registry, OLD_NUMBER) == []
    reader = FieldReader(registry.services.store)
    read = reader.read(registry.person_id, ["id_number", "birth_date"])
    assert read is not None
    assert read.fields["id_number"] == NEW_NUMBER
    assert read.fields["birth_date"] == date(1992, 3, 15)


def test_projection_shows_derived_values(registry: Registry) -> None:
    before = resident_row(registry)
    request = ask(registry)

    registry.approvals.approve(registry.reviewer, request.request_id, "已核对",
                               request_id="test-approve")

    after = resident_row(registry)
    assert (before["sex"], before["birth_year"]) == ("1", 1990)
    assert (after["sex"], after["birth_year"]) == ("2", 1992)
    assert after["version"] == before["version"] + 1


def test_lookup_follows_new_number(registry: Registry) -> None:
    request = ask(registry)
    registry.approvals.approve(registry.reviewer, request.request_id, "已核对",
                               request_id="test-approve")
    gate = Gate(registry.services, registry.policy)

    by_new = gate.find_by_id_number(registry.clerk, NEW_NUMBER, request_id="test-find")
    by_old = gate.find_by_id_number(registry.clerk, OLD_NUMBER, request_id="test-find")

    assert by_new.outcome == "found"
    assert by_new.person is not None
    assert by_new.person.person_id == registry.person_id
    assert by_old.outcome == "not_found"


def test_pending_correction_changes_nothing(registry: Registry) -> None:
    request = ask(registry)

    assert request.status == PENDING
    assert holders(registry, OLD_NUMBER) == [registry.person_id]
    assert holders(registry, NEW_NUMBER) == []
    assert resident_row(registry)["birth_year"] == 1990


def test_fifteen_digit_number_converted(registry: Registry) -> None:
    # The old 15-digit form of NEW_NUMBER: address, YYMMDD, sequence.
    fifteen = NEW_NUMBER[:6] + NEW_NUMBER[8:14] + NEW_NUMBER[14:17]
    request = ask(registry, number=fifteen)

    registry.approvals.approve(registry.reviewer, request.request_id, "已核对",
                               request_id="test-approve")

    assert holders(registry, NEW_NUMBER) == [registry.person_id]
    read = FieldReader(registry.services.store).read(registry.person_id, ["id_number_original"])
    assert read is not None
    assert read.fields["id_number_original"] == fifteen


# -- who may decide --------------------------------------------------------------


def test_own_request_approval_rejected(registry: Registry) -> None:
    both = registry.account("clerk-reviewer", "clerk", "reviewer")
    request = registry.approvals.create(both, KIND, [registry.person_id],
                                        {"id_number": NEW_NUMBER}, "核对有误",
                                        request_id="test-create")

    with pytest.raises(OwnRequestReview) as raised:
        registry.approvals.approve(both, request.request_id, "自己批准", request_id="test-self")

    assert raised.value.code == "REQUEST_OWN_REVIEW"
    listed = registry.approvals.visible_to(registry.reviewer, request_id="t")
    assert listed[0].request.status == PENDING
    assert holders(registry, OLD_NUMBER) == [registry.person_id]
    denied = [r for r in audit_rows(registry, "request.approve") if r["outcome"] == "denied"]
    assert len(denied) == 1
    assert "code=REQUEST_OWN_REVIEW" in denied[0]["reason"]
    assert denied[0]["account_name"] == "clerk-reviewer"


def test_own_request_rejection_rejected(registry: Registry) -> None:
    both = registry.account("clerk-reviewer", "clerk", "reviewer")
    request = registry.approvals.create(both, KIND, [registry.person_id],
                                        {"id_number": NEW_NUMBER}, "核对有误",
                                        request_id="test-create")

    with pytest.raises(OwnRequestReview):
        registry.approvals.reject(both, request.request_id, "撤回", request_id="test-self")


def test_clerk_cannot_approve(registry: Registry) -> None:
    other_clerk = registry.account("clerk2", "clerk")
    request = ask(registry)

    with pytest.raises(AccessDenied) as raised:
        registry.approvals.approve(other_clerk, request.request_id, "批准", request_id="t")

    assert raised.value.code == "ACTION_NOT_PERMITTED"
    assert holders(registry, OLD_NUMBER) == [registry.person_id]


def test_reviewer_outside_jurisdiction_denied(registry: Registry) -> None:
    far = registry.account("reviewer-far", "reviewer", jurisdiction="110101")
    request = ask(registry)

    with pytest.raises(AccessDenied) as raised:
        registry.approvals.approve(far, request.request_id, "批准", request_id="t")

    assert raised.value.code == "OUTSIDE_JURISDICTION"


def test_reviewer_cannot_request(registry: Registry) -> None:
    with pytest.raises(AccessDenied) as raised:
        registry.approvals.create(registry.reviewer, KIND, [registry.person_id],
                                  {"id_number": NEW_NUMBER}, "核对有误", request_id="t")

    assert raised.value.code == "ACTION_NOT_PERMITTED"
    denied = audit_rows(registry, "request.create")
    assert [r["outcome"] for r in denied] == ["denied"]


def test_clerk_outside_jurisdiction_denied(registry: Registry) -> None:
    far = registry.account("clerk-far", "clerk", jurisdiction="110101")

    with pytest.raises(AccessDenied) as raised:
        registry.approvals.create(far, KIND, [registry.person_id], {"id_number": NEW_NUMBER},
                                  "核对有误", request_id="t")

    assert raised.value.code == "OUTSIDE_JURISDICTION"


# -- never taking effect ---------------------------------------------------------


def test_rejected_request_never_applies(registry: Registry) -> None:
    request = ask(registry)

    rejected = registry.approvals.reject(registry.reviewer, request.request_id, "证明材料不足",
                                         request_id="test-reject")
    second = registry.account("reviewer2", "reviewer")
    with pytest.raises(RequestNotPending):
        registry.approvals.approve(second, request.request_id, "批准", request_id="t")

    assert rejected.status == REJECTED
    assert rejected.decision_reason is not None
    assert holders(registry, OLD_NUMBER) == [registry.person_id]
    assert holders(registry, NEW_NUMBER) == []


def test_expired_request_never_applies(registry: Registry) -> None:
    request = ask(registry)
    registry.clock.advance(days=7, seconds=1)

    with pytest.raises(RequestNotPending) as raised:
        registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")

    assert raised.value.code == "REQUEST_EXPIRED"
    assert holders(registry, OLD_NUMBER) == [registry.person_id]
    expired = audit_rows(registry, "request.expire")
    assert len(expired) == 1
    assert expired[0]["subject_ids"] == [str(registry.person_id)]


def test_request_open_until_expiry(registry: Registry) -> None:
    request = ask(registry)
    registry.clock.advance(days=6, hours=23)

    done = registry.approvals.approve(registry.reviewer, request.request_id, "批准",
                                      request_id="t")

    assert done.status == APPLIED
    assert request.expires_at - request.created_at == timedelta(days=7)


def test_expiry_setting_shortens_wait(registry: Registry) -> None:
    with registry.services.store.db.transaction() as tx:
        tx.execute("INSERT INTO {settings} (key, value) VALUES (?, ?)",
                   ("request_expiry_days", "2"))
    request = ask(registry)
    registry.clock.advance(days=2)

    expired = registry.approvals.expire_due(request_id="t")

    assert request.expires_at - request.created_at == timedelta(days=2)
    assert expired == [request.request_id]


def test_expiry_argument_overrides_default(registry: Registry) -> None:
    approvals = Approvals(registry.services, registry.policy, expiry=timedelta(hours=1))
    request = approvals.create(registry.clerk, KIND, [registry.person_id],
                               {"id_number": NEW_NUMBER}, "核对有误", request_id="t")

    assert request.expires_at - request.created_at == timedelta(hours=1)


def test_decided_request_not_decided_again(registry: Registry) -> None:
    request = ask(registry)
    registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")
    second = registry.account("reviewer2", "reviewer")

    with pytest.raises(RequestNotPending) as raised:
        registry.approvals.reject(second, request.request_id, "驳回", request_id="t")

    assert raised.value.code == "REQUEST_NOT_PENDING"


# -- the new number --------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (NEW_NUMBER[:17] + ("0" if NEW_NUMBER[17] != "0" else "1"), "ID_CHECKSUM"),
        ("", "ID_MISSING"),
        (with_check("33102420991231001"), "ID_DATE_FUTURE"),
    ],
    ids=["wrong-check", "blank", "future-birth"],
)
def test_invalid_number_rejected(registry: Registry, number: str, code: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        ask(registry, number=number)

    assert raised.value.code == code
    assert registry.approvals.visible_to(registry.clerk, request_id="t") == []
    invalid = audit_rows(registry, "request.create")
    assert [r["outcome"] for r in invalid] == ["invalid"]


def test_number_of_another_rejected(registry: Registry) -> None:
    registry.register(OTHER_NUMBER)

    with pytest.raises(InvalidValue) as raised:
        ask(registry, number=OTHER_NUMBER)

    assert raised.value.code == "ID_NUMBER_TAKEN"


def test_current_number_rejected(registry: Registry) -> None:
    with pytest.raises(InvalidValue) as raised:
        ask(registry, number=OLD_NUMBER)

    assert raised.value.code == "ID_NUMBER_UNCHANGED"


def test_number_taken_before_approval(registry: Registry) -> None:
    request = ask(registry)
    registry.register(NEW_NUMBER)

    with pytest.raises(InvalidValue) as raised:
        registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")

    assert raised.value.code == "ID_NUMBER_TAKEN"
    assert holders(registry, OLD_NUMBER) == [registry.person_id]


def test_second_pending_request_rejected(registry: Registry) -> None:
    ask(registry)

    with pytest.raises(InvalidValue) as raised:
        ask(registry, number=OTHER_NUMBER)

    assert raised.value.code == "REQUEST_ALREADY_PENDING"


def test_reason_required(registry: Registry) -> None:
    with pytest.raises(InvalidValue) as raised:
        ask(registry, reason="   ")

    assert raised.value.code == "REASON_MISSING"


# -- no plaintext at rest ----------------------------------------------------------


def test_payload_and_reason_sealed(registry: Registry) -> None:
    reason = "户口簿第三页号码为准"
    request = ask(registry, reason=reason)

    with registry.services.store.db.transaction(commit=False) as tx:
        row = dict(tx.execute("SELECT * FROM {requests}").fetchone())
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values()
                      if v is not None)
    audit = repr(registry.services.audit.records())

    assert NEW_NUMBER.encode() not in stored
    assert reason.encode() not in stored
    assert NEW_NUMBER not in audit
    assert reason not in audit
    cipher = registry.services.store.keys.cipher(registry.person_id)
    opened = cipher.decrypt(bytes(row["payload"]), subject_id=registry.person_id,
                            field=sealed_field(KIND, ""), originator_id=request.request_id,
                            originator_version=0)
    assert NEW_NUMBER.encode() in opened


# -- listing -----------------------------------------------------------------------


def test_reviewer_sees_masked_number(registry: Registry) -> None:
    ask(registry, reason="核对有误")

    views = registry.approvals.visible_to(registry.reviewer, request_id="t")

    assert len(views) == 1
    assert views[0].reason == "核对有误"
    assert views[0].details["id_number"] == NEW_NUMBER[:6] + "********" + NEW_NUMBER[-4:]
    listed = audit_rows(registry, "request.list")
    assert listed[-1]["subject_ids"] == [str(registry.person_id)]
    assert listed[-1]["fields"] == ["id_number"]


def test_clerk_sees_full_number(registry: Registry) -> None:
    ask(registry)

    views = registry.approvals.visible_to(registry.clerk, request_id="t")

    assert views[0].details["id_number"] == NEW_NUMBER


def test_other_county_sees_nothing(registry: Registry) -> None:
    far = registry.account("reviewer-far", "reviewer", jurisdiction="110101")
    ask(registry)

    assert registry.approvals.visible_to(far, request_id="t") == []


def test_admin_sees_nothing(registry: Registry) -> None:
    admin = registry.account("admin1", "system-admin", jurisdiction="")
    ask(registry)

    assert registry.approvals.visible_to(admin, request_id="t") == []


# -- a kind whose write fails ------------------------------------------------------


class _FailingKind:
    """A kind whose write raises after the approval, to test the failed status."""

    name = "test_failing_write"
    label_zh = "测试"
    label_en = "test"
    fields: tuple[str, ...] = ()

    def prepare(self, services: Services, subject_ids: Sequence[UUID],
                details: Mapping[str, str]) -> dict[str, Any]:
        return {}

    def check(self, services: Services, request: ApprovalRequest,
              payload: Mapping[str, Any]) -> None:
        return None

    def apply(self, services: Services, request: ApprovalRequest, payload: Mapping[str, Any],
              actor: Actor, rows: Rows) -> None:
        raise InvalidValue("写入失败。", "The write failed.", code="TEST_WRITE_FAILED")

    def describe(self, payload: Mapping[str, Any], masks: Mapping[str, str],
                 context: MaskContext) -> dict[str, str | None]:
        return {}


def test_failed_write_marks_failed(registry: Registry) -> None:
    register_kind(_FAILING)
    request = registry.approvals.create(registry.clerk, _FAILING.name, [registry.person_id], {},
                                        "测试", request_id="t")

    with pytest.raises(InvalidValue):
        registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")

    views = registry.approvals.visible_to(registry.reviewer, request_id="t", statuses=(FAILED,))
    assert [v.request.failure_code for v in views] == ["TEST_WRITE_FAILED"]
    applied = audit_rows(registry, "request.apply")
    assert [r["outcome"] for r in applied] == ["invalid"]


_FAILING = _FailingKind()


def test_expired_status_listed(registry: Registry) -> None:
    ask(registry)
    registry.clock.advance(days=8)

    views = registry.approvals.visible_to(registry.clerk, request_id="t", statuses=(EXPIRED,))

    assert [v.request.status for v in views] == [EXPIRED]


class _RacingKind(_FailingKind):
    """A kind whose check lets another reviewer reject the request first, as a race would."""

    name = "test_racing_reject"

    def __init__(self) -> None:
        self.applied = False

    def check(self, services: Services, request: ApprovalRequest,
              payload: Mapping[str, Any]) -> None:
        table = RequestTable(services.store.db)
        assert table.transition(request.request_id, expected=PENDING, status=REJECTED)

    def apply(self, services: Services, request: ApprovalRequest, payload: Mapping[str, Any],
              actor: Actor, rows: Rows) -> None:
        self.applied = True


_RACING = _RacingKind()


def test_rejection_wins_race(registry: Registry) -> None:
    racing = _RACING
    racing.applied = False
    register_kind(racing)
    request = registry.approvals.create(registry.clerk, racing.name, [registry.person_id], {},
                                        "测试", request_id="t")

    with pytest.raises(RequestNotPending):
        registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")

    assert racing.applied is False
    stored = RequestTable(registry.services.store.db).get(request.request_id)
    assert stored is not None
    assert stored.status == REJECTED


def test_child_review_denied_by_policy(registry: Registry) -> None:
    # Pins the shipped policy's current rule: reviewers see nothing of a child, and
    # ``decide`` denies them review of a child's record too.
    child = registry.register(with_check("33102420200601002"))
    request = registry.approvals.create(registry.clerk, KIND, [child],
                                        {"id_number": with_check("33102420200602004")},
                                        "出生日期登记有误", request_id="t")

    with pytest.raises(AccessDenied) as raised:
        registry.approvals.approve(registry.reviewer, request.request_id, "批准", request_id="t")

    assert raised.value.code == "MINOR_DATA_SENSITIVE"
