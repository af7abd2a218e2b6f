"""Hand-written expectations of the shipped policy, for the golden and property tests.

These tables are written from the registry's rules, not generated from the TOML
files: a change to the shipped policy that they do not expect fails the tests, so
every change to what a role or department sees gets reviewed here too.
"""

from __future__ import annotations

# What reviewers and security officers see of an adult: the display mask where a
# field has one, general fields without one in full, no sensitive field (None).
MASKED_VIEW: dict[str, str | None] = {
    "village_code": "full",
    "sex": "full",
    "birth_year": "full",
    "resident_category": "full",
    "record_status": "full",
    "name": "name",
    "ethnicity": None,
    "birth_date": "birth_year",
    "id_type": "full",
    "id_number": "id_number",
    "id_number_original": "id_number",
    "registered_address": "address",
    "group": "hidden",
    "house_number": "hidden",
    "current_address": "address",
    "current_county": "full",
    "household_number": "full",
    "relationship": "full",
    "marital_status": None,
    "education": "full",
    "hukou_type": "full",
    "phone": "phone",
    "move_date": None,
    "move_place": None,
    "move_county": None,
    "move_reason": None,
    "marriage_cert_number": None,
    "remark": None,
    "household_address": "address",
}

SENSITIVE_FIELDS = frozenset(key for key, mask in MASKED_VIEW.items() if mask is None)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "clerk": frozenset(
        {
            "person.read",
            "person.search",
            "person.list",
            "person.write",
            "person.import",
            "request.create",
        }
    ),
    "reviewer": frozenset({"person.read", "person.search", "person.list", "request.review"}),
    "security-officer": frozenset(
        {
            "person.read",
            "person.search",
            "audit.read",
            "audit.verify",
            "anomaly.report",
            "policy.read",
        }
    ),
    "security-admin": frozenset({"key.manage", "policy.manage", "policy.read"}),
    "system-admin": frozenset({"account.manage", "settings.manage"}),
    "department": frozenset({"extract.request", "extract.receive"}),
}

# Per role: the view of an adult and of a child under 14, for record actions.
# "full" stands for every field unmasked; None for no field at all.
ROLE_VIEWS: dict[str, tuple[str | None, str | None]] = {
    "clerk": ("full", "full"),
    "reviewer": ("masked", None),
    "security-officer": ("masked", None),
    "security-admin": (None, None),
    "system-admin": (None, None),
    "department": ("department", "department"),
}

# Per department: whether children's records may go to it, and per purpose the
# fields it receives with their masks. A field not listed is not sent.
DEPARTMENTS: dict[str, tuple[bool, dict[str, dict[str, str]]]] = {
    "public-security": (
        True,
        {
            "hukou-check": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "ethnicity": "full",
                "id_type": "full",
                "id_number": "full",
                "registered_address": "full",
                "household_number": "full",
                "relationship": "full",
                "hukou_type": "full",
            },
            "floating-population": {
                "village_code": "full",
                "name": "full",
                "id_number": "full",
                "current_address": "full",
                "phone": "full",
                "move_date": "full",
                "move_place": "full",
                "move_county": "full",
                "move_reason": "full",
            },
        },
    ),
    "civil-affairs": (
        True,
        {
            "social-assistance": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "full",
                "household_number": "full",
                "relationship": "full",
                "household_address": "full",
                "marital_status": "full",
                "resident_category": "full",
                "phone": "phone",
            },
        },
    ),
    "health": (
        True,
        {
            "family-planning": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "full",
                "marital_status": "full",
                "marriage_cert_number": "full",
                "current_address": "full",
                "phone": "full",
            },
            "vaccination": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "id_number",
                "current_address": "full",
                "phone": "full",
            },
        },
    ),
    "education": (
        True,
        {
            "school-enrolment": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "full",
                "hukou_type": "full",
                "registered_address": "full",
                "household_address": "full",
                "relationship": "full",
            },
        },
    ),
    "military-service": (
        False,
        {
            "conscription-registration": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "full",
                "education": "full",
                "registered_address": "full",
                "current_address": "address",
                "phone": "phone",
            },
        },
    ),
    "statistics": (
        True,
        {
            "population-statistics": {
                "village_code": "full",
                "sex": "full",
                "birth_year": "full",
                "birth_date": "age_band",
                "id_number": "pseudonym",
                "ethnicity": "full",
                "education": "full",
                "hukou_type": "full",
                "resident_category": "full",
            },
        },
    ),
    "medical-insurance": (
        True,
        {
            "enrolment-check": {
                "village_code": "full",
                "name": "full",
                "sex": "full",
                "birth_date": "full",
                "id_number": "full",
                "household_number": "full",
                "resident_category": "full",
                "hukou_type": "full",
                "phone": "phone",
            },
        },
    ),
}

RECORD_ACTIONS = frozenset(
    {
        "person.read",
        "person.search",
        "person.list",
        "person.write",
        "person.import",
        "request.create",
        "request.review",
        "extract.request",
        "extract.receive",
    }
)
ADMIN_ROLES = ("system-admin", "security-admin", "security-officer")


def expected_fields(
    role: str, *, minor: bool, department: str | None = None, purpose: str | None = None
) -> dict[str, str]:
    """Return the fields and masks one role grants on a record, from the tables above."""
    adult_view, minor_view = ROLE_VIEWS[role]
    view = minor_view if minor else adult_view
    if view is None:
        return {}
    if view == "full":
        return dict.fromkeys(MASKED_VIEW, "full")
    if view == "masked":
        return {key: mask for key, mask in MASKED_VIEW.items() if mask is not None}
    if department not in DEPARTMENTS:
        return {}
    receives_minors, purposes = DEPARTMENTS[department]
    if purpose not in purposes or (minor and not receives_minors):
        return {}
    return dict(purposes[purpose])
