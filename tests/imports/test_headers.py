"""Header label clean-up, wording lookup and header-row detection."""

from __future__ import annotations

import pytest

from vault.errors import WorkbookError
from vault.imports.headers import (
    HEADER_WORDINGS,
    check_columns,
    clean_label,
    field_key_for,
    find_header,
)
from vault.imports.rejects import ENTRY_HEADERS

from .builders import STANDARD_HEADER


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("姓 名", "姓名"),
        ("姓\u00a0名", "姓名"),
        ("姓\u3000名", "姓名"),
        ("姓\u200b名", "姓名"),
        ("公民身份\n号码", "公民身份号码"),
        ("公民身份\r\n号码 ", "公民身份号码"),
        ("\ufeff序号", "序号"),
        ("村（居）委会", "村(居)委会"),
        ("村【居】委会", "村(居)委会"),
        ("村［居］委会", "村(居)委会"),
        ("流出〔入〕日期", "流出(入)日期"),
    ],
)
def test_clean_label_variants(label: str, expected: str) -> None:
    assert clean_label(label) == expected


@pytest.mark.parametrize(("key", "wordings"), sorted(HEADER_WORDINGS.items()))
def test_every_wording_maps_back(key: str, wordings: tuple[str, ...]) -> None:
    for wording in wordings:
        assert field_key_for(wording) == key, wording


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("身份证号", "id_number"),
        ("身份证件号码", "id_number"),
        ("证件号码", "id_number"),
        ("户编码", "household_number"),
        ("户 号", "household_number"),
        ("村（社区）", "village"),
        ("出生年月", "birth_date"),
        ("流入（出）地", "move_place"),
        ("*姓名", "name"),
        ("出生日期（格式：19900101）", "birth_date"),
        ("手机号码", "phone"),
    ],
)
def test_field_key_for_wordings(label: str, key: str) -> None:
    assert field_key_for(label) == key


@pytest.mark.parametrize("label", ["", "  ", "合计", "家庭住址备注栏", "原因", "类别"])
def test_field_key_for_unknown(label: str) -> None:
    assert field_key_for(label) is None


@pytest.mark.parametrize("label", ENTRY_HEADERS)
def test_rejects_labels_are_unknown(label: str) -> None:
    assert field_key_for(label) is None


def test_find_header_skips_title_rows() -> None:
    rows = [
        (1, ["全员人口信息登记表"]),
        (2, ["填报单位：测试镇", "", "填报日期：2025年8月25日"]),
        (3, list(STANDARD_HEADER)),
        (4, ["1", "3310", "样本村", "测试1"]),
    ]

    match = find_header(rows)

    assert match is not None
    assert match.row_number == 3
    assert match.keys[3] == "name"


def test_find_header_needs_name_and_id() -> None:
    rows = [(1, ["序号", "户编号", "性别", "民族", "出生日期", "与户主关系", "姓名"])]

    assert find_header(rows) is None


def test_find_header_needs_five_keys() -> None:
    rows = [(1, ["姓名", "公民身份号码", "性别", "备注说明栏"])]

    assert find_header(rows) is None


def test_find_header_prefers_upper_on_tie() -> None:
    rows = [(3, list(STANDARD_HEADER)), (20, list(STANDARD_HEADER))]

    match = find_header(rows)

    assert match is not None
    assert match.row_number == 3


def test_missing_columns_named_in_error() -> None:
    match = find_header([(1, ["姓名", "公民身份号码", "民族", "联系电话", "备注", "性别"])])
    assert match is not None

    with pytest.raises(WorkbookError) as raised:
        check_columns(match, "登记表")

    error = raised.value
    assert error.code == "WORKBOOK_MISSING_COLUMNS"
    assert "出生日期" in error.message_zh
    assert "与户主关系" in error.message_zh
    assert "户编号" in error.message_zh
    assert "birth date" in error.message_en
    assert "relationship to the head" in error.message_en
    assert "household number" in error.message_en
    assert "性别" not in error.message_zh


def test_duplicate_key_names_both_columns() -> None:
    labels = [*STANDARD_HEADER, "身份证号"]
    match = find_header([(1, labels)])
    assert match is not None

    with pytest.raises(WorkbookError) as raised:
        check_columns(match, "登记表")

    error = raised.value
    assert error.code == "WORKBOOK_DUPLICATE_COLUMN"
    assert "公民身份号码" in error.message_zh
    assert "身份证号" in error.message_zh
    assert "公民身份号码" in error.message_en
    assert "身份证号" in error.message_en


def test_village_without_household_accepted() -> None:
    labels = ["村委会", "姓名", "公民身份号码", "性别", "出生日期", "关系"]
    match = find_header([(1, labels)])
    assert match is not None

    check_columns(match, "登记表")
