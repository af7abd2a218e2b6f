"""Explain and diff: what a role or department sees, and what a policy change grants."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from policy_golden import DEPARTMENTS, MASKED_VIEW

from vault.domain.fields import FIELDS
from vault.errors import PolicyError
from vault.policy import (
    PolicySet,
    diff,
    explain,
    load_policies,
    packaged_policy_directory,
    render_diff,
    render_explain,
)

CATALOGUE = [field.key for field in FIELDS]


def test_explain_reviewer_matches_golden(shipped_policy: PolicySet) -> None:
    rows = explain(shipped_policy, role="reviewer")

    assert [row.field for row in rows] == CATALOGUE
    for row in rows:
        assert row.masking == MASKED_VIEW[row.field], row.field
        assert row.minor_masking is None, row.field
        assert row.scope_zh == "本账号辖区（区划代码前缀）内"


def test_explain_system_admin_sees_nothing(shipped_policy: PolicySet) -> None:
    rows = explain(shipped_policy, role="system-admin")

    assert all(row.masking is None for row in rows)
    assert {row.scope_zh for row in rows} == {"不接触个人信息"}


def test_explain_department_rows(shipped_policy: PolicySet) -> None:
    rows = explain(shipped_policy, department="health")
    _, purposes = DEPARTMENTS["health"]

    granted = {(row.field, row.purpose): row.masking for row in rows if row.purpose}
    expected = {
        (key, purpose): mask for purpose, grants in purposes.items() for key, mask in grants.items()
    }
    hidden = {row.field for row in rows if row.purpose is None}

    assert granted == expected
    assert hidden == set(CATALOGUE) - {key for key, _ in expected}
    assert all(row.masking is None for row in rows if row.purpose is None)


def test_explain_rejects_unknown_names(shipped_policy: PolicySet) -> None:
    with pytest.raises(PolicyError) as no_target:
        explain(shipped_policy)
    with pytest.raises(PolicyError) as unknown_role:
        explain(shipped_policy, role="superuser")
    with pytest.raises(PolicyError) as unknown_department:
        explain(shipped_policy, department="tax")
    with pytest.raises(PolicyError) as department_role:
        explain(shipped_policy, role="department")

    assert no_target.value.code == "POLICY_EXPLAIN_TARGET_MISSING"
    assert unknown_role.value.code == "POLICY_NAME_UNKNOWN"
    assert unknown_department.value.code == "POLICY_NAME_UNKNOWN"
    assert department_role.value.code == "POLICY_EXPLAIN_DEPARTMENT_ROLE"


def test_render_explain_in_chinese(shipped_policy: PolicySet) -> None:
    text = render_explain(explain(shipped_policy, department="statistics"))
    lines = text.splitlines()

    assert lines[0].split() == ["字段", "敏感级别", "成年人", "未成年人", "用途", "范围"]
    assert len(lines) == 2 + len(CATALOGUE)
    assert any("公民身份号码 (id_number)" in line and "假名" in line for line in lines)
    assert any("姓名 (name)" in line and "不可见" in line for line in lines)


def test_render_explain_in_english(shipped_policy: PolicySet) -> None:
    text = render_explain(explain(shipped_policy, role="clerk"), "en")

    assert text.splitlines()[0].split()[:2] == ["field", "class"]
    assert "in full" in text


def _changed_policy(tmp_path: Path, name: str, old: str, new: str) -> PolicySet:
    directory = tmp_path / "policies"
    shutil.copytree(packaged_policy_directory(), directory)
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_policies(directory)


def test_diff_of_same_policy_is_empty(shipped_policy: PolicySet) -> None:
    assert diff(shipped_policy, shipped_policy) == []
    assert render_diff([]) == "两份策略的效果相同。"


def test_diff_reports_masking_change(shipped_policy: PolicySet, tmp_path: Path) -> None:
    new = _changed_policy(tmp_path, "fields.toml", 'display = "name"', 'display = "hidden"')

    changes = diff(shipped_policy, new)

    summary = {(c.kind, c.holder, c.item, c.old, c.new) for c in changes}
    assert summary == {
        ("masking-changed", "catalogue fields", "display name", "name", "hidden"),
        ("masking-changed", "role reviewer", "field name adult", "name", "hidden"),
        ("masking-changed", "role security-officer", "field name adult", "name", "hidden"),
    }
    assert "角色 reviewer：改变掩码 字段 姓名 (name)：姓名脱敏 → 隐藏" in render_diff(changes)


def test_diff_reports_grant_and_removal(shipped_policy: PolicySet, tmp_path: Path) -> None:
    new = _changed_policy(
        tmp_path,
        "departments.toml",
        'education = "full"\nregistered_address = "full"\ncurrent_address = "address"',
        'registered_address = "full"\ncurrent_address = "address"\nremark = "hidden"',
    )

    changes = diff(shipped_policy, new)

    summary = {(c.kind, c.item, c.old, c.new) for c in changes}
    holder = {c.holder for c in changes}
    assert holder == {"purpose military-service/conscription-registration"}
    assert summary == {
        ("removed", "field education adult", "full", None),
        ("granted", "field remark adult", None, "hidden"),
    }
    text = render_diff(changes, "en")
    assert "removes field education (education) (was in full)" in text
    assert "grants field remark (remark): hidden" in text


def test_diff_reports_permission_removal(shipped_policy: PolicySet, tmp_path: Path) -> None:
    new = _changed_policy(
        tmp_path,
        "roles.toml",
        'permissions = ["person.read", "person.search", "person.list", "request.review"]',
        'permissions = ["person.read", "person.search", "request.review"]',
    )

    changes = diff(shipped_policy, new)

    assert [(c.kind, c.holder, c.item) for c in changes] == [
        ("removed", "role reviewer", "permission person.list")
    ]
    assert changes[0].message_zh == "角色 reviewer：取消 权限 person.list"
    assert changes[0].message_en == "role reviewer: removes permission person.list"


def test_diff_reports_children_granted(shipped_policy: PolicySet, tmp_path: Path) -> None:
    new = _changed_policy(
        tmp_path, "departments.toml", "receives_minors = false", "receives_minors = true"
    )

    changes = diff(shipped_policy, new)

    _, purposes = DEPARTMENTS["military-service"]
    granted = {c.item for c in changes if c.kind == "granted"}
    changed = [(c.holder, c.item, c.old, c.new) for c in changes if c.kind == "changed"]
    assert granted == {f"field {key} minor" for key in purposes["conscription-registration"]}
    assert changed == [("department military-service", "receives_minors", "false", "true")]
