"""The loaded policy: field rules, roles, departments, and the rules no file may change.

The dataclasses here are frozen and hold only validated values; ``vault.policy.loader``
builds them from the TOML files. The constants below are fixed in code on purpose:
the separation of the three administrators and the meaning of each action are
requirements of the law and of the design, not settings a policy file may relax.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Sensitivity = Literal["general", "sensitive"]
JurisdictionRule = Literal["account", "none"]
FieldView = Literal["full", "masked", "department", "none"]

SENSITIVITIES: tuple[str, ...] = ("general", "sensitive")
JURISDICTION_RULES: tuple[str, ...] = ("account", "none")
FIELD_VIEWS: tuple[str, ...] = ("full", "masked", "department", "none")

# -- actions --------------------------------------------------------------

PERSON_READ = "person.read"
PERSON_SEARCH = "person.search"
PERSON_LIST = "person.list"
PERSON_WRITE = "person.write"
PERSON_IMPORT = "person.import"
REQUEST_CREATE = "request.create"
REQUEST_REVIEW = "request.review"
EXTRACT_REQUEST = "extract.request"
EXTRACT_RECEIVE = "extract.receive"

RECORD_ACTIONS: frozenset[str] = frozenset(
    {
        PERSON_READ,
        PERSON_SEARCH,
        PERSON_LIST,
        PERSON_WRITE,
        PERSON_IMPORT,
        REQUEST_CREATE,
        REQUEST_REVIEW,
        EXTRACT_REQUEST,
        EXTRACT_RECEIVE,
    }
)
"""Actions that touch personal data: each needs a jurisdiction and a field decision."""

SINGLE_RECORD_ACTIONS: frozenset[str] = frozenset(
    {PERSON_READ, PERSON_WRITE, REQUEST_CREATE, REQUEST_REVIEW}
)
"""Record actions on one person, whose division code the request must name."""

BROWSE_ACTIONS: frozenset[str] = frozenset(
    {PERSON_READ, PERSON_SEARCH, PERSON_LIST, PERSON_WRITE, PERSON_IMPORT}
)
"""Direct use of the registry, which department users may never hold."""

EXTRACT_ACTIONS: frozenset[str] = frozenset({EXTRACT_REQUEST, EXTRACT_RECEIVE})

# The powers of the three administrators (三权分立). No role and no account may
# hold the powers of two of them.
ADMIN_POWERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "system-admin": frozenset({"account.manage", "settings.manage"}),
        "security-admin": frozenset({"key.manage", "policy.manage"}),
        "security-officer": frozenset({"audit.read", "audit.verify", "anomaly.report"}),
    }
)
ADMIN_ROLES: tuple[str, ...] = tuple(ADMIN_POWERS)

OTHER_ACTIONS: frozenset[str] = frozenset({"policy.read"})

ACTIONS: frozenset[str] = RECORD_ACTIONS | OTHER_ACTIONS | frozenset().union(*ADMIN_POWERS.values())
"""Every permission a role may list; the loader rejects any other name."""

STANDARD_ROLES: tuple[str, ...] = (
    "clerk",
    "reviewer",
    "security-officer",
    "security-admin",
    "system-admin",
    "department",
)

WHOLE_COUNTRY = "CN"
"""The explicit jurisdiction of an account that may see every division.

An empty jurisdiction never means "everything": it matches no record.
"""


def admin_groups_of(role_name: str, permissions: Iterable[str]) -> set[str]:
    """Return the administrator roles whose powers a role holds, by name or by permission."""
    granted = set(permissions)
    groups = {group for group, powers in ADMIN_POWERS.items() if granted & powers}
    if role_name in ADMIN_POWERS:
        groups.add(role_name)
    return groups


MIN_MINOR_AGE = 14
MAX_MINOR_AGE = 18


# -- policy records -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRule:
    """The policy of one catalogue field: its kind, sensitivity class and display mask.

    ``display`` is the mask shown to roles with the masked view. ``None`` means the
    field has no masking function, so a general field is then shown in full.
    """

    key: str
    kind: str
    sensitivity: Sensitivity
    display: str | None


@dataclass(frozen=True, slots=True)
class Role:
    """A role: its permissions, its jurisdiction rule and how it sees fields.

    ``jurisdiction`` is ``account`` (the account's own division-code prefix) or
    ``none`` (the role touches no personal data). ``field_view`` is ``full`` (every
    field unmasked), ``masked`` (display masks, no sensitive field, nothing of a
    child), ``department`` (only what the account's department grants) or ``none``.
    """

    name: str
    label_zh: str
    label_en: str
    jurisdiction: JurisdictionRule
    field_view: FieldView
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Grant:
    """One field a department may receive for one purpose, and the mask applied to it."""

    field: str
    masking: str


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose a department may state when it requests an extract, with its grants."""

    name: str
    label_zh: str
    label_en: str
    grants: tuple[Grant, ...]

    def masking_of(self, field_key: str) -> str | None:
        """Return the mask granted for ``field_key``, or ``None`` when it is not granted."""
        for grant in self.grants:
            if grant.field == field_key:
                return grant.masking
        return None


@dataclass(frozen=True, slots=True)
class Department:
    """A receiving department (公安, 民政, …) and the purposes it may state.

    ``receives_minors`` is whether records of children under the minor age may go
    to it at all. Only when it is true do the purposes' grants apply to children.
    """

    name: str
    label_zh: str
    label_en: str
    receives_minors: bool
    purposes: Mapping[str, Purpose]


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The policy in force: what was loaded from one directory, and its version.

    ``version`` is the SHA-256 (hex) over the policy files' sorted names and bytes;
    every decision records it.
    """

    fields: Mapping[str, FieldRule]
    roles: Mapping[str, Role]
    departments: Mapping[str, Department]
    minor_age: int
    version: str
    files: tuple[str, ...] = field(default=())

    def is_sensitive(self, field_key: str) -> bool:
        """Return whether a field is sensitive; an unknown field counts as sensitive."""
        rule = self.fields.get(field_key)
        return rule is None or rule.sensitivity == "sensitive"
