"""The rejects workbook: layout, formula neutralisation, re-import round trip."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from vault.errors import Problem
from vault.imports.cells import Cell
from vault.imports.readers import SourceRow, open_source
from vault.imports.rejects import (
    ENTRY_HEADERS,
    SUMMARY_SHEET,
    Category,
    RejectEntry,
    VillageSummary,
    neutralise,
    write_rejects,
)

from .builders import STANDARD_HEADER, person_row, registration_workbook


def problem(code: str, field: str, message: str) -> Problem:
    return Problem(code, field, message, message)


def entry_for(row: SourceRow, *problems: Problem, category: Category = "reject") -> RejectEntry:
    return RejectEntry(
        sheet=row.sheet,
        row_number=row.row_number,
        category=category,
        problems=problems,
        original=row.original,
        column_headers={key: header for header, key in zip(STANDARD_HEADER, KEYS, strict=True)},
    )


KEYS = ("seq", "household_number", "village", "name", "sex", "ethnicity", "birth_date",
        "id_number", "relationship", "phone", "remark")


def source_rows(tmp_path: Path, rows: list[list[object]]) -> list[SourceRow]:
    path = registration_workbook(tmp_path / "source.xlsx", rows)
    with open_source(path) as source:
        return [row for sheet in source.sheets() for row in sheet.rows()]


def values_of(row: SourceRow) -> dict[str, tuple[object, str]]:
    return {key: (cell.value, cell.kind) for key, cell in row.cells.items()}


def test_rejects_round_trip(tmp_path: Path) -> None:
    first = person_row(1)
    first[6] = datetime(1990, 3, 1)
    rows = source_rows(tmp_path, [first, person_row(2)])
    invalid = problem("INVALID_ID_NUMBER", "id_number", "校验码错误")
    entries = [entry_for(row, invalid) for row in rows]
    rejects = write_rejects(tmp_path / "rejects.xlsx", entries)

    with open_source(rejects) as source:
        sheet = next(source.sheets())
        again = list(sheet.rows())

    assert sheet.header_row == 1
    assert [column.key for column in sheet.columns[:6]] == [None] * 6
    assert [column.key for column in sheet.columns[6:]] == list(KEYS)
    assert [values_of(row) for row in again] == [values_of(row) for row in rows]


def test_rejects_summary_sheet_skipped_on_reimport(tmp_path: Path) -> None:
    rows = source_rows(tmp_path, [person_row(1)])
    village = VillageSummary("331024103201", "样本村", 10, 8, 1, 1, 0)
    rejects = write_rejects(
        tmp_path / "rejects.xlsx",
        [entry_for(rows[0], problem("X", "name", "缺少姓名"))],
        villages=[village],
    )

    with open_source(rejects) as source:
        skipped = [(item.code, item.sheet) for item in source.skipped]

    assert skipped == [("SHEET_WITHOUT_HEADER", SUMMARY_SHEET)]


def test_rejects_entry_columns(tmp_path: Path) -> None:
    rows = source_rows(tmp_path, [person_row(1)])
    entry = entry_for(
        rows[0],
        problem("SEX_MISMATCH", "sex", "性别与身份证号不符"),
        problem("PHONE_INVALID", "phone", "电话号码无效"),
    )
    rejects = write_rejects(tmp_path / "rejects.xlsx", [entry])

    sheet = load_workbook(rejects).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    line = [cell.value for cell in sheet[2]]

    assert tuple(header[:6]) == ENTRY_HEADERS
    assert line[:6] == ["登记表", 4, "性别", "SEX_MISMATCH;PHONE_INVALID",
                        "性别与身份证号不符；电话号码无效", "拒绝"]


@pytest.mark.parametrize(("category", "label"), [("warning", "警告"), ("duplicate", "重复")])
def test_rejects_category_labels(tmp_path: Path, category: Category, label: str) -> None:
    rows = source_rows(tmp_path, [person_row(1)])
    entry = entry_for(rows[0], problem("X", "name", "m"), category=category)
    rejects = write_rejects(tmp_path / "rejects.xlsx", [entry])

    sheet = load_workbook(rejects).worksheets[0]

    assert sheet.cell(2, 6).value == label


@pytest.mark.parametrize("value", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\t=1", "\r=1"])
def test_neutralise_formula_triggers(value: str) -> None:
    assert neutralise(value) == "'" + value


def test_neutralise_plain_text_unchanged() -> None:
    assert neutralise("测试1") == "测试1"
    assert neutralise("'=1") == "'=1"


def test_rejects_formulas_written_as_text(tmp_path: Path) -> None:
    original = [
        ("姓名", Cell("=HYPERLINK(\"http://127.0.0.1\",\"x\")", "text")),
        ("备注", Cell("=1+1", "formula")),
        ("联系电话", Cell("+8613800000000", "text")),
        ("公民身份号码", Cell("331024199001010001", "text")),
    ]
    entry = RejectEntry("S", 5, "reject", [problem("X", "name", "m")], original)
    rejects = write_rejects(tmp_path / "rejects.xlsx", [entry])

    with zipfile.ZipFile(rejects) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    sheet = load_workbook(rejects).worksheets[0]
    values = [cell.value for cell in sheet[2]][6:]
    types = [cell.data_type for cell in sheet[2]][6:]

    assert "<f>" not in xml
    assert values == ["'=HYPERLINK(\"http://127.0.0.1\",\"x\")", "'=1+1", "'+8613800000000",
                      "331024199001010001"]
    assert types == ["s", "s", "s", "s"]


def test_rejects_id_text_and_dates_kept(tmp_path: Path) -> None:
    original = [
        ("公民身份号码", Cell("331024199001010001", "text")),
        ("出生日期", Cell(datetime(1990, 3, 1), "date", "yyyy-mm-dd")),
        ("序号", Cell(3, "number", "General")),
    ]
    entry = RejectEntry("S", 5, "reject", [problem("X", "name", "m")], original)
    rejects = write_rejects(tmp_path / "rejects.xlsx", [entry])

    sheet = load_workbook(rejects).worksheets[0]
    id_cell, birth_cell, seq_cell = list(sheet[2])[6:]

    assert id_cell.data_type == "s"
    assert id_cell.number_format == "@"
    assert birth_cell.value == datetime(1990, 3, 1)
    assert birth_cell.is_date
    assert seq_cell.value == 3


def test_rejects_control_character_replaced(tmp_path: Path) -> None:
    original = [("姓名", Cell("甲\x01", "text"))]
    entry = RejectEntry("S", 5, "reject", [problem("X", "name", "m")], original)

    rejects = write_rejects(tmp_path / "rejects.xlsx", [entry])

    assert load_workbook(rejects).worksheets[0].cell(2, 7).value == "甲\ufffd"


def test_rejects_layouts_on_own_sheets(tmp_path: Path) -> None:
    first_layout = [("姓名", Cell("甲", "text"))]
    second_layout = [("名字", Cell("乙", "text"))]
    first = RejectEntry("A", 2, "reject", [problem("X", "name", "m")], first_layout)
    second = RejectEntry("B", 3, "reject", [problem("X", "name", "m")], second_layout)

    rejects = write_rejects(tmp_path / "rejects.xlsx", [first, second, first])

    workbook = load_workbook(rejects)
    assert workbook.sheetnames == ["问题行", "问题行2", SUMMARY_SHEET]
    assert workbook["问题行"].max_row == 3
    assert workbook["问题行2"].cell(1, 7).value == "名字"


def test_rejects_village_summary(tmp_path: Path) -> None:
    villages = [
        VillageSummary("331024103201", "样本村", 200, 180, 10, 6, 4),
        VillageSummary("331024103202", "空村", 0, 0, 0, 0, 0),
    ]

    rejects = write_rejects(tmp_path / "rejects.xlsx", [], villages=villages)

    sheet = load_workbook(rejects)[SUMMARY_SHEET]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert rows == [
        ["331024103201", "样本村", 200, 180, 10, 6, 4, 0.05],
        ["331024103202", "空村", 0, 0, 0, 0, 0, 0],
    ]
    assert sheet.cell(2, 1).data_type == "s"
    assert sheet.cell(2, 8).number_format == "0.00%"


def test_problem_column_falls_back_to_label() -> None:
    entry = RejectEntry("S", 2, "reject", [problem("X", "birth_date", "m")], [])

    assert entry.problem_column() == "出生日期"
