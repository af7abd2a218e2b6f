"""The one enforcement point: who may do what, with which fields, masked how, and where.

Every read and write of personal data (API, web pages, CLI, importer, extracts)
calls ``decide`` first and applies its ``Decision``: it decrypts only the fields the
decision names, applies the mask given for each, and keeps to its jurisdiction. The function
is pure: it reads the policy and the request and does no I/O, so the caller
records the decision, with its policy version, in the audit trail.

Anything missing or unknown denies: no role, an unknown role, an unknown action, an
empty jurisdiction, a record without a division code, a department user without a
department or purpose, or an account holding the powers of two administrators.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from uuid import UUID

from vault.errors import AccessDenied, Problem
from vault.policy.masking import MASKS
from vault.policy.model import (
    ACTIONS,
    EXTRACT_ACTIONS,
    RECORD_ACTIONS,
    SINGLE_RECORD_ACTIONS,
    WHOLE_COUNTRY,
    PolicySet,
    Role,
    admin_groups_of,
)

DIVISION_PREFIX_LENGTHS = (2, 4, 6, 9, 12)
"""Province, prefecture, county, township and village levels of a 12-digit division code."""

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated account as the policy sees it.

    ``jurisdiction`` is a division-code prefix of 2, 4, 6, 9 or 12 digits, or
    ``WHOLE_COUNTRY`` for an account that may see every division. An empty string
    means the account has no jurisdiction and is denied every record action.
    ``department`` is the department key (``health``, …) of a department user.
    """

    account_id: UUID
    roles: frozenset[str]
    jurisdiction: str
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """The action a principal requests, with its purpose and the record or scope it concerns.

    ``village_code`` is the 12-digit division code of the record for a single-record
    action, or the division-code prefix a list, search, import or extract is limited
    to. ``subject_is_minor`` is whether the record's subject is under the policy's
    minor age; ``None`` means unknown or, for lists, a mix.
    """

    action: str
    purpose: str | None = None
    village_code: str | None = None
    subject_is_minor: bool | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one ``decide`` call, ready to apply and to record in the audit trail.

    ``fields`` maps each field the caller may decrypt to its mask, for the subject of
    the request (for adults when the request names no single subject).
    ``minor_fields`` does the same for records of children under the minor age: a
    list or extract applies it to those records and leaves them out when it is
    empty. ``jurisdiction`` is the division-code prefix every returned record must
    start with, and ``WHOLE_COUNTRY`` means every division. It is ``None`` for
    actions on no personal data and for denials.
    """

    allowed: bool
    action: str
    fields: Mapping[str, str]
    minor_fields: Mapping[str, str]
    jurisdiction: str | None
    reason_code: str
    reason_zh: str
    reason_en: str
    policy_version: str
    granted_by: tuple[str, ...] = field(default=())

    def fields_for(self, *, is_minor: bool) -> Mapping[str, str]:
        """Return the fields and masks that apply to one record of a list or extract."""
        return self.minor_fields if is_minor else self.fields

    def covers(self, division_code: str) -> bool:
        """Return whether a record with ``division_code`` lies within the decision's scope."""
        if not self.allowed or self.jurisdiction is None:
            return False
        if self.jurisdiction == WHOLE_COUNTRY:
            return True
        return division_code.startswith(self.jurisdiction)

    def raise_if_denied(self) -> None:
        """Raise ``AccessDenied`` with the decision's reason when it denies."""
        if not self.allowed:
            raise AccessDenied(self.reason_zh, self.reason_en, code=self.reason_code)

    def as_audit(self) -> dict[str, Any]:
        """Return the decision as a JSON-ready mapping for the audit trail (no personal data)."""
        return {
            "allowed": self.allowed,
            "action": self.action,
            "fields": dict(sorted(self.fields.items())),
            "minor_fields": dict(sorted(self.minor_fields.items())),
            "jurisdiction": self.jurisdiction,
            "reason_code": self.reason_code,
            "policy_version": self.policy_version,
            "granted_by": list(self.granted_by),
        }


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a role grants nothing for a request: a reason code and its two messages."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class View:
    """Fields and masks one role grants: for adults, and for children under the minor age."""

    adult: Mapping[str, str]
    minor: Mapping[str, str]


# -- separation of the three administrators -------------------------------


def check_admin_separation(roles: Iterable[str], policy: PolicySet | None = None) -> Problem | None:
    """Return a problem when ``roles`` together hold the powers of two administrators.

    The three are ``system-admin``, ``security-admin`` and ``security-officer``.
    Without ``policy`` only the role names count. With it, a role that has an
    administrator's permissions under another name counts too. Account creation and
    every role change call this and reject the change when it returns a problem.
    """
    groups: set[str] = set()
    for name in roles:
        role = policy.roles.get(name) if policy is not None else None
        groups |= admin_groups_of(name, role.permissions if role else ())
    if len(groups) < 2:
        return None
    group_names = ", ".join(sorted(groups))
    return Problem(
        code="ADMIN_SEPARATION",
        field="roles",
        message_zh=f"一个账号不得同时拥有 {group_names} 中两个及以上管理员的权限（三权分立）。",
        message_en=(
            f"An account may not hold the powers of more than one of {group_names} "
            "(separation of the three administrators)."
        ),
        value=group_names,
    )


# -- views ----------------------------------------------------------------


def role_view(policy: PolicySet, role: Role) -> View:
    """Return the fields a role with a ``full``, ``masked`` or ``none`` view grants.

    The masked view follows the display masks of the field policy: a field with a
    display mask is shown masked, a general field without one in full, and a
    sensitive field not at all. Every attribute of a child is sensitive, so the
    masked view grants nothing of a child.
    """
    if role.field_view == "full":
        everything = MappingProxyType({key: "full" for key in policy.fields})
        return View(everything, everything)
    if role.field_view == "masked":
        masked = {
            rule.key: rule.display or "full"
            for rule in policy.fields.values()
            if rule.sensitivity == "general"
        }
        return View(MappingProxyType(masked), _EMPTY)
    return View(_EMPTY, _EMPTY)


def department_view(policy: PolicySet, department: str, purpose: str) -> View | Denial:
    """Return the fields a department receives for a purpose, or why it receives none."""
    entry = policy.departments.get(department)
    if entry is None:
        return Denial(
            "DEPARTMENT_UNKNOWN",
            "账号所属部门不在部门策略中。",
            "The account's department is not in the department policy.",
        )
    stated = entry.purposes.get(purpose)
    if stated is None:
        return Denial(
            "PURPOSE_NOT_LISTED",
            f"部门“{entry.label_zh}”的策略未列出此用途。",
            f"The purpose is not one the {entry.label_en} department's policy lists.",
        )
    adult = MappingProxyType({grant.field: grant.masking for grant in stated.grants})
    return View(adult, adult if entry.receives_minors else _EMPTY)


def _view_for(
    policy: PolicySet, role: Role, principal: Principal, request: Request
) -> View | Denial:
    if role.field_view != "department":
        return role_view(policy, role)
    # Department users receive data only through extracts. The loader rejects a
    # department role with browse permissions; this check repeats that rule.
    if request.action not in EXTRACT_ACTIONS:
        return Denial(
            "DEPARTMENT_NO_BROWSING",
            "部门用户只能通过数据提取获得信息。",
            "Department users receive data only through extracts.",
        )
    if not principal.department:
        return Denial(
            "DEPARTMENT_MISSING",
            "部门用户账号未指定所属部门。",
            "The department user's account names no department.",
        )
    if not request.purpose:
        return Denial(
            "PURPOSE_MISSING",
            "部门用户必须说明用途。",
            "A department user must state a purpose.",
        )
    return department_view(policy, principal.department, request.purpose)


def _union(maps: Iterable[Mapping[str, str]]) -> Mapping[str, str]:
    """Merge field grants, keeping for each field the mask that shows the most."""
    merged: dict[str, str] = {}
    for grants in maps:
        for key, mask in grants.items():
            current = merged.get(key)
            if current is None or _reveal(mask, current) > 0:
                merged[key] = mask
    return MappingProxyType(dict(sorted(merged.items())))


def _reveal(mask: str, other: str) -> int:
    """Compare two masks by how much they show; break ties by name so the result is stable."""
    rank, other_rank = MASKS[mask].reveal_rank, MASKS[other].reveal_rank
    if rank != other_rank:
        return rank - other_rank
    return (mask < other) - (mask > other)


# -- jurisdiction ---------------------------------------------------------


def _is_division_prefix(code: str) -> bool:
    return code.isascii() and code.isdigit() and len(code) in DIVISION_PREFIX_LENGTHS


def _scope(principal: Principal, request: Request) -> str | Denial:  # noqa: PLR0911 (one return per denial reason)
    """Return the division-code prefix the request is limited to, or why it is denied."""
    jurisdiction = principal.jurisdiction
    if not jurisdiction:
        return Denial(
            "JURISDICTION_MISSING",
            "账号没有辖区，不能访问任何人员记录。",
            "The account has no jurisdiction, so it may not access any person record.",
        )
    if jurisdiction != WHOLE_COUNTRY and not _is_division_prefix(jurisdiction):
        return Denial(
            "JURISDICTION_INVALID",
            "账号的辖区不是有效的区划代码前缀（2、4、6、9 或 12 位数字）。",
            "The account's jurisdiction is not a valid division-code prefix "
            "(2, 4, 6, 9 or 12 digits).",
        )

    single = request.action in SINGLE_RECORD_ACTIONS
    code = request.village_code
    if code is None:
        if single:
            return Denial(
                "SCOPE_MISSING",
                "请求未给出记录的区划代码，无法判断是否在辖区内。",
                "The request names no division code for the record, so its "
                "jurisdiction cannot be checked.",
            )
        return jurisdiction
    # A list over the whole country is narrowed to the account's own jurisdiction.
    if code == WHOLE_COUNTRY and not single:
        return jurisdiction
    if not _is_division_prefix(code) or (single and len(code) != 12):
        return Denial(
            "SCOPE_INVALID",
            "请求中的区划代码无效；单条记录须为 12 位村(居)代码，"
            "范围须为 2、4、6、9 或 12 位前缀。",
            "The division code in the request is invalid: a single record needs its "
            "12-digit village code, a list scope a prefix of 2, 4, 6, 9 or 12 digits.",
        )

    if jurisdiction == WHOLE_COUNTRY or code.startswith(jurisdiction):
        return code
    # A list over a wider area than the account's is narrowed to the account's own.
    if not single and jurisdiction.startswith(code):
        return jurisdiction
    return Denial(
        "OUTSIDE_JURISDICTION",
        f"记录不在账号辖区（{jurisdiction}）内。",
        f"The record lies outside the account's jurisdiction ({jurisdiction}).",
    )


# -- the decision ---------------------------------------------------------


def decide(policy: PolicySet, principal: Principal, request: Request) -> Decision:  # noqa: PLR0911 (one return per denial reason)
    """Decide whether ``principal`` may make ``request`` and, if so, with what data.

    An account with several roles gets the union of what each role that permits the
    action grants. For each field the union keeps the mask that shows the most.
    """

    def deny(code: str, zh: str, en: str) -> Decision:
        return Decision(False, request.action, _EMPTY, _EMPTY, None, code, zh, en, policy.version)

    separation = check_admin_separation(principal.roles, policy)
    if separation is not None:
        return deny(separation.code, separation.message_zh, separation.message_en)
    if request.action not in ACTIONS:
        return deny("ACTION_UNKNOWN", "未知的操作。", "Unknown action.")
    if not principal.roles:
        return deny("NO_ROLE", "账号没有任何角色。", "The account has no role.")
    roles = [policy.roles[name] for name in sorted(principal.roles) if name in policy.roles]
    if not roles:
        return deny(
            "ROLE_UNKNOWN",
            "账号的角色均未在角色策略中定义。",
            "None of the account's roles is defined in the role policy.",
        )
    permitting = [role for role in roles if request.action in role.permissions]
    if not permitting:
        return deny(
            "ACTION_NOT_PERMITTED",
            "账号的角色不允许此操作。",
            "None of the account's roles permits this action.",
        )
    granted_by = tuple(role.name for role in permitting)

    if request.action not in RECORD_ACTIONS:
        return Decision(
            True,
            request.action,
            _EMPTY,
            _EMPTY,
            None,
            "ALLOWED",
            "允许。",
            "Allowed.",
            policy.version,
            granted_by,
        )

    scope = _scope(principal, request)
    if isinstance(scope, Denial):
        return deny(scope.code, scope.zh, scope.en)

    views: list[tuple[str, View]] = []
    denials: list[Denial] = []
    for role in permitting:
        view = _view_for(policy, role, principal, request)
        if isinstance(view, Denial):
            denials.append(view)
        else:
            views.append((role.name, view))
    if not views:
        first = denials[0]
        return deny(first.code, first.zh, first.en)

    adult = _union(view.adult for _, view in views)
    minor = _union(view.minor for _, view in views)
    granted_by = tuple(name for name, _ in views)
    return _apply_minor_rule(
        policy, request, adult=adult, minor=minor, scope=scope, granted_by=granted_by
    )


def _apply_minor_rule(
    policy: PolicySet,
    request: Request,
    *,
    adult: Mapping[str, str],
    minor: Mapping[str, str],
    scope: str,
    granted_by: tuple[str, ...],
) -> Decision:
    """Pick the fields for the request's subject; every attribute of a child is sensitive."""

    def deny(code: str, zh: str, en: str) -> Decision:
        return Decision(False, request.action, _EMPTY, _EMPTY, None, code, zh, en, policy.version)

    if request.subject_is_minor is True:
        if not minor:
            return deny(
                "MINOR_DATA_SENSITIVE",
                f"未满 {policy.minor_age} 周岁儿童的全部信息均属敏感个人信息，账号的角色无权查看。",
                f"All data of a child under {policy.minor_age} is sensitive personal "
                "information, and the account's roles do not grant it.",
            )
        fields = minor
    elif (
        request.subject_is_minor is None
        and request.action in SINGLE_RECORD_ACTIONS
        and (adult != minor)
    ):
        return deny(
            "MINOR_STATUS_REQUIRED",
            f"请求未说明当事人是否未满 {policy.minor_age} 周岁，而这会影响可见字段。",
            f"The request does not say whether the subject is under {policy.minor_age}, "
            "and the fields granted depend on it.",
        )
    else:
        fields = adult

    return Decision(
        True,
        request.action,
        fields,
        minor,
        scope,
        "ALLOWED",
        "允许。",
        "Allowed.",
        policy.version,
        granted_by,
    )
