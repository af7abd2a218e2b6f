"""Policy loader: the shipped files load, and every kind of broken file is rejected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vault.errors import PolicyError, Problem
from vault.policy import (
    POLICY_FILES,
    PolicyFilesInvalid,
    check_policies,
    default_policy_directory,
    load_policies,
    packaged_policy_directory,
    policy_version,
)

REPOSITORY_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def _copy_policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(packaged_policy_directory(), directory)
    return directory


def _edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the edit needs exactly one {old!r} in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line_of(directory: Path, name: str, text: str) -> int:
    lines = (directory / name).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def _errors(directory: Path) -> list[Problem]:
    with pytest.raises(PolicyFilesInvalid) as caught:
        load_policies(directory)
    errors = [problem for problem in caught.value.problems if problem.severity == "error"]
    assert errors == [p for p in check_policies(directory) if p.severity == "error"]
    return errors


def _only(errors: list[Problem], code: str) -> Problem:
    matching = [problem for problem in errors if problem.code == code]
    assert len(matching) == 1, [problem.code for problem in errors]
    return matching[0]


def test_shipped_policies_clean() -> None:
    assert check_policies(packaged_policy_directory()) == []
    assert check_policies(REPOSITORY_POLICIES) == []


def test_packaged_copy_matches_repository() -> None:
    for name in POLICY_FILES:
        packaged = (packaged_policy_directory() / name).read_bytes()
        assert packaged == (REPOSITORY_POLICIES / name).read_bytes(), name


def test_default_directory_prefers_local(tmp_path: Path) -> None:
    assert default_policy_directory(tmp_path) == packaged_policy_directory()
    (tmp_path / "policies").mkdir()
    assert default_policy_directory(tmp_path) == tmp_path / "policies"


def test_version_hashes_names_and_bytes(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    before = load_policies(directory).version

    _edit(directory, "roles.toml", 'label_zh = "审核员"', 'label_zh = "审核人员"')
    after = load_policies(directory).version

    assert before == load_policies(packaged_policy_directory()).version
    assert after != before
    assert len(after) == 64
    assert policy_version({"a": b"bc"}) != policy_version({"ab": b"c"})


def test_unknown_field_in_catalogue_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "fields.toml", "[fields.remark]", "[fields.religion]")

    errors = _errors(directory)
    unknown = _only(errors, "POLICY_FIELD_UNKNOWN")
    missing = _only(errors, "POLICY_FIELD_MISSING")

    line = _line_of(directory, "fields.toml", "[fields.religion]")
    assert unknown.message_en.startswith(
        f"fields.toml, line {line}, [fields] religion: unknown field"
    )
    assert unknown.message_zh.startswith(f"fields.toml，第 {line} 行，[fields] religion：")
    assert unknown.value == "religion"
    assert missing.value == "remark"


def test_unknown_field_in_department_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "departments.toml", 'marriage_cert_number = "full"', 'bank_account = "full"')

    problem = _only(_errors(directory), "POLICY_FIELD_UNKNOWN")

    line = _line_of(directory, "departments.toml", "bank_account")
    assert f"line {line}" in problem.message_en
    assert "[departments.health.purposes.family-planning.fields] bank_account" in problem.message_en


def test_unfit_display_mask_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "fields.toml", 'display = "name"', 'display = "phone"')

    problem = _only(_errors(directory), "POLICY_MASK_UNFIT")

    line = _line_of(directory, "fields.toml", 'display = "phone"')
    assert problem.message_en.startswith(f"fields.toml, line {line}, [fields.name] display:")
    assert "does not fit field 'name'" in problem.message_en
    assert problem.value == "phone"


def test_unfit_department_mask_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "departments.toml", 'birth_date = "age_band"', 'birth_date = "address"')

    problem = _only(_errors(directory), "POLICY_MASK_UNFIT")

    assert "[departments.statistics.purposes.population-statistics.fields] birth_date" in (
        problem.message_en
    )


def test_unknown_mask_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "departments.toml", 'id_number = "pseudonym"', 'id_number = "scramble"')

    problem = _only(_errors(directory), "POLICY_MASK_UNKNOWN")

    assert problem.value == "scramble"


def test_role_without_jurisdiction_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'label_en = "reviewer"\njurisdiction = "account"\n',
        'label_en = "reviewer"\n',
    )

    problem = _only(_errors(directory), "POLICY_JURISDICTION_MISSING")

    line = _line_of(directory, "roles.toml", "[roles.reviewer]")
    assert problem.message_en.startswith(f"roles.toml, line {line}, [roles.reviewer] jurisdiction:")
    assert "no jurisdiction rule" in problem.message_en


def test_invalid_jurisdiction_rule_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'label_en = "clerk"\njurisdiction = "account"',
        'label_en = "clerk"\njurisdiction = "all"',
    )

    assert _only(_errors(directory), "POLICY_JURISDICTION_INVALID").value == "all"


def test_admin_role_with_other_admin_powers_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'permissions = ["account.manage", "settings.manage"]',
        'permissions = ["account.manage", "settings.manage", "audit.read"]',
    )

    problem = _only(_errors(directory), "POLICY_ADMIN_POWERS_COMBINED")

    assert "[roles.system-admin] permissions" in problem.message_en
    assert problem.value == "security-officer, system-admin"


def test_custom_role_combining_admins_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    with (directory / "roles.toml").open("a", encoding="utf-8") as file:
        file.write(
            '\n[roles.operator]\nlabel_zh = "运维"\nlabel_en = "operator"\n'
            'jurisdiction = "none"\nfield_view = "none"\n'
            'permissions = ["settings.manage", "key.manage"]\n'
        )

    problem = _only(_errors(directory), "POLICY_ADMIN_POWERS_COMBINED")

    assert problem.value == "security-admin, system-admin"
    assert "三权分立" in problem.message_zh


def test_admin_reading_personal_data_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'permissions = ["key.manage", "policy.manage", "policy.read"]',
        'permissions = ["key.manage", "policy.manage", "policy.read", "person.read"]',
    )

    errors = _errors(directory)

    assert _only(errors, "POLICY_ADMIN_PERSONAL_DATA").field == "roles.security-admin.permissions"
    assert _only(errors, "POLICY_JURISDICTION_NONE_WITH_RECORDS")


def test_security_officer_full_view_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'label_en = "security officer"\njurisdiction = "account"\nfield_view = "masked"',
        'label_en = "security officer"\njurisdiction = "account"\nfield_view = "full"',
    )

    assert _only(_errors(directory), "POLICY_AUDITOR_FIELD_VIEW").value == "full"


def test_department_browsing_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'permissions = ["extract.request", "extract.receive"]',
        'permissions = ["extract.request", "extract.receive", "person.search"]',
    )

    assert _only(_errors(directory), "POLICY_DEPARTMENT_BROWSE")


def test_unknown_permission_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "roles.toml", '"request.review"]', '"request.reveiw"]')

    assert _only(_errors(directory), "POLICY_PERMISSION_UNKNOWN").value == "request.reveiw"


def test_lower_minor_age_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "fields.toml", "minor_age = 14", "minor_age = 12")

    problem = _only(_errors(directory), "POLICY_MINOR_AGE_INVALID")

    assert f"line {_line_of(directory, 'fields.toml', 'minor_age = 12')}" in problem.message_en


def test_missing_class_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "fields.toml", '[fields.phone]\nclass = "general"\n', "[fields.phone]\n")

    assert _only(_errors(directory), "POLICY_CLASS_MISSING").field == "fields.phone.class"


def test_unknown_key_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "departments.toml", "receives_minors = false", "receive_minors = false")

    assert _only(_errors(directory), "POLICY_KEY_UNKNOWN").value == "receive_minors"


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "roles.toml",
        'field_view = "masked"\npermissions = ["person.read", "person.search", "person.list"',
        'field_view = masked\npermissions = ["person.read", "person.search", "person.list"',
    )

    problem = _only(_errors(directory), "POLICY_TOML_INVALID")

    line = _line_of(directory, "roles.toml", "field_view = masked")
    assert problem.message_en.startswith(f"roles.toml, line {line}, column")


def test_missing_file_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    (directory / "departments.toml").unlink()

    problem = _only(_errors(directory), "POLICY_FILE_MISSING")

    assert problem.message_en.startswith("departments.toml: the file is missing")


def test_unknown_file_rejected(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    (directory / "roles-new.toml").write_text("", encoding="utf-8")

    assert _only(_errors(directory), "POLICY_FILE_UNKNOWN").value == "roles-new.toml"


def test_missing_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path / "nowhere")

    assert "POLICY_DIRECTORY_MISSING" in [p.code for p in caught.value.problems]


def test_all_problems_reported_together(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(directory, "fields.toml", "[fields.remark]", "[fields.religion]")
    _edit(directory, "roles.toml", '"request.review"]', '"request.reveiw"]')
    _edit(directory, "departments.toml", 'id_number = "pseudonym"', 'id_number = "address"')

    with pytest.raises(PolicyFilesInvalid) as caught:
        load_policies(directory)

    codes = {problem.code for problem in caught.value.problems}
    assert {"POLICY_FIELD_UNKNOWN", "POLICY_PERMISSION_UNKNOWN", "POLICY_MASK_UNFIT"} <= codes
    assert "fields.toml" in caught.value.message_en
    assert "roles.toml" in caught.value.message_en
    assert "departments.toml" in caught.value.message_zh


def test_warnings_do_not_block_loading(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    _edit(
        directory,
        "fields.toml",
        '[fields.remark]\nclass = "sensitive"',
        '[fields.remark]\nclass = "sensitive"\ndisplay = "hidden"',
    )

    problems = check_policies(directory)

    assert [p.code for p in problems] == ["POLICY_DISPLAY_UNUSED"]
    assert problems[0].severity == "warning"
    assert load_policies(directory).fields["remark"].display == "hidden"
