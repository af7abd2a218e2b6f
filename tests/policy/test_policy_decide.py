"""The decision function: jurisdiction, purposes, minors, multiple roles and fail-closed cases."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from uuid import uuid4

import pytest

from vault.errors import AccessDenied
from vault.policy import (
    WHOLE_COUNTRY,
    PolicySet,
    Principal,
    Request,
    check_admin_separation,
    decide,
)

VILLAGE = "331024100201"
OTHER_VILLAGE = "331024100202"


def _principal(*roles: str, jurisdiction: str = VILLAGE, department: str | None = None):
    return Principal(uuid4(), frozenset(roles), jurisdiction, department)


def _adult(action: str = "person.read", village_code: str | None = VILLAGE) -> Request:
    return Request(action, village_code=village_code, subject_is_minor=False)


def test_clerk_inside_jurisdiction_allowed(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("clerk"), _adult())

    assert decision.allowed
    assert decision.jurisdiction == VILLAGE
    assert decision.granted_by == ("clerk",)


def test_clerk_outside_jurisdiction_denied(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("clerk"), _adult(village_code=OTHER_VILLAGE))

    assert not decision.allowed
    assert decision.reason_code == "OUTSIDE_JURISDICTION"
    assert decision.fields == {}
    assert decision.jurisdiction is None


def test_township_clerk_reads_its_villages(shipped_policy: PolicySet) -> None:
    clerk = _principal("clerk", jurisdiction="331024100")

    assert decide(shipped_policy, clerk, _adult(village_code=VILLAGE)).allowed
    assert decide(shipped_policy, clerk, _adult(village_code=OTHER_VILLAGE)).allowed
    assert not decide(shipped_policy, clerk, _adult(village_code="331024101201")).allowed


def test_empty_jurisdiction_denies_everything(shipped_policy: PolicySet) -> None:
    clerk = _principal("clerk", jurisdiction="")

    for request in (_adult(), _adult("person.list", None), _adult("person.search", "33")):
        decision = decide(shipped_policy, clerk, request)
        assert not decision.allowed
        assert decision.reason_code == "JURISDICTION_MISSING"


@pytest.mark.parametrize("jurisdiction", ["3310241", "33102", "abc", "３３", "*", "331024 "])
def test_malformed_jurisdiction_denied(shipped_policy: PolicySet, jurisdiction: str) -> None:
    decision = decide(shipped_policy, _principal("clerk", jurisdiction=jurisdiction), _adult())

    assert not decision.allowed
    assert decision.reason_code == "JURISDICTION_INVALID"


def test_whole_country_must_be_explicit(shipped_policy: PolicySet) -> None:
    clerk = _principal("clerk", jurisdiction=WHOLE_COUNTRY)

    read = decide(shipped_policy, clerk, _adult(village_code="110101001001"))
    listing = decide(shipped_policy, clerk, _adult("person.list", None))

    assert read.allowed
    assert listing.jurisdiction == WHOLE_COUNTRY
    assert listing.covers("650102001001")


def test_whole_country_scope_narrowed(shipped_policy: PolicySet) -> None:
    clerk = decide(shipped_policy, _principal("clerk"), _adult("person.list", WHOLE_COUNTRY))
    national = _principal("clerk", jurisdiction=WHOLE_COUNTRY)
    everywhere = decide(shipped_policy, national, _adult("person.search", WHOLE_COUNTRY))
    single = decide(shipped_policy, national, _adult("person.read", WHOLE_COUNTRY))

    assert clerk.jurisdiction == VILLAGE
    assert everywhere.jurisdiction == WHOLE_COUNTRY
    assert single.reason_code == "SCOPE_INVALID"


def test_single_record_needs_village_code(shipped_policy: PolicySet) -> None:
    for village_code, reason in ((None, "SCOPE_MISSING"), ("331024", "SCOPE_INVALID")):
        decision = decide(shipped_policy, _principal("clerk"), _adult(village_code=village_code))
        assert not decision.allowed
        assert decision.reason_code == reason


def test_list_without_scope_uses_jurisdiction(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("clerk"), _adult("person.list", None))

    assert decision.allowed
    assert decision.jurisdiction == VILLAGE
    assert decision.covers(VILLAGE)
    assert not decision.covers(OTHER_VILLAGE)


def test_wider_list_scope_narrowed(shipped_policy: PolicySet) -> None:
    clerk = _principal("clerk", jurisdiction="331024100")

    wider = decide(shipped_policy, clerk, _adult("person.search", "331024"))
    narrower = decide(shipped_policy, clerk, _adult("person.list", VILLAGE))
    elsewhere = decide(shipped_policy, clerk, _adult("person.list", "331025"))

    assert wider.jurisdiction == "331024100"
    assert narrower.jurisdiction == VILLAGE
    assert not elsewhere.allowed
    assert elsewhere.reason_code == "OUTSIDE_JURISDICTION"


def test_reviewer_needs_minor_status(shipped_policy: PolicySet) -> None:
    unknown = Request("person.read", village_code=VILLAGE)

    reviewer = decide(shipped_policy, _principal("reviewer"), unknown)
    clerk = decide(shipped_policy, _principal("clerk"), unknown)

    assert reviewer.reason_code == "MINOR_STATUS_REQUIRED"
    assert clerk.allowed


def test_reviewer_list_excludes_children(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("reviewer"), Request("person.list"))

    assert decision.allowed
    assert decision.fields["name"] == "name"
    assert decision.fields_for(is_minor=True) == {}


def test_multiple_roles_union_keeps_most_revealing(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("clerk", "reviewer"), _adult())

    assert decision.allowed
    assert decision.fields["name"] == "full"
    assert decision.fields["remark"] == "full"
    assert decision.granted_by == ("clerk", "reviewer")


def test_multiple_roles_only_permitting_roles_count(shipped_policy: PolicySet) -> None:
    principal = _principal("reviewer", "department", department="health")

    review = decide(shipped_policy, principal, _adult("request.review"))
    extract = decide(
        shipped_policy,
        principal,
        Request("extract.receive", purpose="vaccination", subject_is_minor=False),
    )

    assert review.granted_by == ("reviewer",)
    assert review.fields["id_number"] == "id_number"
    assert extract.granted_by == ("department",)
    assert "household_number" not in extract.fields


@pytest.mark.parametrize(
    "roles",
    [
        ("system-admin", "security-admin"),
        ("system-admin", "security-officer"),
        ("security-admin", "security-officer"),
        ("clerk", "system-admin", "security-officer"),
    ],
)
def test_admin_pair_denied_everything(shipped_policy: PolicySet, roles: tuple[str, ...]) -> None:
    for action in ("account.manage", "key.manage", "audit.read", "person.read"):
        decision = decide(shipped_policy, _principal(*roles), _adult(action))
        assert not decision.allowed
        assert decision.reason_code == "ADMIN_SEPARATION"


def test_admin_actions_allowed_without_fields(shipped_policy: PolicySet) -> None:
    cases = {
        "system-admin": "account.manage",
        "security-admin": "policy.manage",
        "security-officer": "audit.verify",
    }
    for role, action in cases.items():
        decision = decide(shipped_policy, _principal(role), Request(action))
        assert decision.allowed, role
        assert decision.fields == {}, role
        assert decision.jurisdiction is None, role


def test_admins_lack_each_others_powers(shipped_policy: PolicySet) -> None:
    cases = {
        "system-admin": ("key.manage", "audit.read", "policy.manage"),
        "security-admin": ("account.manage", "audit.read", "audit.verify"),
        "security-officer": ("account.manage", "key.manage", "policy.manage"),
    }
    for role, actions in cases.items():
        for action in actions:
            decision = decide(shipped_policy, _principal(role), Request(action))
            assert decision.reason_code == "ACTION_NOT_PERMITTED", (role, action)


def test_unknown_action_and_roles_denied(shipped_policy: PolicySet) -> None:
    unknown_action = decide(shipped_policy, _principal("clerk"), _adult("person.delete"))
    no_role = decide(shipped_policy, _principal(), _adult())
    unknown_role = decide(shipped_policy, _principal("superuser"), _adult())

    assert unknown_action.reason_code == "ACTION_UNKNOWN"
    assert no_role.reason_code == "NO_ROLE"
    assert unknown_role.reason_code == "ROLE_UNKNOWN"


@pytest.mark.parametrize(
    ("department", "purpose", "reason"),
    [
        (None, "vaccination", "DEPARTMENT_MISSING"),
        ("health", None, "PURPOSE_MISSING"),
        ("health", "school-enrolment", "PURPOSE_NOT_LISTED"),
        ("tax", "vaccination", "DEPARTMENT_UNKNOWN"),
    ],
)
def test_department_needs_department_and_purpose(
    shipped_policy: PolicySet, department: str | None, purpose: str | None, reason: str
) -> None:
    principal = _principal("department", jurisdiction="331024", department=department)
    request = Request("extract.request", purpose=purpose, subject_is_minor=False)

    decision = decide(shipped_policy, principal, request)

    assert not decision.allowed
    assert decision.reason_code == reason


def test_department_extract_scoped_to_jurisdiction(shipped_policy: PolicySet) -> None:
    principal = _principal("department", jurisdiction="331024", department="education")
    inside = Request("extract.request", purpose="school-enrolment", village_code="331024100")
    outside = Request("extract.request", purpose="school-enrolment", village_code="331025")

    assert decide(shipped_policy, principal, inside).jurisdiction == "331024100"
    assert decide(shipped_policy, principal, outside).reason_code == "OUTSIDE_JURISDICTION"


def test_decision_records_policy_version(shipped_policy: PolicySet) -> None:
    allowed = decide(shipped_policy, _principal("clerk"), _adult())
    denied = decide(shipped_policy, _principal("clerk"), _adult(village_code=OTHER_VILLAGE))

    assert allowed.policy_version == shipped_policy.version
    assert denied.policy_version == shipped_policy.version
    assert allowed.as_audit()["policy_version"] == shipped_policy.version
    assert denied.as_audit()["reason_code"] == "OUTSIDE_JURISDICTION"


def test_denial_messages_in_both_languages(shipped_policy: PolicySet) -> None:
    decision = decide(shipped_policy, _principal("clerk"), _adult(village_code=OTHER_VILLAGE))

    with pytest.raises(AccessDenied) as caught:
        decision.raise_if_denied()

    assert caught.value.code == "OUTSIDE_JURISDICTION"
    assert "辖区" in caught.value.message_zh
    assert "jurisdiction" in caught.value.message_en
    assert OTHER_VILLAGE not in caught.value.message_en


@pytest.mark.parametrize(
    ("roles", "problem"),
    [
        ({"clerk", "reviewer"}, False),
        ({"system-admin"}, False),
        ({"security-officer", "reviewer"}, False),
        ({"system-admin", "security-admin"}, True),
        ({"security-admin", "security-officer"}, True),
        ({"system-admin", "security-officer", "clerk"}, True),
    ],
)
def test_admin_separation_by_name(roles: set[str], problem: bool) -> None:
    found = check_admin_separation(roles)

    assert (found is not None) is problem
    if found is not None:
        assert found.code == "ADMIN_SEPARATION"
        assert "三权分立" in found.message_zh


def test_admin_separation_by_permissions(shipped_policy: PolicySet) -> None:
    auditor_like = replace(
        shipped_policy.roles["reviewer"], name="log-reader", permissions=frozenset({"audit.read"})
    )
    roles = MappingProxyType({**shipped_policy.roles, "log-reader": auditor_like})
    policy = replace(shipped_policy, roles=roles)

    assert check_admin_separation({"log-reader", "system-admin"}) is None
    assert check_admin_separation({"log-reader", "system-admin"}, policy) is not None
    assert check_admin_separation({"log-reader", "reviewer"}, policy) is None
