"""Names, dates, phones and free text."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.domain.values import (
    cell_text,
    parse_date,
    parse_date_text,
    parse_name,
    parse_phone,
    parse_text,
    serial_to_date,
    text_cell_value,
)
from vault.errors import InvalidValue
from vault.imports.cells import Cell

# -- names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["王芳", "买买提·艾力", "阿依古丽•吐尔逊", "古丽・热合曼", "李〇", "𠀀明", "张𪚥",
     "John Smith", "Marie-Claire Dubois", "O'Neil", "José García", "Jose\u0301"],
)
def test_valid_name_kept_exactly(name: str) -> None:
    result = parse_name(name)

    assert result.value == name
    assert result.problems == ()


def test_name_counts_code_points() -> None:
    assert len(parse_name("𠀀明").value) == 2


def test_surrounding_space_trimmed_silently() -> None:
    result = parse_name(" \u3000王芳\u00a0 ")

    assert result.value == "王芳"
    assert result.problems == ()


def test_padding_between_characters_removed() -> None:
    result = parse_name("王\u3000芳")

    assert result.value == "王芳"
    assert [p.code for p in result.problems] == ["NAME_NORMALISED"]
    assert result.problems[0].severity == "note"


def test_latin_space_runs_collapsed() -> None:
    result = parse_name("John \u00a0 Smith")

    assert result.value == "John Smith"
    assert result.problems[0].severity == "note"


def test_zero_width_removed_from_name() -> None:
    assert parse_name("王\u200b芳").value == "王芳"


def test_private_use_accepted_with_warning() -> None:
    result = parse_name("王\ue000")

    assert result.value == "王\ue000"
    assert [(p.code, p.severity) for p in result.problems] == [("NAME_PRIVATE_USE", "warning")]


@pytest.mark.parametrize(
    "name",
    ["王芳2", "=王芳", "王\u0301芳", "王芳(小)", "王【芳】", "·王芳", "王芳·", "王··芳",
     "-John", "O'", "王\x07芳", "@@", "·"],
)
def test_invalid_name_rejected(name: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_name(name)

    assert caught.value.code == "NAME_CHARACTERS"
    assert caught.value.value is None


def test_blank_name_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_name(" \u3000 ")

    assert caught.value.code == "NAME_MISSING"


def test_name_error_never_quotes_name() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_name("王芳2")

    assert "王芳" not in caught.value.message_zh
    assert "王芳" not in caught.value.message_en


# -- dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["1990-03-01", "1990.3.1", "1990年3月1日", "1990年03月01日", "19900301", "1990/3/1",
     "1990-3-1", "１９９０－０３－０１", "１９９０年３月１日", " 1990-03-01 ",
     "1990-03-01 00:00:00", "1990 . 3 . 1"],
)
def test_text_date_styles_parse(text: str) -> None:
    assert parse_date_text(text).value == "1990-03-01"


def test_iso_date_needs_no_note() -> None:
    assert parse_date_text("1990-03-01").problems == ()
    assert parse_date_text("1990.3.1").problems[0].severity == "note"


@pytest.mark.parametrize("text", ["03/01/1990", "1/3/1990", "01.03.1990", "90.3.1", "90-03-01",
                                  "900301", "25/12/1990", "90年3月1日"])
def test_ambiguous_date_rejected(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date_text(text)

    assert caught.value.code == "DATE_AMBIGUOUS"
    assert "YYYY-MM-DD" in caught.value.message_zh


@pytest.mark.parametrize("text", ["1990-02-30", "1900-02-29", "1990-13-01", "19900230"])
def test_impossible_date_rejected(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date_text(text)

    assert caught.value.code == "DATE_INVALID"


@pytest.mark.parametrize("text", ["三月一日", "1990", "1990-03", "next week", "1990-03-01 12:30"])
def test_unreadable_date_rejected(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_date_text(text)

    assert caught.value.code == "DATE_FORMAT"


def test_leap_day_2000_parses() -> None:
    assert parse_date_text("2000-02-29").value == "2000-02-29"


@pytest.mark.parametrize(
    ("serial", "system", "expected"),
    [(1, 1900, date(1900, 1, 1)), (59, 1900, date(1900, 2, 28)), (61, 1900, date(1900, 3, 1)),
     (32933, 1900, date(1990, 3, 1)), (0, 1904, date(1904, 1, 1)),
     (31471, 1904, date(1990, 3, 1)), (32933.75, 1900, date(1990, 3, 1))],
)
def test_serial_numbers_convert(serial: float, system: int, expected: date) -> None:
    assert serial_to_date(serial, system) == expected


def test_phantom_leap_day_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        serial_to_date(60)

    assert caught.value.code == "DATE_INVALID"


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_serial_round_trip_1900(day: date) -> None:
    serial = (day - date(1899, 12, 30)).days

    assert serial_to_date(serial, 1900) == day


@given(st.dates(min_value=date(1904, 1, 1), max_value=date(9999, 12, 31)))
def test_serial_round_trip_1904(day: date) -> None:
    serial = (day - date(1904, 1, 1)).days

    assert serial_to_date(serial, 1904) == day


def test_general_format_integer_is_serial() -> None:
    value, notes = parse_date(Cell(32933, "number", "General"))

    assert value == date(1990, 3, 1)
    assert notes == ()


def test_1904_workbook_serial_shifts() -> None:
    value, _ = parse_date(Cell(31471, "number", None, 1904))

    assert value == date(1990, 3, 1)


def test_eight_digit_number_is_compact_date() -> None:
    value, _ = parse_date(Cell(19900301, "number", "General"))

    assert value == date(1990, 3, 1)


def test_date_cell_gives_date() -> None:
    assert parse_date(Cell(datetime(1990, 3, 1), "date"))[0] == date(1990, 3, 1)
    assert parse_date(Cell(date(1990, 3, 1), "date"))[0] == date(1990, 3, 1)


def test_text_cell_date_parses() -> None:
    assert parse_date(Cell("1990年3月1日", "text"))[0] == date(1990, 3, 1)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}.{m}.{d}", "{y}年{m}月{d}日",
                        "{y}{m:02d}{d:02d}", "{y}/{m}/{d}"]))
def test_text_styles_round_trip(day: date, style: str) -> None:
    text = style.format(y=day.year, m=day.month, d=day.day)

    assert parse_date_text(text).value == day.isoformat()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_year_last_never_guessed(day: date) -> None:
    with pytest.raises(InvalidValue):
        parse_date_text(f"{day.day:02d}/{day.month:02d}/{day.year}")


def test_serial_zero_rejected() -> None:
    with pytest.raises(InvalidValue):
        serial_to_date(0, 1900)
    with pytest.raises(InvalidValue):
        serial_to_date(-1, 1904)


# -- phones --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["13812341234", "138 1234 1234", "138-1234-1234", "+86 138 1234 1234", "+8613812341234",
     "86-13812341234", "0086 13812341234", "１３８１２３４１２３４"],
)
def test_mobile_forms_clean(raw: str) -> None:
    phone = parse_phone(raw)

    assert phone.kind == "mobile"
    assert phone.number == "13812341234"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0576-87654321", "0576-87654321"), ("(0576)87654321", "0576-87654321"),
     ("0576 8765 4321", "0576-87654321"), ("010-62345678", "010-62345678"),
     ("021 5234567", "021-5234567"), ("（0576）8765432", "0576-8765432")],
)
def test_landline_forms_clean(raw: str, expected: str) -> None:
    phone = parse_phone(raw)

    assert phone.kind == "landline"
    assert phone.number == expected


@pytest.mark.parametrize(
    "raw",
    ["87654321", "1381234123", "138123412345", "12812341234", "13812341234/13912341234",
     "0576-0123456", "无", "110", "+1 415 555 0100"],
)
def test_invalid_phone_rejected(raw: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_phone(raw)

    assert caught.value.code == "PHONE_INVALID"
    assert caught.value.value is None


def test_clean_phone_has_no_note() -> None:
    assert parse_phone("13812341234").problems == ()
    assert parse_phone("138 1234 1234").problems[0].severity == "note"


# -- free text and cells -------------------------------------------------------


def test_text_trimmed() -> None:
    assert parse_text("\u3000 三组12号 \u00a0", "house_number") == "三组12号"


def test_text_keeps_line_breaks() -> None:
    assert parse_text("第一行\n第二行", "remark") == "第一行\n第二行"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_character_rejected(char: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_text(f"备注{char}内容", "remark")

    assert caught.value.code == "TEXT_CONTROL_CHARACTER"
    assert caught.value.field == "remark"


def test_formula_like_text_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_text("=1+1", "remark")

    assert caught.value.code == "CELL_FORMULA"
    assert caught.value.field == "remark"


def test_text_formula_cell_unwrapped() -> None:
    assert cell_text(Cell('="007"', "formula"), "house_number") == "007"


def test_computed_formula_cell_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        cell_text(Cell("=A1&B1", "formula"), "remark")

    assert caught.value.code == "CELL_FORMULA"


def test_number_cell_reads_as_text() -> None:
    assert cell_text(Cell(3.0, "number"), "group") == "3"


def _outcome(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except InvalidValue as error:
        return error.code


@given(st.text(max_size=120), st.sampled_from(["name", "remark", "group", "phone"]))
def test_text_cell_value_agrees_with_the_general_path(text: str, field: str) -> None:
    # The quick check must give what cell_text and parse_text give, or the same error.
    cell = Cell(text, "text") if text else Cell(None, "empty")

    assert _outcome(text_cell_value, cell, field) == _outcome(
        lambda c, f: parse_text(cell_text(c, f), f), cell, field)


@given(st.text(alphabet="\u3007\u4e00\u4e8c\u5f20\u9fa5\u3400\uf900", min_size=1, max_size=8))
def test_names_of_plain_ideographs_come_back_unchanged(name: str) -> None:
    assert parse_name(name).value == name
    assert parse_name(name).problems == ()
