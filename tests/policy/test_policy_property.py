"""Property: no generated account and request gets more than the hand-written tables grant."""

from __future__ import annotations

from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_golden import (
    ADMIN_ROLES,
    DEPARTMENTS,
    RECORD_ACTIONS,
    ROLE_PERMISSIONS,
    expected_fields,
)

from vault.policy import ACTIONS, MASKS, WHOLE_COUNTRY, Decision, PolicySet, Principal, Request
from vault.policy import decide as decide_policy

DIVISIONS = ["33", "3310", "331024", "331024100", "331024100201", "331024100202", "331025100201"]
JURISDICTIONS = [*DIVISIONS, "", WHOLE_COUNTRY, "3310241", "abc"]
PURPOSES = [*sorted({p for _, purposes in DEPARTMENTS.values() for p in purposes}), "spying"]
SINGLE_RECORD = {"person.read", "person.write", "request.create", "request.review"}

principals = st.builds(
    Principal,
    account_id=st.just(UUID(int=1)),
    roles=st.frozensets(st.sampled_from([*ROLE_PERMISSIONS, "superuser"]), max_size=4),
    jurisdiction=st.sampled_from(JURISDICTIONS),
    department=st.none() | st.sampled_from([*DEPARTMENTS, "tax"]),
)
requests = st.builds(
    Request,
    action=st.sampled_from([*sorted(ACTIONS), "person.delete"]),
    purpose=st.none() | st.sampled_from(PURPOSES),
    village_code=st.none() | st.sampled_from([*DIVISIONS, WHOLE_COUNTRY, "33102410020", "x"]),
    subject_is_minor=st.none() | st.booleans(),
)


def _allowed_masks(principal: Principal, request: Request, *, minor: bool) -> dict[str, set[str]]:
    """Return, per field, the masks some role of the principal grants for the request."""
    masks: dict[str, set[str]] = {}
    for role in principal.roles & ROLE_PERMISSIONS.keys():
        if request.action not in ROLE_PERMISSIONS[role]:
            continue
        grants = expected_fields(
            role, minor=minor, department=principal.department, purpose=request.purpose
        )
        for key, mask in grants.items():
            masks.setdefault(key, set()).add(mask)
    return masks


def _within(code: str, jurisdiction: str) -> bool:
    return jurisdiction == WHOLE_COUNTRY or (jurisdiction != "" and code.startswith(jurisdiction))


def _check_fields(granted: dict[str, str], allowed: dict[str, set[str]]) -> None:
    for key, mask in granted.items():
        assert key in allowed, key
        assert mask in allowed[key], (key, mask)
        # The union keeps the most revealing grant, never a stronger one than granted.
        assert MASKS[mask].reveal_rank == max(MASKS[m].reveal_rank for m in allowed[key])


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(principal=principals, request=requests)
def test_decision_within_policy(
    shipped_policy: PolicySet, principal: Principal, request: Request
) -> None:
    decision: Decision = decide_policy(shipped_policy, principal, request)

    assert decision.policy_version == shipped_policy.version
    if not decision.allowed:
        assert decision.fields == {}
        assert decision.minor_fields == {}
        return

    # No account holding two administrators' powers, or no known permitting role, passes.
    assert len(principal.roles & set(ADMIN_ROLES)) < 2
    assert any(
        request.action in ROLE_PERMISSIONS.get(role, frozenset()) for role in principal.roles
    )
    if request.action not in RECORD_ACTIONS:
        assert decision.fields == {}
        assert decision.jurisdiction is None
        return

    # Records only inside the account's own jurisdiction.
    assert decision.jurisdiction is not None
    assert decision.jurisdiction == WHOLE_COUNTRY or _within(
        decision.jurisdiction, principal.jurisdiction
    )
    if request.action in SINGLE_RECORD:
        assert request.village_code is not None
        assert len(request.village_code) == 12
        assert _within(request.village_code, principal.jurisdiction)

    # Fields and masks only as the tables grant, and nothing of a child beyond them.
    minor = request.subject_is_minor is True
    _check_fields(dict(decision.fields), _allowed_masks(principal, request, minor=minor))
    _check_fields(dict(decision.minor_fields), _allowed_masks(principal, request, minor=True))
