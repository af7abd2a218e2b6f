"""Golden tests: every role and department against every field of the catalogue."""

from __future__ import annotations

from uuid import uuid4

import pytest
from policy_golden import (
    DEPARTMENTS,
    MASKED_VIEW,
    ROLE_PERMISSIONS,
    SENSITIVE_FIELDS,
    expected_fields,
)

from vault.domain.fields import FIELDS
from vault.policy import PolicySet, Principal, Request, decide

VILLAGE = "331024100201"
CATALOGUE = [field.key for field in FIELDS]


def _read(policy: PolicySet, role: str, *, minor: bool, action: str = "person.read"):
    principal = Principal(uuid4(), frozenset({role}), VILLAGE[:9])
    return decide(policy, principal, Request(action, village_code=VILLAGE, subject_is_minor=minor))


def test_golden_tables_cover_catalogue() -> None:
    assert list(MASKED_VIEW) == CATALOGUE


def test_field_classes_match(shipped_policy: PolicySet) -> None:
    for key in CATALOGUE:
        expected = "sensitive" if key in SENSITIVE_FIELDS else "general"
        assert shipped_policy.fields[key].sensitivity == expected, key


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_role_permissions(shipped_policy: PolicySet, role: str) -> None:
    assert shipped_policy.roles[role].permissions == ROLE_PERMISSIONS[role]


def test_no_extra_roles(shipped_policy: PolicySet) -> None:
    assert set(shipped_policy.roles) == set(ROLE_PERMISSIONS)


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
@pytest.mark.parametrize("minor", [False, True])
def test_role_person_read_every_field(shipped_policy: PolicySet, role: str, minor: bool) -> None:
    decision = _read(shipped_policy, role, minor=minor)
    expected = expected_fields(role, minor=minor) if "person.read" in ROLE_PERMISSIONS[role] else {}

    for key in CATALOGUE:
        assert decision.fields.get(key) == expected.get(key), (role, minor, key)
    assert decision.allowed == bool(expected)


def test_clerk_sees_everything_in_full(shipped_policy: PolicySet) -> None:
    decision = _read(shipped_policy, "clerk", minor=False)

    assert decision.allowed
    assert dict(decision.fields) == dict.fromkeys(CATALOGUE, "full")


@pytest.mark.parametrize("role", ["reviewer", "security-officer"])
def test_masked_roles_denied_children(shipped_policy: PolicySet, role: str) -> None:
    decision = _read(shipped_policy, role, minor=True)

    assert not decision.allowed
    assert decision.reason_code == "MINOR_DATA_SENSITIVE"


@pytest.mark.parametrize("role", ["reviewer", "security-officer"])
def test_masked_roles_never_get_sensitive(shipped_policy: PolicySet, role: str) -> None:
    decision = _read(shipped_policy, role, minor=False)

    assert SENSITIVE_FIELDS.isdisjoint(decision.fields)


@pytest.mark.parametrize("role", ["system-admin", "security-admin", "department"])
@pytest.mark.parametrize("action", ["person.read", "person.search", "person.list"])
def test_role_denied_direct_lookup(shipped_policy: PolicySet, role: str, action: str) -> None:
    decision = _read(shipped_policy, role, minor=False, action=action)

    assert not decision.allowed
    assert decision.reason_code == "ACTION_NOT_PERMITTED"
    assert decision.fields == {}


def test_department_list_matches(shipped_policy: PolicySet) -> None:
    assert set(shipped_policy.departments) == set(DEPARTMENTS)
    for name, (receives_minors, purposes) in DEPARTMENTS.items():
        department = shipped_policy.departments[name]
        assert department.receives_minors is receives_minors, name
        assert set(department.purposes) == set(purposes), name


DEPARTMENT_PURPOSES = [
    (department, purpose)
    for department, (_, purposes) in sorted(DEPARTMENTS.items())
    for purpose in sorted(purposes)
]


@pytest.mark.parametrize(("department", "purpose"), DEPARTMENT_PURPOSES)
@pytest.mark.parametrize("minor", [False, True])
@pytest.mark.parametrize("action", ["extract.request", "extract.receive"])
def test_department_every_field(
    shipped_policy: PolicySet, department: str, purpose: str, minor: bool, action: str
) -> None:
    principal = Principal(uuid4(), frozenset({"department"}), "331024", department)
    request = Request(action, purpose=purpose, village_code="331024", subject_is_minor=minor)
    expected = expected_fields("department", minor=minor, department=department, purpose=purpose)

    decision = decide(shipped_policy, principal, request)

    for key in CATALOGUE:
        assert decision.fields.get(key) == expected.get(key), (department, purpose, minor, key)
    assert decision.allowed == bool(expected)


def test_military_service_gets_no_children(shipped_policy: PolicySet) -> None:
    principal = Principal(uuid4(), frozenset({"department"}), "331024", "military-service")
    request = Request("extract.receive", purpose="conscription-registration", village_code="331024")

    decision = decide(shipped_policy, principal, request)

    assert decision.allowed
    assert decision.minor_fields == {}
    assert decision.fields_for(is_minor=True) == {}
    assert decision.fields_for(is_minor=False)["name"] == "full"
