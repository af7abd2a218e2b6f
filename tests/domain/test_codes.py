"""Code tables: labels, codes, everyday wordings and combined forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.domain.codes import (
    EDUCATION,
    ETHNICITY,
    HUKOU_TYPE,
    MARITAL_STATUS,
    MOVE_REASON,
    RELATIONSHIP,
    RESIDENT_CATEGORY,
    SEX,
    TABLES,
    CodeTable,
    CodeValue,
)
from vault.errors import InvalidValue


@pytest.mark.parametrize(
    "raw",
    ["2", "农业户口", "农业", "农村", "2 农业户口", "2农业", "2-农业", "2、农业户口", "２　农业",
     "\u00a02\u200b农业户口 ", "2:农业"],
)
def test_hukou_forms_give_agricultural(raw: str) -> None:
    assert HUKOU_TYPE.parse(raw) == CodeValue("2", "农业户口")


@pytest.mark.parametrize(("raw", "code"), [("非农业", "1"), ("城镇", "1"), ("居民", "3"),
                                           ("居民户口", "3"), ("9", "9")])
def test_hukou_everyday_wordings(raw: str, code: str) -> None:
    assert HUKOU_TYPE.parse(raw).code == code


def test_combined_form_must_agree() -> None:
    with pytest.raises(InvalidValue) as caught:
        HUKOU_TYPE.parse("1 农业")

    assert caught.value.code == "CODE_UNKNOWN"


def test_unknown_value_lists_labels() -> None:
    with pytest.raises(InvalidValue) as caught:
        HUKOU_TYPE.parse("城市")

    error = caught.value
    assert error.code == "CODE_UNKNOWN"
    assert error.field == "hukou_type"
    assert error.value == "城市"
    for label in ("非农业户口", "农业户口", "居民户口", "其他"):
        assert label in error.message_zh
        assert label in error.message_en


def test_blank_raises_missing() -> None:
    with pytest.raises(InvalidValue) as caught:
        SEX.parse(" \u3000")

    assert caught.value.code == "CODE_MISSING"


def test_blank_optional_is_none() -> None:
    assert MARITAL_STATUS.parse_optional("") is None
    assert MARITAL_STATUS.parse_optional("\u3000") is None


@pytest.mark.parametrize(("raw", "code"), [("男", "1"), ("女", "2"), ("1", "1"), ("2 女", "2"),
                                           ("0", "0"), ("9", "9"), ("女性", "2")])
def test_sex_forms_parse(raw: str, code: str) -> None:
    assert SEX.parse(raw).code == code


@pytest.mark.parametrize(("raw", "code"), [("未婚", "10"), ("已婚", "20"), ("初婚", "21"),
                                           ("丧偶", "30"), ("离婚", "40"), ("离异", "40"),
                                           ("20 已婚", "20")])
def test_marital_status_forms_parse(raw: str, code: str) -> None:
    assert MARITAL_STATUS.parse(raw).code == code


@pytest.mark.parametrize(("raw", "code"), [("户主", "02"), ("02", "02"), ("02 户主", "02"),
                                           ("配偶", "10"), ("长子", "22"), ("孙女", "42"),
                                           ("女婿", "28"), ("儿媳", "38")])
def test_relationship_standard_codes(raw: str, code: str) -> None:
    assert RELATIONSHIP.parse(raw).code == code


@pytest.mark.parametrize("raw", ["0", "1", "2", "3", "子女"])
def test_census_numbers_rejected_bare(raw: str) -> None:
    with pytest.raises(InvalidValue):
        RELATIONSHIP.parse(raw)


def test_census_number_with_label_maps() -> None:
    assert RELATIONSHIP.parse("1 配偶").code == "10"
    assert RELATIONSHIP.parse("0 户主").code == "02"


def test_relationship_code_label_conflict_rejected() -> None:
    with pytest.raises(InvalidValue):
        RELATIONSHIP.parse("10 子")


@pytest.mark.parametrize(
    ("raw", "code"),
    [("研究生", "10"), ("博士", "11"), ("硕士", "14"), ("本科", "20"), ("大学", "20"),
     ("大专", "30"), ("中专", "41"), ("职高", "44"), ("技校", "47"), ("高中", "60"),
     ("初中", "70"), ("小学", "80"), ("文盲或半文盲", "90"), ("文盲", "90"),
     ("20 大学本科教育", "20")],
)
def test_education_clerk_forms(raw: str, code: str) -> None:
    assert EDUCATION.parse(raw).code == code


def test_preschool_means_no_education() -> None:
    assert EDUCATION.parse_optional("学龄前") is None
    assert EDUCATION.parse_optional("学前") is None


def test_ethnicity_has_all_groups() -> None:
    codes = [value.code for value in ETHNICITY.values]

    assert codes == [f"{n:02d}" for n in range(1, 57)] + ["97", "98"]
    assert len({value.label for value in ETHNICITY.values}) == 58
    assert ETHNICITY.label("56") == "基诺族"
    assert ETHNICITY.label("97") == "其他未识别民族"


@pytest.mark.parametrize(("raw", "code"), [("汉族", "01"), ("汉", "01"), ("回", "03"),
                                           ("满", "11"), ("土", "30"), ("土家", "15"),
                                           ("1", "01"), ("01", "01"), ("01 汉族", "01"),
                                           ("蒙古", "02"), ("98", "98")])
def test_ethnicity_names_and_codes(raw: str, code: str) -> None:
    assert ETHNICITY.parse(raw).code == code


@given(st.sampled_from(ETHNICITY.values[:56]))
def test_ethnicity_without_suffix_parses(value: CodeValue) -> None:
    short = value.label.removesuffix("族")

    assert ETHNICITY.parse(short) == value


@pytest.mark.parametrize(("raw", "code"), [("常住", "1"), ("流出", "2"), ("流入", "3"),
                                           ("2 流出", "2"), ("流出人口", "2")])
def test_resident_category_forms(raw: str, code: str) -> None:
    assert RESIDENT_CATEGORY.parse(raw).code == code


@pytest.mark.parametrize(("raw", "code"), [("1", "1"), ("务工经商", "1"), ("务工", "1"),
                                           ("8 婚姻嫁娶", "8"), ("9", "9")])
def test_move_reason_forms(raw: str, code: str) -> None:
    assert MOVE_REASON.parse(raw).code == code


def test_move_reason_out_of_range_rejected() -> None:
    with pytest.raises(InvalidValue):
        MOVE_REASON.parse("10")


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_label_and_code_parses(table: CodeTable) -> None:
    for value in table.values:
        assert table.parse(value.label) == value
        assert table.parse(value.code) == value
        assert table.parse(f"{value.code} {value.label}") == value
        assert table.label(value.code) == value.label


@given(st.sampled_from(list(TABLES.values())).flatmap(
    lambda table: st.tuples(st.just(table), st.sampled_from(table.values))))
def test_full_width_forms_parse(pair: tuple[CodeTable, CodeValue]) -> None:
    table, value = pair
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in value.code)

    assert table.parse(f"{full_width}\u3000{value.label}") == value


def test_normalisation_note_for_combined_form() -> None:
    value = HUKOU_TYPE.parse("2 农业户口")

    note = HUKOU_TYPE.normalisation_note("2 农业户口", value)

    assert note is not None
    assert note.severity == "note"
    assert HUKOU_TYPE.normalisation_note("2", value) is None
    assert HUKOU_TYPE.normalisation_note("农业户口", value) is None


@pytest.mark.parametrize("raw", ["2", "农业", "2 农业户口", " 农业 ", "学龄前"])
def test_read_remembers_what_parse_optional_gives(raw: str) -> None:
    table = HUKOU_TYPE if raw != "学龄前" else EDUCATION
    expected = table.parse_optional(raw)
    note = table.normalisation_note(raw, expected) if expected is not None else None

    assert table.read(raw) == (expected, note)
    assert table.read(raw) == (expected, note)


def test_read_raises_afresh_for_unknown_text() -> None:
    errors = []
    for _ in range(2):
        with pytest.raises(InvalidValue) as raised:
            HUKOU_TYPE.read("火星户口")
        errors.append(raised.value)

    assert errors[0] is not errors[1]
    assert errors[0].code == errors[1].code == "CODE_UNKNOWN"
