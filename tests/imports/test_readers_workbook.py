"""Reading .xlsx/.xlsm workbooks: layout, hidden parts, merged cells, dates, bad files."""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from vault.errors import WorkbookError
from vault.imports.cells import Cell
from vault.imports.readers import SourceRow, open_source

from .builders import (
    STANDARD_HEADER,
    SheetSpec,
    person_row,
    person_rows,
    registration_workbook,
    rewrite_part,
    use_builtin_format,
    write_workbook,
    write_wps_workbook,
)

SAMPLE = Path("/work/shared/samples/qingxi-registration.xlsx")


def read_all(path: Path, **options: bool) -> list[SourceRow]:
    with open_source(path, **options) as source:
        return [row for sheet in source.sheets() for row in sheet.rows()]


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample workbook not present")
def test_sample_header_and_rows() -> None:
    with open_source(SAMPLE) as source:
        sheets = list(source.sheets())
        rows = [row for row in sheets[0].rows()]

        assert source.format == "xlsx"
        assert len(sheets) == 1
        assert sheets[0].header_row == 3
        assert len(rows) == 1541
        assert rows[0].row_number == 4
        assert rows[-1].row_number == 1544
        assert source.filing.unit == "清溪镇计生办"
        assert source.filing.filed_on == datetime(2025, 8, 25).date()
        assert source.skipped == []


@pytest.mark.skipif(not SAMPLE.exists(), reason="sample workbook not present")
def test_sample_number_cell_id_kept() -> None:
    rows = read_all(SAMPLE)

    damaged = next(row for row in rows if row.row_number == 964)

    assert damaged.cells["id_number"].kind == "number"


def test_header_below_title_rows(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(3))

    with open_source(path) as source:
        sheet = next(source.sheets())
        rows = list(sheet.rows())

    assert sheet.header_row == 3
    assert [row.row_number for row in rows] == [4, 5, 6]
    assert rows[0].cells["name"].value == "测试1"
    assert rows[0].cells["id_number"].value == "331024199001010001"
    assert source.filing.unit == "测试镇计生办"


def test_other_wordings_and_stray_spaces(tmp_path: Path) -> None:
    header = ["序 号", "户编码", "村\u3000委会", "姓\u00a0名", "性别 ", "民族", "出生\n年月日",
              "身份证\u200b号码", "户主关系", "手机号码", "备\r\n注"]
    table = [[], ["说明：测试数据"], [], [], header, person_row(7)]
    path = write_workbook(tmp_path / "book.xlsx", [SheetSpec("Sheet1", table)])

    with open_source(path) as source:
        sheet = next(source.sheets())
        row = next(sheet.rows())

    assert sheet.header_row == 5
    assert [column.key for column in sheet.columns] == [
        "seq", "household_number", "village", "name", "sex", "ethnicity", "birth_date",
        "id_number", "relationship", "phone", "remark",
    ]
    assert sheet.columns[6].header == "出生\n年月日"
    assert row.cells["id_number"].value == "331024199001010007"


def test_reordered_columns(tmp_path: Path) -> None:
    order = [7, 3, 0, 1, 4, 6, 8, 2, 5, 9, 10]
    header = [STANDARD_HEADER[index] for index in order]
    data = [[person_row(5)[index] for index in order]]
    path = write_workbook(tmp_path / "book.xlsx", [SheetSpec("S", [header, *data])])

    [row] = read_all(path)

    assert row.cells["name"].value == "测试5"
    assert row.cells["id_number"].value == "331024199001010005"
    assert [header for header, _cell in row.original] == header


def test_unknown_columns_kept_in_original(tmp_path: Path) -> None:
    header = [*STANDARD_HEADER, "核对人"]
    data = [[*person_row(1), "甲"]]
    path = write_workbook(tmp_path / "book.xlsx", [SheetSpec("S", [header, *data])])

    with open_source(path) as source:
        sheet = next(source.sheets())
        [row] = list(sheet.rows())

    assert sheet.columns[-1].key is None
    assert "核对人" not in row.cells
    assert row.original[-1][0] == "核对人"
    assert row.original[-1][1].value == "甲"


def test_two_village_sheets(tmp_path: Path) -> None:
    first = SheetSpec("东村", [list(STANDARD_HEADER), *person_rows(2)])
    second = SheetSpec("西村", [["西村登记表"], list(STANDARD_HEADER), *person_rows(3, first=10)])
    path = write_workbook(tmp_path / "book.xlsx", [first, second])

    with open_source(path) as source:
        sheets = list(source.sheets())
        names = [sheet.name for sheet in sheets]
        headers = [sheet.header_row for sheet in sheets]
        rows = [(row.sheet, row.row_number) for sheet in sheets for row in sheet.rows()]

    assert names == ["东村", "西村"]
    assert headers == [1, 2]
    assert rows == [("东村", 2), ("东村", 3), ("西村", 3), ("西村", 4), ("西村", 5)]


def test_sheet_without_header_reported(tmp_path: Path) -> None:
    notes = SheetSpec("说明", [["填表说明"], ["请逐户填写"]])
    data = SheetSpec("登记表", [list(STANDARD_HEADER), *person_rows(1)])
    path = write_workbook(tmp_path / "book.xlsx", [notes, data])

    with open_source(path) as source:
        names = [sheet.name for sheet in source.sheets()]
        skipped = [(item.code, item.sheet) for item in source.skipped]

    assert names == ["登记表"]
    assert skipped == [("SHEET_WITHOUT_HEADER", "说明")]


def test_no_header_anywhere_rejected(tmp_path: Path) -> None:
    spec = SheetSpec("说明", [["姓名", "性别"], ["甲", "男"]])
    path = write_workbook(tmp_path / "book.xlsx", [spec])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_NO_HEADER"
    assert "姓名" in raised.value.message_zh
    assert "公民身份号码" in raised.value.message_en


def test_missing_required_column_rejected(tmp_path: Path) -> None:
    header = [label for label in STANDARD_HEADER if label != "性别"]
    path = write_workbook(tmp_path / "book.xlsx", [SheetSpec("S", [header])])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_MISSING_COLUMNS"
    assert "性别" in raised.value.message_zh
    assert "sex" in raised.value.message_en


def test_merged_household_fills_members(tmp_path: Path) -> None:
    rows = [person_row(1), person_row(2), person_row(3), person_row(4)]
    for row in rows[1:3]:
        row[1] = None
    path = registration_workbook(tmp_path / "book.xlsx", rows, merges=["B4:B6"])

    result = read_all(path)

    households = [row.cells["household_number"].value for row in result]
    assert households == [rows[0][1]] * 3 + [rows[3][1]]


def test_blank_and_seq_only_rows_skipped(tmp_path: Path) -> None:
    seq_only = [9] + [None] * (len(STANDARD_HEADER) - 1)
    table = [list(STANDARD_HEADER), person_row(1), [], seq_only, person_row(2)]
    path = write_workbook(tmp_path / "book.xlsx", [SheetSpec("S", table)])

    result = read_all(path)

    assert [row.row_number for row in result] == [2, 5]


def test_hidden_row_skipped_and_reported(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(3), hidden_rows=[5])

    with open_source(path) as source:
        numbers = [row.row_number for sheet in source.sheets() for row in sheet.rows()]
        skipped = [(item.code, item.sheet, item.row_number) for item in source.skipped]

    assert numbers == [4, 6]
    assert skipped == [("HIDDEN_ROW", "登记表", 5)]


def test_hidden_row_included_on_request(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(3), hidden_rows=[5])

    with open_source(path, include_hidden=True) as source:
        rows = [row for sheet in source.sheets() for row in sheet.rows()]
        skipped = source.skipped

    assert [(row.row_number, row.hidden) for row in rows] == [(4, False), (5, True), (6, False)]
    assert skipped == []


def test_hidden_sheet_skipped_and_reported(tmp_path: Path) -> None:
    visible = SheetSpec("今年", [list(STANDARD_HEADER), *person_rows(1)])
    old = SheetSpec("去年", [list(STANDARD_HEADER), *person_rows(2)], state="hidden")
    path = write_workbook(tmp_path / "book.xlsx", [visible, old])

    with open_source(path) as source:
        names = [sheet.name for sheet in source.sheets()]
        skipped = [(item.code, item.sheet) for item in source.skipped]

    assert names == ["今年"]
    assert skipped == [("HIDDEN_SHEET", "去年")]


def test_hidden_sheet_included_on_request(tmp_path: Path) -> None:
    visible = SheetSpec("今年", [list(STANDARD_HEADER), *person_rows(1)])
    old = SheetSpec("去年", [list(STANDARD_HEADER), *person_rows(2)], state="hidden")
    path = write_workbook(tmp_path / "book.xlsx", [visible, old])

    rows = read_all(path, include_hidden=True)

    assert [(row.sheet, row.hidden) for row in rows] == [
        ("今年", False), ("去年", True), ("去年", True),
    ]


def test_only_hidden_sheets_rejected(tmp_path: Path) -> None:
    visible = SheetSpec("说明", [["填表说明"]])
    old = SheetSpec("去年", [list(STANDARD_HEADER), *person_rows(2)], state="hidden")
    path = write_workbook(tmp_path / "book.xlsx", [visible, old])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_NO_HEADER"
    assert "1 个隐藏工作表" in raised.value.message_zh


@pytest.mark.parametrize(
    ("builtin_id", "format_code", "expected"),
    [
        (31, 'yyyy"年"m"月"d"日"', datetime(1990, 3, 1)),
        (57, 'yyyy"年"m"月"', datetime(1990, 3, 1)),
        (27, 'yyyy"年"m"月"', datetime(1990, 3, 1)),
        (58, 'm"月"d"日"', datetime(1990, 3, 1)),
    ],
)
def test_zh_cn_builtin_date_format(
    tmp_path: Path, builtin_id: int, format_code: str, expected: datetime
) -> None:
    row = person_row(1)
    row[6] = 32933  # 1990-03-01 as a 1900-system serial
    path = registration_workbook(tmp_path / "book.xlsx", [row], number_formats={"G4": format_code})
    use_builtin_format(path, format_code, builtin_id)

    [result] = read_all(path)

    birth = result.cells["birth_date"]
    assert birth.kind == "date"
    assert birth.value == expected
    assert "年" in (birth.number_format or "") or "月" in (birth.number_format or "")


def test_general_number_stays_number(tmp_path: Path) -> None:
    row = person_row(1)
    row[6] = 32933
    path = registration_workbook(tmp_path / "book.xlsx", [row])

    [result] = read_all(path)

    assert result.cells["birth_date"] == Cell(32933, "number", "General")


def test_date_cell_read_as_date(tmp_path: Path) -> None:
    row = person_row(1)
    row[6] = datetime(1990, 3, 1)
    path = registration_workbook(tmp_path / "book.xlsx", [row])

    [result] = read_all(path)

    assert result.cells["birth_date"].kind == "date"
    assert result.cells["birth_date"].value == datetime(1990, 3, 1)


def test_1904_workbook_dates(tmp_path: Path) -> None:
    row = person_row(1)
    row[6] = datetime(1990, 3, 1)
    spec = SheetSpec("S", [list(STANDARD_HEADER), row])
    path = write_workbook(tmp_path / "book.xlsx", [spec], epoch_1904=True)
    with zipfile.ZipFile(path) as archive:
        assert b"date1904" in archive.read("xl/workbook.xml")

    with open_source(path) as source:
        [result] = [row for sheet in source.sheets() for row in sheet.rows()]
        date_system = source.date_system

    assert date_system == 1904
    assert result.cells["birth_date"].value == datetime(1990, 3, 1)
    assert result.cells["birth_date"].date_system == 1904


def test_1904_workbook_builtin_format(tmp_path: Path) -> None:
    row = person_row(1)
    row[6] = 31471  # 1990-03-01 as a 1904-system serial
    spec = SheetSpec("S", [list(STANDARD_HEADER), row], number_formats={"G2": 'yyyy"年"m"月"d"日"'})
    path = write_workbook(tmp_path / "book.xlsx", [spec], epoch_1904=True)
    use_builtin_format(path, 'yyyy"年"m"月"d"日"', 31)

    [result] = read_all(path)

    assert result.cells["birth_date"].value == datetime(1990, 3, 1)


@pytest.mark.parametrize("written", ["1990.3.1", "1990年3月1日", "19900301", "1990/3/1", "90-3-1"])
def test_text_dates_stay_text(tmp_path: Path, written: str) -> None:
    row = person_row(1)
    row[6] = written
    path = registration_workbook(tmp_path / "book.xlsx", [row])

    [result] = read_all(path)

    assert result.cells["birth_date"].kind == "text"
    assert result.cells["birth_date"].value == written


def test_formula_cell_not_evaluated(tmp_path: Path) -> None:
    path = registration_workbook(
        tmp_path / "book.xlsx", [person_row(1)], formulas={"J4": "=CONCATENATE(1,2)"}
    )

    [result] = read_all(path)

    assert result.cells["phone"].kind == "formula"
    assert result.cells["phone"].value == "=CONCATENATE(1,2)"


def test_equals_text_stays_text(tmp_path: Path) -> None:
    path = registration_workbook(
        tmp_path / "book.xlsx", [person_row(1)],
        text_cells={"H4": '="331024199001010001"', "D4": "'测试1"},
    )

    [result] = read_all(path)

    assert result.cells["id_number"].kind == "text"
    assert result.cells["id_number"].value == '="331024199001010001"'
    assert result.cells["name"].value == "'测试1"


def test_wps_written_workbook(tmp_path: Path) -> None:
    rows: list[list[str | int | None]] = [["登记表"], list(STANDARD_HEADER)]
    rows += [[str(value) if value is not None else None for value in person_row(n)] for n in (1, 2)]
    path = write_wps_workbook(tmp_path / "wps.xlsx", rows)

    with open_source(path) as source:
        sheet = next(source.sheets())
        result = list(sheet.rows())

    assert sheet.header_row == 2
    assert [row.row_number for row in result] == [3, 4]
    assert result[1].cells["name"].value == "测试2"
    assert result[1].cells["id_number"].value == "331024199001010002"


def test_stale_dimension_ignored(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(5))
    rewrite_part(
        path, "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C4"', xml),
    )

    result = read_all(path)

    assert len(result) == 5
    assert result[-1].cells["phone"].value == "13800000005"


def test_xlsm_format_reported(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsm", person_rows(1))
    rewrite_part(
        path, "[Content_Types].xml",
        lambda xml: xml.replace(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        ),
    )

    with open_source(path) as source:
        assert source.format == "xlsm"


def test_content_hash_and_name(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(1))

    with open_source(path) as source:
        assert source.content_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert source.file_name == "book.xlsx"


def test_workbook_with_csv_extension(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.csv", person_rows(2))

    with open_source(path) as source:
        assert source.format == "xlsx"


def test_xls_rejected_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_XLS"
    assert "另存为" in raised.value.message_zh
    assert ".xlsx" in raised.value.message_en


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.xlsx", bytes(range(256)) * 8),
        ("notes.xlsx", "这是一个改了扩展名的文本文件\n".encode()),
        ("empty.xlsx", b""),
        ("empty.csv", b""),
        ("page.xls", b"<html><body><table></table></body></html>"),
        ("data.bin", b"1,2,3\n"),
        ("truncated.xlsx", b"PK\x03\x04" + bytes(100)),
    ],
)
def test_non_workbook_unreadable(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_UNREADABLE"


def test_zip_without_workbook_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_UNREADABLE"


def test_damaged_sheet_xml_unreadable(tmp_path: Path) -> None:
    path = registration_workbook(tmp_path / "book.xlsx", person_rows(2))
    rewrite_part(path, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_UNREADABLE"


def test_missing_file_named(tmp_path: Path) -> None:
    """A path that does not exist, or a folder, gets its own code, not a re-save hint."""
    with pytest.raises(WorkbookError) as missing:
        open_source(tmp_path / "absent.xlsx")
    with pytest.raises(WorkbookError) as folder:
        open_source(tmp_path)

    assert missing.value.code == "WORKBOOK_NOT_FOUND"
    assert folder.value.code == "WORKBOOK_IS_FOLDER"
