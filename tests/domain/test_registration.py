"""Validation of whole registration rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pytest
from hypothesis import given

from tests.strategies import citizen_numbers
from vault.domain.divisions import Village, VillageTable
from vault.domain.idnumbers import DocumentType
from vault.domain.registration import (
    Accepted,
    Registration,
    Rejected,
    RowContext,
    no_id_dedup_key,
    validate_row,
)
from vault.imports.cells import Cell, text
from vault.reference import StdnumCountyCodes

TODAY = date(2026, 12, 4)
COUNTIES = StdnumCountyCodes()
VILLAGES = VillageTable.of([
    Village("331024100201", "前进村"),
    Village("331024100202", "红旗村"),
    Village("331024100203", "旧村", None, date(2020, 12, 31)),
])
CONTEXT = RowContext(TODAY, VILLAGES, COUNTIES, "331024")

# A synthetic male citizen number born 1949-10-01.
MALE_NUMBER = "110105194910010015"


def row(**values: str | Cell) -> dict[str, Cell]:
    base: dict[str, str | Cell] = {
        "seq": "1",
        "household_number": "331024100201030012",
        "village": "前进村",
        "name": "张三",
        "sex": "1",
        "ethnicity": "汉族",
        "birth_date": "1949-10-01",
        "id_number": MALE_NUMBER,
        "relationship": "02",
    }
    base.update(values)
    return {key: value if isinstance(value, Cell) else text(value) for key, value in base.items()}


def accepted(cells: Mapping[str, Cell], context: RowContext = CONTEXT) -> Accepted:
    result = validate_row(cells, context)
    assert isinstance(result, Accepted), result
    return result


def rejected(cells: Mapping[str, Cell], context: RowContext = CONTEXT) -> Rejected:
    result = validate_row(cells, context)
    assert isinstance(result, Rejected), result
    return result


def error_fields(result: Rejected) -> dict[str, str | None]:
    return {problem.code: problem.field for problem in result.problems}


# -- accepted rows ---------------------------------------------------------------


def test_complete_row_accepted() -> None:
    result = accepted(row(
        marital_status="20", education="初中", hukou_type="2 农业户口", phone="138 1234 1234",
        group="3", house_number="12号", remark="-",
    ))

    registration = result.registration
    assert registration.name == "张三"
    assert registration.sex == "1"
    assert registration.birth_date == date(1949, 10, 1)
    assert registration.birth_year == 1949
    assert registration.relationship == "02"
    assert registration.village_code == "331024100201"
    assert registration.household_number == "331024100201030012"
    assert registration.ethnicity == "01"
    assert registration.hukou_type == "2"
    assert registration.education == "70"
    assert registration.phone == "13812341234"
    assert registration.remark == "-"
    assert registration.document is not None
    assert registration.document.type is DocumentType.CITIZEN_ID
    assert registration.document.number == MALE_NUMBER


def test_cleanups_are_notes_only() -> None:
    result = accepted(row(id_number="110105 19491001 0015", hukou_type="2农业",
                          birth_date="1949.10.1", sex="１"))

    assert {p.severity for p in result.problems} == {"note"}
    assert result.registration.document is not None
    assert result.registration.document.original == "110105 19491001 0015"


def test_birth_date_taken_from_number() -> None:
    result = accepted(row(birth_date=""))

    assert result.registration.birth_date == date(1949, 10, 1)


def test_village_from_name_alone() -> None:
    result = accepted(row(household_number="", village="红旗"))

    assert result.registration.village_code == "331024100202"
    assert result.registration.household_number is None


def test_village_from_number_alone() -> None:
    result = accepted(row(village=""))

    assert result.registration.village_code == "331024100201"


def test_unmatched_name_with_number_warns() -> None:
    result = accepted(row(village="幸福村"))

    assert [(p.code, p.severity) for p in result.problems] == [("VILLAGE_UNKNOWN", "warning")]


def test_retired_village_code_warns() -> None:
    result = accepted(row(household_number="331024100203010001", village=""))

    assert [p.code for p in result.problems] == ["VILLAGE_RETIRED"]


def test_missing_number_accepted_with_warning() -> None:
    result = accepted(row(id_number=""))

    assert result.registration.document is None
    assert [(p.code, p.severity) for p in result.problems] == [("ID_MISSING", "warning")]


def test_placeholder_number_recorded_as_none() -> None:
    result = accepted(row(id_number="000000000000000000"))

    assert result.registration.document is None
    assert [p.code for p in result.problems] == ["ID_PLACEHOLDER"]


def test_fifteen_digit_number_converted() -> None:
    result = accepted(row(id_number="110105491001001"))

    document = result.registration.document
    assert document is not None
    assert document.number == MALE_NUMBER
    assert document.original == "110105491001001"
    assert "ID_CONVERTED_15" in {p.code for p in result.problems}


def test_unknown_sex_allowed_with_number() -> None:
    assert accepted(row(sex="9")).registration.sex == "9"


def test_outside_address_gets_county() -> None:
    result = accepted(row(current_address="浙江省宁波市鄞州区首南街道"))

    assert result.registration.current_address == "浙江省宁波市鄞州区首南街道"
    assert result.registration.current_county == "330212"


def test_local_address_has_no_county() -> None:
    result = accepted(row(current_address="3组12号"))

    assert result.registration.current_county is None


def test_outflow_with_move_details_accepted() -> None:
    result = accepted(row(resident_category="流出", move_date="2020-05-01",
                          move_place="浙江省宁波市鄞州区", move_reason="1 务工经商"))

    registration = result.registration
    assert registration.resident_category == "2"
    assert registration.move_date == date(2020, 5, 1)
    assert registration.move_county == "330212"
    assert registration.move_reason == "1"


def test_permit_holder_accepted() -> None:
    result = accepted(row(id_number="810000197001010028", sex="2", birth_date="1970-01-01",
                          id_type="港澳居民居住证"))

    assert result.registration.document is not None
    assert result.registration.document.type is DocumentType.HONG_KONG_PERMIT


def test_dedup_key_material() -> None:
    registration = accepted(row(id_number="")).registration

    assert no_id_dedup_key(registration) == ("张三", date(1949, 10, 1), "331024100201")


@given(citizen_numbers(TODAY))
def test_generated_numbers_register(number: str) -> None:
    sex = "1" if int(number[16]) % 2 else "2"

    result = validate_row(row(id_number=number, sex=sex, birth_date=""), CONTEXT)

    assert isinstance(result, Accepted)
    assert result.registration.birth_date.strftime("%Y%m%d") == number[6:14]


# -- rejected rows ---------------------------------------------------------------


def test_sex_against_17th_digit_rejected() -> None:
    result = rejected(row(id_number="110105198808080111", birth_date="1988-08-08", sex="女"))

    assert error_fields(result) == {"SEX_MISMATCH": "sex"}


def test_birth_date_contradiction_rejected() -> None:
    result = rejected(row(birth_date="1949-10-02"))

    assert error_fields(result) == {"BIRTH_DATE_MISMATCH": "birth_date"}


def test_every_error_reported() -> None:
    result = rejected(row(
        name="张3", sex="X", relationship="2", id_number="110105194910010016",
        birth_date="03/01/1990", phone="12345", education="博士后", hukou_type="城市",
    ))

    assert {(p.code, p.field) for p in result.problems} == {
        ("NAME_CHARACTERS", "name"),
        ("CODE_UNKNOWN", "sex"),
        ("CODE_UNKNOWN", "relationship"),
        ("CODE_UNKNOWN", "education"),
        ("CODE_UNKNOWN", "hukou_type"),
        ("ID_CHECKSUM", "id_number"),
        ("DATE_AMBIGUOUS", "birth_date"),
        ("PHONE_INVALID", "phone"),
    }
    assert all(p.severity == "error" for p in result.problems)


def test_required_fields_missing_rejected() -> None:
    result = rejected({"seq": text("1")})

    missing = {p.field for p in result.problems if p.code == "FIELD_MISSING"}
    assert missing == {"name", "sex", "relationship", "birth_date", "village"}


def test_unresolvable_village_rejected() -> None:
    result = rejected(row(household_number="", village="幸福村"))

    assert error_fields(result) == {"VILLAGE_UNKNOWN": "village"}


def test_village_name_contradiction_rejected() -> None:
    result = rejected(row(village="红旗村"))

    assert error_fields(result) == {"VILLAGE_MISMATCH": "village"}


def test_village_outside_office_rejected() -> None:
    result = rejected(row(household_number="331023100201030012", village=""))

    assert error_fields(result) == {"VILLAGE_OUTSIDE_OFFICE": "village"}


def test_household_number_cell_rejected() -> None:
    result = rejected(row(household_number=Cell(331024100201030012, "number"), village=""))

    assert "HOUSEHOLD_NUMBER_CELL" in error_fields(result)


def test_id_number_cell_rejected() -> None:
    result = rejected(row(id_number=Cell(1.10105194910010e17, "number")))

    assert error_fields(result) == {"ID_NUMBER_CELL": "id_number"}


@pytest.mark.parametrize("category", ["流出", "2 流出", "流入", "3"])
def test_moved_resident_needs_details(category: str) -> None:
    result = rejected(row(resident_category=category))

    assert error_fields(result) == {"MOVE_DATE_MISSING": "move_date",
                                    "MOVE_PLACE_MISSING": "move_place"}


def test_resident_without_move_accepted() -> None:
    assert accepted(row(resident_category="常住")).registration.resident_category == "1"


def test_move_before_birth_rejected() -> None:
    result = rejected(row(resident_category="流入", move_date="1940-01-01", move_place="外省"))

    assert error_fields(result) == {"MOVE_DATE_BEFORE_BIRTH": "move_date"}


def test_future_birth_column_rejected() -> None:
    result = rejected(row(id_number="", birth_date="2027-01-01"))

    assert error_fields(result) == {"BIRTH_DATE_FUTURE": "birth_date"}


def test_document_type_mismatch_rejected() -> None:
    result = rejected(row(id_type="台湾居民居住证"))

    assert error_fields(result) == {"ID_TYPE_MISMATCH": "id_type"}


def test_errors_never_quote_personal_values() -> None:
    result = rejected(row(name="张3", id_number="110105194910010016", phone="12345",
                          current_address="某地\x07"))

    for problem in result.problems:
        for text_value in (problem.message_zh, problem.message_en, problem.value or ""):
            assert "张3" not in text_value
            assert "1101051949" not in text_value
            assert "12345" not in text_value


def test_registration_is_frozen() -> None:
    registration = accepted(row()).registration

    with pytest.raises(AttributeError):
        registration.name = "李四"  # type: ignore[misc]  # the assignment itself is under test
    assert isinstance(registration, Registration)
