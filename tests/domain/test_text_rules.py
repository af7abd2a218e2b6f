"""Formula-looking text, length limits and ID numbers typed as formulas."""

from __future__ import annotations

from datetime import date

import pytest

from tests.domain.test_registration import CONTEXT, row
from vault.domain.idnumbers import IdNumberInvalid, check_id_cell
from vault.domain.registration import Accepted, Rejected, validate_row
from vault.domain.values import MAX_TEXT_LENGTHS, looks_like_formula
from vault.imports.cells import Cell, text

FORMULAS = [
    '=HYPERLINK("http://127.0.0.1/","x")',
    '=DDE("cmd";"/C calc";"!A0")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-A1",
    "@SUM(A1)",
    "\t=1+1",
    "\r@SUM(A1)",
    "'=1+1",
]
NOT_FORMULAS = ["+86 138 0013 8000", "-5", "-3.5", "-", "0576-87654321", "前进村 12 号"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_text_detected(value: str) -> None:
    assert looks_like_formula(value)


@pytest.mark.parametrize("value", NOT_FORMULAS)
def test_plain_text_not_formula(value: str) -> None:
    assert not looks_like_formula(value)


@pytest.mark.parametrize("field", ["remark", "current_address", "registered_address", "group"])
@pytest.mark.parametrize("value", FORMULAS)
def test_formula_text_rejected(field: str, value: str) -> None:
    result = validate_row(row(**{field: value}), CONTEXT)

    assert isinstance(result, Rejected)
    assert [(p.code, p.field) for p in result.problems] == [("CELL_FORMULA", field)]


def test_forced_text_formula_unwrapped() -> None:
    result = validate_row(row(house_number='="007"'), CONTEXT)

    assert isinstance(result, Accepted), result
    assert result.registration.house_number == "007"


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 50), ("current_address", 200), ("remark", 500), ("house_number", 100)],
)
def test_text_over_limit_rejected(field: str, limit: int) -> None:
    assert MAX_TEXT_LENGTHS.get(field, 100) == limit

    result = validate_row(row(**{field: "张" * (limit + 1)}), CONTEXT)

    assert isinstance(result, Rejected)
    assert [(p.code, p.field) for p in result.problems] == [("TEXT_TOO_LONG", field)]
    assert str(limit) in result.problems[0].message_zh
    assert str(limit) in result.problems[0].message_en


def test_text_at_limit_accepted() -> None:
    result = validate_row(row(remark="备" * 500), CONTEXT)

    assert isinstance(result, Accepted), result


def test_length_counts_code_points() -> None:
    # U+20000 is outside the Basic Multilingual Plane: one code point, two UTF-16 units.
    result = validate_row(row(remark="\U00020000" * 500), CONTEXT)

    assert isinstance(result, Accepted), result


@pytest.mark.parametrize(
    "cell",
    [text("=A1&B1"), text("'=A1"), text("+1+1"), Cell("=A1", "formula")],
)
def test_id_formula_reported(cell: Cell) -> None:
    result = check_id_cell(cell, date(2026, 12, 4))

    assert isinstance(result, IdNumberInvalid)
    assert [p.code for p in result.errors] == ["CELL_FORMULA"]
    assert result.errors[0].field == "id_number"
