"""Load and check the policy files: ``fields.toml``, ``roles.toml`` and ``departments.toml``.

The loader validates everything before it builds a ``PolicySet`` and reports every
problem it finds at once, each naming the file, the table and key, the line where
one can be found, and what to change. It never fills in a missing value with a
permissive default: a missing role permission, field class or jurisdiction rule is
an error.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from vault.domain.fields import FIELDS, FIELDS_BY_KEY
from vault.errors import PolicyError, Problem
from vault.policy.masking import MASKS, mask_fits
from vault.policy.model import (
    ACTIONS,
    BROWSE_ACTIONS,
    FIELD_VIEWS,
    JURISDICTION_RULES,
    MAX_MINOR_AGE,
    MIN_MINOR_AGE,
    RECORD_ACTIONS,
    SENSITIVITIES,
    STANDARD_ROLES,
    Department,
    FieldRule,
    FieldView,
    Grant,
    JurisdictionRule,
    PolicySet,
    Purpose,
    Role,
    Sensitivity,
    admin_groups_of,
)

FIELDS_FILE = "fields.toml"
ROLES_FILE = "roles.toml"
DEPARTMENTS_FILE = "departments.toml"
POLICY_FILES: tuple[str, ...] = (DEPARTMENTS_FILE, FIELDS_FILE, ROLES_FILE)

Severity = Literal["error", "warning", "note"]


class PolicyFilesInvalid(PolicyError):
    """The policy directory failed validation; ``problems`` lists every finding."""

    default_code = "POLICY_INVALID"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(
            f"策略文件有 {len(errors)} 处错误：\n" + "\n".join(p.message_zh for p in errors),
            f"The policy files have {len(errors)} error(s):\n"
            + "\n".join(p.message_en for p in errors),
        )


# -- directories ----------------------------------------------------------


def packaged_policy_directory() -> Path:
    """Return the directory of the default policy files shipped inside the package."""
    return Path(str(resources.files("vault") / "policies"))


def default_policy_directory(cwd: Path | None = None) -> Path:
    """Return ``./policies`` when it exists under ``cwd``, else the packaged defaults."""
    local = (cwd or Path.cwd()) / "policies"
    return local if local.is_dir() else packaged_policy_directory()


def policy_version(contents: Mapping[str, bytes]) -> str:
    """Return the SHA-256 (hex) over the file names, in sorted order, and their bytes.

    Each name and content is length-prefixed, so no two different sets of files
    produce the same input to the hash.
    """
    digest = hashlib.sha256()
    for name in sorted(contents):
        for part in (name.encode("utf-8"), contents[name]):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


# -- line numbers ---------------------------------------------------------

_HEADER = re.compile(r"^\s*\[(?!\[)([^\]]+)\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")
_KEY_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""")


def _split_dotted(text: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _KEY_PART.findall(text))


class _LineIndex:
    """Line numbers of the table headers and keys in a TOML text, for error messages.

    tomllib reports no positions for valid TOML, so this scans the text. It finds
    headers and ``key =`` lines, not keys written as dotted keys or inside inline
    tables, and then falls back to the enclosing table's line.
    """

    def __init__(self, text: str) -> None:
        self._headers: dict[tuple[str, ...], int] = {}
        self._keys: dict[tuple[tuple[str, ...], str], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                table = _split_dotted(header.group(1))
                self._headers.setdefault(table, number)
                continue
            key = _KEY_LINE.match(line)
            if key:
                self._keys.setdefault((table, _split_dotted(key.group(1))[0]), number)

    def line_of(self, table: tuple[str, ...], key: str | None = None) -> int | None:
        if key is not None and (table, key) in self._keys:
            return self._keys[(table, key)]
        if key is not None and (*table, key) in self._headers:
            return self._headers[(*table, key)]
        if table in self._headers:
            return self._headers[table]
        if table:
            return self.line_of(table[:-1], table[-1])
        return None


# -- problem collection ---------------------------------------------------


@dataclass
class _Findings:
    """Problems found so far, each located by file, table, key and line."""

    problems: list[Problem]
    lines: dict[str, _LineIndex]

    def add(
        self,
        code: str,
        file: str,
        table: tuple[str, ...],
        key: str | None,
        problem_zh: str,
        problem_en: str,
        *,
        value: object = None,
        severity: Severity = "error",
    ) -> None:
        index = self.lines.get(file)
        line = index.line_of(table, key) if index else None
        place = f"[{'.'.join(table)}]" if table else ""
        if key is not None:
            place = f"{place} {key}".strip()
        where_en = ", ".join(p for p in (file, f"line {line}" if line else "", place) if p)
        where_zh = "，".join(p for p in (file, f"第 {line} 行" if line else "", place) if p)
        self.problems.append(
            Problem(
                code=code,
                field=".".join((*table, key) if key is not None else table) or None,
                message_zh=f"{where_zh}：{problem_zh}",
                message_en=f"{where_en}: {problem_en}",
                severity=severity,
                value=None if value is None else str(value),
            )
        )

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _check_unknown_keys(
    findings: _Findings,
    file: str,
    table: tuple[str, ...],
    data: Mapping[str, Any],
    allowed: Iterable[str],
) -> None:
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            findings.add(
                "POLICY_KEY_UNKNOWN",
                file,
                table,
                key,
                f"未知的键“{key}”；可用的键：{_names(allowed)}。",
                f"unknown key '{key}'; the keys allowed here are: {_names(allowed)}.",
                value=key,
            )


def _table(
    findings: _Findings, file: str, table: tuple[str, ...], key: str, value: object
) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    findings.add(
        "POLICY_TABLE_EXPECTED",
        file,
        table,
        key,
        f"“{key}”应为表（[{'.'.join((*table, key))}]）。",
        f"'{key}' must be a table ([{'.'.join((*table, key))}]).",
    )
    return None


def _label(
    findings: _Findings, file: str, table: tuple[str, ...], data: Mapping[str, Any], key: str
) -> str:
    value = data.get(key)
    if isinstance(value, str) and value.strip():
        return value
    findings.add(
        "POLICY_LABEL_MISSING",
        file,
        table,
        key,
        f"缺少“{key}”或其值为空；请填写显示名称。",
        f"'{key}' is missing or empty; give the name to display.",
    )
    return ""


def _check_mask(
    findings: _Findings,
    file: str,
    table: tuple[str, ...],
    key: str,
    field_key: str,
    mask: object,
) -> str | None:
    """Validate a mask name given for ``field_key``; return it when valid."""
    if not isinstance(mask, str) or mask not in MASKS:
        findings.add(
            "POLICY_MASK_UNKNOWN",
            file,
            table,
            key,
            f"未知的掩码函数“{mask}”；可用：{_names(MASKS)}。",
            f"unknown masking function '{mask}'; use one of: {_names(MASKS)}.",
            value=mask,
        )
        return None
    kind = FIELDS_BY_KEY[field_key].kind
    if not mask_fits(mask, kind):
        fitting = [name for name, m in MASKS.items() if kind in m.kinds]
        findings.add(
            "POLICY_MASK_UNFIT",
            file,
            table,
            key,
            f"掩码函数“{mask}”不适用于字段“{field_key}”（类型 {kind}）；可用：{_names(fitting)}。",
            f"masking function '{mask}' does not fit field '{field_key}' (kind {kind}); "
            f"use one of: {_names(fitting)}.",
            value=mask,
        )
        return None
    return mask


# -- fields.toml ----------------------------------------------------------


def _read_fields(findings: _Findings, data: Mapping[str, Any]) -> tuple[dict[str, FieldRule], int]:
    file = FIELDS_FILE
    _check_unknown_keys(findings, file, (), data, ("minor_age", "fields"))

    minor_age = data.get("minor_age", MIN_MINOR_AGE)
    valid_age = isinstance(minor_age, int) and not isinstance(minor_age, bool)
    if not valid_age or not MIN_MINOR_AGE <= minor_age <= MAX_MINOR_AGE:
        findings.add(
            "POLICY_MINOR_AGE_INVALID",
            file,
            (),
            "minor_age",
            f"minor_age 应为 {MIN_MINOR_AGE} 至 {MAX_MINOR_AGE} 之间的整数。",
            f"minor_age must be a whole number from {MIN_MINOR_AGE} to {MAX_MINOR_AGE}.",
            value=minor_age,
        )
        minor_age = MIN_MINOR_AGE

    rules: dict[str, FieldRule] = {}
    table = _table(findings, file, (), "fields", data.get("fields", {}))
    for key, entry in (table or {}).items():
        if key not in FIELDS_BY_KEY:
            findings.add(
                "POLICY_FIELD_UNKNOWN",
                file,
                ("fields",),
                key,
                f"字段目录中没有字段“{key}”。",
                f"unknown field '{key}': it is not in the field catalogue (vault.domain.fields).",
                value=key,
            )
            continue
        rule = _read_field_rule(findings, key, entry)
        if rule is not None:
            rules[key] = rule

    for catalogue_field in FIELDS:
        if table is not None and catalogue_field.key not in table:
            findings.add(
                "POLICY_FIELD_MISSING",
                file,
                ("fields",),
                None,
                f"缺少字段“{catalogue_field.key}”的策略；请添加 [fields.{catalogue_field.key}] "
                "并写明 class。",
                f"field '{catalogue_field.key}' has no policy; add [fields.{catalogue_field.key}] "
                "with its class.",
                value=catalogue_field.key,
            )
    return rules, cast(int, minor_age)


def _read_field_rule(findings: _Findings, key: str, entry: object) -> FieldRule | None:
    file = FIELDS_FILE
    data = _table(findings, file, ("fields",), key, entry)
    if data is None:
        return None
    table = ("fields", key)
    _check_unknown_keys(findings, file, table, data, ("class", "display"))

    sensitivity = data.get("class")
    if sensitivity is None:
        findings.add(
            "POLICY_CLASS_MISSING",
            file,
            table,
            "class",
            "缺少敏感级别 class；请填写 general 或 sensitive。",
            "the sensitivity class is missing; set class to general or sensitive.",
        )
    elif sensitivity not in SENSITIVITIES:
        findings.add(
            "POLICY_CLASS_INVALID",
            file,
            table,
            "class",
            f"无效的敏感级别“{sensitivity}”；请填写 general 或 sensitive。",
            f"invalid sensitivity class '{sensitivity}'; use general or sensitive.",
            value=sensitivity,
        )

    display = data.get("display")
    if display is not None:
        display = _check_mask(findings, file, table, "display", key, display)
        if display is not None and sensitivity == "sensitive":
            findings.add(
                "POLICY_DISPLAY_UNUSED",
                file,
                table,
                "display",
                "敏感字段不向脱敏视图显示，此 display 不会生效。",
                "a sensitive field is never shown in the masked view, so this display "
                "mask has no effect.",
                severity="warning",
            )

    if sensitivity not in SENSITIVITIES or ("display" in data and display is None):
        return None
    return FieldRule(key, FIELDS_BY_KEY[key].kind, cast(Sensitivity, sensitivity), display)


# -- roles.toml -----------------------------------------------------------


def _read_roles(findings: _Findings, data: Mapping[str, Any]) -> dict[str, Role]:
    _check_unknown_keys(findings, ROLES_FILE, (), data, ("roles",))
    roles: dict[str, Role] = {}
    table = _table(findings, ROLES_FILE, (), "roles", data.get("roles", {}))
    for name, entry in (table or {}).items():
        role = _read_role(findings, name, entry)
        if role is not None:
            roles[name] = role

    for name in STANDARD_ROLES:
        if table is not None and name not in table:
            findings.add(
                "POLICY_ROLE_MISSING",
                ROLES_FILE,
                ("roles",),
                None,
                f"未定义标准角色“{name}”；持有该角色的账号将被拒绝一切操作。",
                f"the standard role '{name}' is not defined; accounts holding it will be "
                "denied everything.",
                value=name,
                severity="warning",
            )
    return roles


def _read_role(findings: _Findings, name: str, entry: object) -> Role | None:
    file = ROLES_FILE
    data = _table(findings, file, ("roles",), name, entry)
    if data is None:
        return None
    table = ("roles", name)
    errors_before = len([p for p in findings.problems if p.severity == "error"])
    _check_unknown_keys(
        findings,
        file,
        table,
        data,
        ("label_zh", "label_en", "jurisdiction", "field_view", "permissions"),
    )
    label_zh = _label(findings, file, table, data, "label_zh")
    label_en = _label(findings, file, table, data, "label_en")

    jurisdiction = data.get("jurisdiction")
    if jurisdiction is None:
        findings.add(
            "POLICY_JURISDICTION_MISSING",
            file,
            table,
            "jurisdiction",
            f"角色“{name}”缺少辖区规则 jurisdiction；请填写 account 或 none。",
            f"role '{name}' has no jurisdiction rule; set jurisdiction to account or none.",
        )
    elif jurisdiction not in JURISDICTION_RULES:
        findings.add(
            "POLICY_JURISDICTION_INVALID",
            file,
            table,
            "jurisdiction",
            f"无效的辖区规则“{jurisdiction}”；请填写 account 或 none。",
            f"invalid jurisdiction rule '{jurisdiction}'; use account or none.",
            value=jurisdiction,
        )

    field_view = data.get("field_view")
    if field_view not in FIELD_VIEWS:
        findings.add(
            "POLICY_FIELD_VIEW_INVALID",
            file,
            table,
            "field_view",
            f"field_view 缺失或无效；请填写 {_names(FIELD_VIEWS)} 之一。",
            f"field_view is missing or invalid; use one of: {_names(FIELD_VIEWS)}.",
            value=field_view,
        )

    permissions = _read_permissions(findings, table, data.get("permissions"))
    _check_role_rules(findings, name, data, permissions)

    errors_after = len([p for p in findings.problems if p.severity == "error"])
    if errors_after > errors_before:
        return None
    return Role(
        name,
        label_zh,
        label_en,
        cast(JurisdictionRule, jurisdiction),
        cast(FieldView, field_view),
        permissions,
    )


def _read_permissions(findings: _Findings, table: tuple[str, ...], value: object) -> frozenset[str]:
    file = ROLES_FILE
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        findings.add(
            "POLICY_PERMISSIONS_INVALID",
            file,
            table,
            "permissions",
            "permissions 缺失或不是字符串列表。",
            "permissions is missing or is not a list of strings.",
        )
        return frozenset()
    for item in value:
        if item not in ACTIONS:
            findings.add(
                "POLICY_PERMISSION_UNKNOWN",
                file,
                table,
                "permissions",
                f"未知的权限“{item}”；可用：{_names(ACTIONS)}。",
                f"unknown permission '{item}'; use one of: {_names(ACTIONS)}.",
                value=item,
            )
    if not value:
        findings.add(
            "POLICY_PERMISSIONS_EMPTY",
            file,
            table,
            "permissions",
            "该角色没有任何权限。",
            "the role has no permissions.",
            severity="warning",
        )
    return frozenset(value)


def _check_role_rules(
    findings: _Findings, name: str, data: Mapping[str, Any], permissions: frozenset[str]
) -> None:
    """Check the rules that no role may break, whatever else the file sets."""
    file = ROLES_FILE
    table = ("roles", name)
    field_view = data.get("field_view")
    groups = admin_groups_of(name, permissions)

    if len(groups) > 1:
        findings.add(
            "POLICY_ADMIN_POWERS_COMBINED",
            file,
            table,
            "permissions",
            f"角色“{name}”合并了 {_names(groups)} 的权限，违反三权分立；每个角色最多只能"
            "拥有其中一个管理员的权限。",
            f"role '{name}' combines the powers of {_names(groups)}, which breaks the "
            "separation of the three administrators; give each role the powers of one "
            "of them at most.",
            value=_names(groups),
        )

    record_permissions = permissions & RECORD_ACTIONS
    if groups & {"system-admin", "security-admin"} and (
        record_permissions or field_view not in (None, "none")
    ):
        findings.add(
            "POLICY_ADMIN_PERSONAL_DATA",
            file,
            table,
            "permissions",
            f"系统管理员和安全管理员不得接触个人信息；请删除 {_names(record_permissions)} "
            "并将 field_view 设为 none。",
            "system and security administrators may not touch personal data; remove "
            f"{_names(record_permissions) or 'no permission'} and set field_view to none.",
        )
    if "security-officer" in groups and field_view not in (None, "masked", "none"):
        findings.add(
            "POLICY_AUDITOR_FIELD_VIEW",
            file,
            table,
            "field_view",
            "安全审计员只能看到脱敏信息；请将 field_view 设为 masked 或 none。",
            "a security officer may see personal data only masked; set field_view to "
            "masked or none.",
            value=field_view,
        )
    if field_view == "department" and permissions & BROWSE_ACTIONS:
        findings.add(
            "POLICY_DEPARTMENT_BROWSE",
            file,
            table,
            "permissions",
            f"部门用户只能通过数据提取获得信息，不得直接浏览；请删除 "
            f"{_names(permissions & BROWSE_ACTIONS)}。",
            "department users receive data only through extracts and may not browse the "
            f"registry; remove {_names(permissions & BROWSE_ACTIONS)}.",
        )
    if data.get("jurisdiction") == "none" and record_permissions:
        findings.add(
            "POLICY_JURISDICTION_NONE_WITH_RECORDS",
            file,
            table,
            "jurisdiction",
            f"辖区规则为 none 的角色不得持有涉及个人信息的权限 {_names(record_permissions)}。",
            "a role with jurisdiction none may not hold permissions on personal data: "
            f"{_names(record_permissions)}.",
        )


# -- departments.toml -----------------------------------------------------


def _read_departments(findings: _Findings, data: Mapping[str, Any]) -> dict[str, Department]:
    _check_unknown_keys(findings, DEPARTMENTS_FILE, (), data, ("departments",))
    departments: dict[str, Department] = {}
    table = _table(findings, DEPARTMENTS_FILE, (), "departments", data.get("departments", {}))
    for name, entry in (table or {}).items():
        department = _read_department(findings, name, entry)
        if department is not None:
            departments[name] = department
    return departments


def _read_department(findings: _Findings, name: str, entry: object) -> Department | None:
    file = DEPARTMENTS_FILE
    data = _table(findings, file, ("departments",), name, entry)
    if data is None:
        return None
    table = ("departments", name)
    _check_unknown_keys(
        findings, file, table, data, ("label_zh", "label_en", "receives_minors", "purposes")
    )
    label_zh = _label(findings, file, table, data, "label_zh")
    label_en = _label(findings, file, table, data, "label_en")

    receives_minors = data.get("receives_minors", False)
    if not isinstance(receives_minors, bool):
        findings.add(
            "POLICY_RECEIVES_MINORS_INVALID",
            file,
            table,
            "receives_minors",
            "receives_minors 应为 true 或 false。",
            "receives_minors must be true or false.",
            value=receives_minors,
        )
        receives_minors = False

    purposes: dict[str, Purpose] = {}
    purpose_table = _table(findings, file, table, "purposes", data.get("purposes", {}))
    for purpose_name, purpose_entry in (purpose_table or {}).items():
        purpose = _read_purpose(findings, table, purpose_name, purpose_entry)
        if purpose is not None:
            purposes[purpose_name] = purpose
    if purpose_table is not None and not purpose_table:
        findings.add(
            "POLICY_PURPOSES_EMPTY",
            file,
            table,
            "purposes",
            "该部门没有列出任何用途，将收不到任何数据。",
            "the department lists no purposes, so it will receive no data.",
            severity="warning",
        )
    return Department(name, label_zh, label_en, receives_minors, MappingProxyType(purposes))


def _read_purpose(
    findings: _Findings, department_table: tuple[str, ...], name: str, entry: object
) -> Purpose | None:
    file = DEPARTMENTS_FILE
    parent = (*department_table, "purposes")
    data = _table(findings, file, parent, name, entry)
    if data is None:
        return None
    table = (*parent, name)
    _check_unknown_keys(findings, file, table, data, ("label_zh", "label_en", "fields"))
    label_zh = _label(findings, file, table, data, "label_zh")
    label_en = _label(findings, file, table, data, "label_en")

    grants: list[Grant] = []
    fields = _table(findings, file, table, "fields", data.get("fields", {})) or {}
    fields_table = (*table, "fields")
    for field_key, mask in fields.items():
        if field_key not in FIELDS_BY_KEY:
            findings.add(
                "POLICY_FIELD_UNKNOWN",
                file,
                fields_table,
                field_key,
                f"字段目录中没有字段“{field_key}”。",
                f"unknown field '{field_key}': it is not in the field catalogue "
                "(vault.domain.fields).",
                value=field_key,
            )
            continue
        checked = _check_mask(findings, file, fields_table, field_key, field_key, mask)
        if checked is not None:
            grants.append(Grant(field_key, checked))
    if not fields:
        findings.add(
            "POLICY_GRANTS_EMPTY",
            file,
            table,
            "fields",
            "该用途没有授予任何字段。",
            "the purpose grants no fields.",
            severity="warning",
        )
    return Purpose(name, label_zh, label_en, tuple(grants))


# -- entry points ---------------------------------------------------------

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_files(
    directory: Path, findings: _Findings
) -> tuple[dict[str, dict[str, Any]], dict[str, bytes]]:
    parsed: dict[str, dict[str, Any]] = {}
    contents: dict[str, bytes] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name not in POLICY_FILES:
            findings.add(
                "POLICY_FILE_UNKNOWN",
                path.name,
                (),
                None,
                f"未知的策略文件；策略目录只能包含 {_names(POLICY_FILES)}。请移走此文件，"
                "以免误以为它已生效。",
                f"unknown policy file; a policy directory contains only {_names(POLICY_FILES)}. "
                "Move this file away so nobody takes it for policy in force.",
                value=path.name,
            )

    for name in POLICY_FILES:
        path = directory / name
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            findings.add(
                "POLICY_FILE_MISSING",
                name,
                (),
                None,
                f"策略目录 {directory} 中缺少此文件。",
                f"the file is missing from the policy directory {directory}.",
            )
            continue
        contents[name] = raw
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            findings.add(
                "POLICY_FILE_ENCODING",
                name,
                (),
                None,
                f"文件不是有效的 UTF-8（第 {error.start} 字节）；请以 UTF-8 保存。",
                f"the file is not valid UTF-8 (byte {error.start}); save it as UTF-8.",
            )
            continue
        findings.lines[name] = _LineIndex(text)
        try:
            parsed[name] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            position = _TOML_POSITION.search(str(error))
            line = f"line {position.group(1)}, column {position.group(2)}" if position else ""
            line_zh = f"第 {position.group(1)} 行第 {position.group(2)} 列" if position else ""
            findings.problems.append(
                Problem(
                    "POLICY_TOML_INVALID",
                    None,
                    f"{name}，{line_zh}：TOML 语法错误：{error}。"
                    if line
                    else f"{name}：TOML 语法错误：{error}。",
                    f"{name}, {line}: invalid TOML: {error}."
                    if line
                    else f"{name}: invalid TOML: {error}.",
                )
            )
    return parsed, contents


def _check(directory: Path) -> tuple[PolicySet | None, list[Problem]]:
    findings = _Findings([], {})
    if not directory.is_dir():
        findings.add(
            "POLICY_DIRECTORY_MISSING",
            str(directory),
            (),
            None,
            "策略目录不存在。",
            "the policy directory does not exist.",
        )
        return None, findings.problems

    # Each file that parsed is checked even when another did not, so that one run
    # reports every problem.
    parsed, contents = _parse_files(directory, findings)
    fields: dict[str, FieldRule] = {}
    minor_age = MIN_MINOR_AGE
    roles: dict[str, Role] = {}
    departments: dict[str, Department] = {}
    if FIELDS_FILE in parsed:
        fields, minor_age = _read_fields(findings, parsed[FIELDS_FILE])
    if ROLES_FILE in parsed:
        roles = _read_roles(findings, parsed[ROLES_FILE])
    if DEPARTMENTS_FILE in parsed:
        departments = _read_departments(findings, parsed[DEPARTMENTS_FILE])

    if findings.has_errors or len(parsed) != len(POLICY_FILES):
        return None, findings.problems
    policy = PolicySet(
        fields=MappingProxyType(fields),
        roles=MappingProxyType(roles),
        departments=MappingProxyType(departments),
        minor_age=minor_age,
        version=policy_version(contents),
        files=tuple(sorted(contents)),
    )
    return policy, findings.problems


def check_policies(directory: Path) -> list[Problem]:
    """Validate and lint the policy files in ``directory``; return every error and warning.

    An empty list, or one with warnings only, means ``load_policies`` will succeed.
    """
    return _check(directory)[1]


def load_policies(directory: Path) -> PolicySet:
    """Load the policy files in ``directory``.

    Raise ``PolicyFilesInvalid`` (a ``PolicyError``) listing every error found when
    any file is missing, is not valid TOML or breaks a rule. Warnings do not stop
    loading; ``check_policies`` returns them.
    """
    policy, problems = _check(directory)
    if policy is None:
        raise PolicyFilesInvalid(problems)
    return policy
