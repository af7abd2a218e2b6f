"""Explain a policy and compare two: what a role or department sees, and what a change grants.

``explain`` and ``diff`` return plain records built from the same views ``decide``
uses, so what they print is what is enforced. ``render_explain`` and
``render_diff`` turn them into text for the ``vault policy`` commands, in Chinese
by default.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from vault.domain.fields import FIELDS, FIELDS_BY_KEY
from vault.errors import Language, PolicyError
from vault.policy.decide import Denial, department_view, role_view
from vault.policy.masking import MASKS
from vault.policy.model import RECORD_ACTIONS, PolicySet, Role

ChangeKind = Literal["granted", "removed", "masking-changed", "changed"]

_SENSITIVITY_LABELS = {"general": ("一般", "general"), "sensitive": ("敏感", "sensitive")}
_SCOPE_LABELS = {
    "account": (
        "本账号辖区（区划代码前缀）内",
        "within the account's jurisdiction (division-code prefix)",
    ),
    "none": ("不接触个人信息", "no personal data"),
}


@dataclass(frozen=True, slots=True)
class ExplainRow:
    """One field as a role or a department sees it, for one purpose where purposes apply.

    ``masking`` is the mask for adults and ``minor_masking`` for children under the
    minor age; ``None`` means the field is not visible at all.
    """

    field: str
    label_zh: str
    label_en: str
    sensitivity: str
    masking: str | None
    minor_masking: str | None
    purpose: str | None
    purpose_label_zh: str | None
    purpose_label_en: str | None
    scope_zh: str
    scope_en: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One difference between two policies, with a message in each language."""

    kind: ChangeKind
    holder: str
    item: str
    old: str | None
    new: str | None
    message_zh: str
    message_en: str

    def message(self, language: Language = "zh") -> str:
        """Return the message in ``language``."""
        return self.message_zh if language == "zh" else self.message_en


# -- explain --------------------------------------------------------------


def _unknown(kind_zh: str, kind_en: str, name: str, known: Sequence[str]) -> PolicyError:
    listing = ", ".join(sorted(known))
    return PolicyError(
        f"策略中没有{kind_zh}“{name}”；可用：{listing}。",
        f"There is no {kind_en} '{name}' in the policy; use one of: {listing}.",
        code="POLICY_NAME_UNKNOWN",
        value=name,
    )


def explain(
    policy: PolicySet, role: str | None = None, department: str | None = None
) -> list[ExplainRow]:
    """Return, for every catalogue field, what a role or a department sees of it.

    Give ``role`` for a role's view, ``department`` for what a department receives
    for each of its purposes (through the department role), or neither to get a
    ``PolicyError``. A field a department receives for no purpose gets one row
    with no masking.
    """
    if department is not None:
        return _explain_department(policy, department)
    if role is None:
        raise PolicyError(
            "请指定角色或部门。",
            "Name a role or a department.",
            code="POLICY_EXPLAIN_TARGET_MISSING",
        )
    entry = policy.roles.get(role)
    if entry is None:
        raise _unknown("角色", "role", role, list(policy.roles))
    if entry.field_view == "department":
        raise PolicyError(
            "部门用户看到的字段取决于部门，请改用 --department 指定部门。",
            "What a department user sees depends on the department; name one with --department.",
            code="POLICY_EXPLAIN_DEPARTMENT_ROLE",
            value=role,
        )
    return _explain_role(policy, entry)


def _record_actions(role: Role) -> tuple[str, ...]:
    return tuple(sorted(role.permissions & RECORD_ACTIONS))


def _explain_role(policy: PolicySet, role: Role) -> list[ExplainRow]:
    view = role_view(policy, role)
    actions = _record_actions(role)
    scope_zh, scope_en = _SCOPE_LABELS[role.jurisdiction]
    if not actions:
        scope_zh, scope_en = _SCOPE_LABELS["none"]
    rows = []
    for catalogue_field in FIELDS:
        key = catalogue_field.key
        visible = bool(actions)
        rows.append(
            ExplainRow(
                key,
                catalogue_field.label_zh,
                catalogue_field.label_en,
                policy.fields[key].sensitivity,
                view.adult.get(key) if visible else None,
                view.minor.get(key) if visible else None,
                None,
                None,
                None,
                scope_zh,
                scope_en,
                actions,
            )
        )
    return rows


def _explain_department(policy: PolicySet, department: str) -> list[ExplainRow]:
    entry = policy.departments.get(department)
    if entry is None:
        raise _unknown("部门", "department", department, list(policy.departments))
    department_roles = [r for r in policy.roles.values() if r.field_view == "department"]
    actions = tuple(sorted({a for r in department_roles for a in _record_actions(r)}))
    scope_zh = "经数据提取，" + _SCOPE_LABELS["account"][0]
    scope_en = "through extracts, " + _SCOPE_LABELS["account"][1]

    rows = []
    for catalogue_field in FIELDS:
        key = catalogue_field.key
        sensitivity = policy.fields[key].sensitivity
        labels = (key, catalogue_field.label_zh, catalogue_field.label_en, sensitivity)
        granted = False
        for purpose in entry.purposes.values():
            view = department_view(policy, department, purpose.name)
            if isinstance(view, Denial) or not actions or key not in view.adult:
                continue
            granted = True
            rows.append(
                ExplainRow(
                    *labels,
                    view.adult[key],
                    view.minor.get(key),
                    purpose.name,
                    purpose.label_zh,
                    purpose.label_en,
                    scope_zh,
                    scope_en,
                    actions,
                )
            )
        if not granted:
            rows.append(
                ExplainRow(*labels, None, None, None, None, None, scope_zh, scope_en, actions)
            )
    return rows


# -- rendering ------------------------------------------------------------


def _width(text: str) -> int:
    """Return the number of terminal columns ``text`` takes; CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(_width(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _mask_label(mask: str | None, language: Language) -> str:
    if mask is None:
        return "不可见" if language == "zh" else "not visible"
    entry = MASKS[mask]
    return entry.label_zh if language == "zh" else entry.label_en


def render_explain(rows: Sequence[ExplainRow], language: Language = "zh") -> str:
    """Render ``explain`` rows as an aligned text table in ``language``."""
    zh = language == "zh"
    header = (
        ("字段", "敏感级别", "成年人", "未成年人", "用途", "范围")
        if zh
        else ("field", "class", "adults", "children", "purpose", "where")
    )
    body = []
    for row in rows:
        sensitivity = _SENSITIVITY_LABELS[row.sensitivity][0 if zh else 1]
        purpose = (row.purpose_label_zh if zh else row.purpose_label_en) or "—"
        body.append(
            (
                f"{row.label_zh if zh else row.label_en} ({row.field})",
                sensitivity,
                _mask_label(row.masking, language),
                _mask_label(row.minor_masking, language),
                purpose,
                row.scope_zh if zh else row.scope_en,
            )
        )
    return _table(header, body)


def render_diff(changes: Sequence[PolicyChange], language: Language = "zh") -> str:
    """Render ``diff`` changes one per line, or a line stating that nothing changed."""
    if not changes:
        return (
            "两份策略的效果相同。" if language == "zh" else "The two policies have the same effect."
        )
    return "\n".join(change.message(language) for change in changes)


# -- diff -----------------------------------------------------------------

_Item = tuple[str, ...]
_Holder = tuple[str, str]


def _label(key: str, language: Language) -> str:
    entry = FIELDS_BY_KEY.get(key)
    if entry is None:
        return key
    return f"{entry.label_zh if language == 'zh' else entry.label_en} ({key})"


def _flatten(policy: PolicySet) -> dict[_Holder, dict[_Item, str]]:
    """Return every effective grant and setting of a policy, keyed by holder and item."""
    flat: dict[_Holder, dict[_Item, str]] = {}

    catalogue: dict[_Item, str] = {("minor_age",): str(policy.minor_age)}
    for rule in policy.fields.values():
        catalogue[("class", rule.key)] = rule.sensitivity
        if rule.display is not None:
            catalogue[("display", rule.key)] = rule.display
    flat[("catalogue", "fields")] = catalogue

    for role in policy.roles.values():
        items: dict[_Item, str] = {
            ("jurisdiction",): role.jurisdiction,
            ("field_view",): role.field_view,
        }
        items.update({("permission", action): "granted" for action in role.permissions})
        if role.field_view != "department":
            view = role_view(policy, role)
            items.update({("field", key, "adult"): mask for key, mask in view.adult.items()})
            items.update({("field", key, "minor"): mask for key, mask in view.minor.items()})
        flat[("role", role.name)] = items

    for department in policy.departments.values():
        flat[("department", department.name)] = {
            ("receives_minors",): str(department.receives_minors).lower()
        }
        for purpose in department.purposes.values():
            received = department_view(policy, department.name, purpose.name)
            grants: dict[_Item, str] = {("purpose",): purpose.label_zh}
            if not isinstance(received, Denial):
                grants.update({("field", k, "adult"): m for k, m in received.adult.items()})
                grants.update({("field", k, "minor"): m for k, m in received.minor.items()})
            flat[("purpose", f"{department.name}/{purpose.name}")] = grants
    return flat


def _holder_text(holder: _Holder, language: Language) -> str:
    kind, name = holder
    names = {
        "catalogue": ("字段策略", "field policy"),
        "role": ("角色", "role"),
        "department": ("部门", "department"),
        "purpose": ("部门用途", "department purpose"),
    }[kind]
    return f"{names[0] if language == 'zh' else names[1]} {name}"


def _item_text(item: _Item, language: Language) -> str:
    zh = language == "zh"
    match item:
        case ("field", key, "adult"):
            return f"{'字段' if zh else 'field'} {_label(key, language)}"
        case ("field", key, _):
            return f"{'未成年人的字段' if zh else 'field of children'} {_label(key, language)}"
        case ("permission", action):
            return f"{'权限' if zh else 'permission'} {action}"
        case ("class", key):
            return f"{'敏感级别' if zh else 'class of'} {_label(key, language)}"
        case ("display", key):
            return f"{'脱敏显示' if zh else 'display mask of'} {_label(key, language)}"
        case _:
            return " ".join(item)


def _value_text(item: _Item, value: str | None, language: Language) -> str:
    if value is None:
        return "—"
    if item[0] in ("field", "display"):
        return _mask_label(value, language)
    return value


def _change(holder: _Holder, item: _Item, old: str | None, new: str | None) -> PolicyChange:
    if old is None:
        kind: ChangeKind = "granted"
    elif new is None:
        kind = "removed"
    elif item[0] in ("field", "display"):
        kind = "masking-changed"
    else:
        kind = "changed"

    verbs = {
        "granted": ("新增", "grants"),
        "removed": ("取消", "removes"),
        "masking-changed": ("改变掩码", "changes the masking of"),
        "changed": ("修改", "changes"),
    }[kind]
    languages: tuple[tuple[Language, str], ...] = (("zh", verbs[0]), ("en", verbs[1]))
    parts = []
    for lang, verb in languages:
        subject = _holder_text(holder, lang)
        what = _item_text(item, lang)
        before, after = _value_text(item, old, lang), _value_text(item, new, lang)
        if item[0] == "permission":
            detail = ""
        elif kind == "granted":
            detail = f"：{after}" if lang == "zh" else f": {after}"
        elif kind == "removed":
            detail = f"（原为 {before}）" if lang == "zh" else f" (was {before})"
        else:
            detail = f"：{before} → {after}" if lang == "zh" else f": {before} -> {after}"
        separator = "：" if lang == "zh" else ": "
        parts.append(f"{subject}{separator}{verb} {what}{detail}")
    return PolicyChange(kind, f"{holder[0]} {holder[1]}", " ".join(item), old, new, *parts)


def diff(old: PolicySet, new: PolicySet) -> list[PolicyChange]:
    """Return what changing from ``old`` to ``new`` grants, removes or changes.

    Both policies are compared by their effect (the fields and masks each role and
    each department purpose receives, permissions, jurisdiction rules, field
    classes), not by their text, so reordering a file changes nothing here.
    """
    before, after = _flatten(old), _flatten(new)
    changes = []
    for holder in sorted(before.keys() | after.keys()):
        old_items: Mapping[_Item, str] = before.get(holder, {})
        new_items: Mapping[_Item, str] = after.get(holder, {})
        for item in sorted(old_items.keys() | new_items.keys()):
            old_value, new_value = old_items.get(item), new_items.get(item)
            if old_value != new_value:
                changes.append(_change(holder, item, old_value, new_value))
    return changes
