"""Reading CSV files: encodings, strict decoding, text-only cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.errors import WorkbookError
from vault.imports.readers import SourceRow, open_source

from .builders import STANDARD_HEADER, SheetSpec, person_rows, write_csv, write_workbook
from .synthetic import write_residents_csv

TABLE = [
    ["全员人口信息登记表"],
    ["填报单位：测试镇计生办", "填报日期：2025年8月25日", "填报人：测试员"],
    list(STANDARD_HEADER),
    *person_rows(4),
]


def read_rows(path: Path) -> list[SourceRow]:
    with open_source(path) as source:
        return [row for sheet in source.sheets() for row in sheet.rows()]


def as_texts(rows: list[SourceRow]) -> list[dict[str, str]]:
    return [{key: cell.as_text() for key, cell in row.cells.items()} for row in rows]


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("gb18030", False)]
)
def test_csv_matches_workbook(tmp_path: Path, encoding: str, bom: bool) -> None:
    text_table = [[str(value) for value in row] for row in TABLE]
    workbook = write_workbook(tmp_path / "book.xlsx", [SheetSpec("S", text_table)])
    csv_path = write_csv(tmp_path / "book.csv", TABLE, encoding=encoding, bom=bom)

    from_workbook = read_rows(workbook)
    from_csv = read_rows(csv_path)

    assert as_texts(from_csv) == as_texts(from_workbook)
    assert [row.row_number for row in from_csv] == [row.row_number for row in from_workbook]
    assert [row.original for row in from_csv] == [row.original for row in from_workbook]


def test_csv_bom_not_in_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "book.csv", [list(STANDARD_HEADER), *person_rows(1)], bom=True)

    with open_source(path) as source:
        sheet = next(source.sheets())

    assert sheet.columns[0].header == "序号"
    assert sheet.columns[0].key == "seq"


def test_csv_fields_are_text(tmp_path: Path) -> None:
    rows = person_rows(1)
    rows[0][7] = "3.31024E+17"
    path = write_csv(tmp_path / "book.csv", [list(STANDARD_HEADER), *rows])

    [row] = read_rows(path)

    assert row.cells["id_number"].kind == "text"
    assert row.cells["id_number"].value == "3.31024E+17"
    assert row.cells["seq"].kind == "text"
    assert row.cells["remark"].kind == "empty"


def test_csv_filing_details(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "book.csv", TABLE, encoding="gb18030")

    with open_source(path) as source:
        filing = source.filing
        header_row = next(source.sheets()).header_row

    assert header_row == 3
    assert filing.unit == "测试镇计生办"
    assert filing.collector == "测试员"
    assert filing.filed_on is not None
    assert filing.filed_on.isoformat() == "2025-08-25"


def test_csv_quoted_line_break(tmp_path: Path) -> None:
    rows = person_rows(2)
    rows[0][10] = "第一行\n第二行"
    path = write_csv(tmp_path / "book.csv", [list(STANDARD_HEADER), *rows])

    result = read_rows(path)

    assert result[0].cells["remark"].value == "第一行\n第二行"
    assert [row.row_number for row in result] == [2, 3]


def test_csv_tab_separated(tmp_path: Path) -> None:
    lines = ["\t".join(STANDARD_HEADER)] + ["\t".join(map(str, row)) for row in person_rows(2)]
    path = tmp_path / "book.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    result = read_rows(path)

    assert result[1].cells["name"].value == "测试2"


def test_gb18030_bad_byte_position(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "book.csv", TABLE, encoding="gb18030")
    data = path.read_bytes()
    lines = data.split(b"\n")
    offset = sum(len(line) + 1 for line in lines[:4]) + 3
    path.write_bytes(data[:offset] + b"\xff" + data[offset:])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    error = raised.value
    assert error.code == "WORKBOOK_ENCODING"
    assert "第 5 行" in error.message_zh
    assert f"字节偏移 {offset}" in error.message_zh
    assert f"line 5 (byte offset {offset}" in error.message_en
    assert "\ufffd" not in error.message_zh


def test_utf8_bad_byte_not_read_as_gb(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "book.csv", TABLE, encoding="utf-8")
    data = path.read_bytes()
    # Damage the second byte of a three-byte character; the decoder reports the first.
    offset = data.index("测试3".encode())
    path.write_bytes(data[: offset + 1] + b"\xff" + data[offset + 2 :])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_ENCODING"
    assert "UTF-8" in raised.value.message_en
    assert f"byte offset {offset}" in raised.value.message_en


def test_utf16_text_rejected(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    path.write_bytes(",".join(STANDARD_HEADER).encode("utf-16"))

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_ENCODING"


def test_csv_without_header_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "book.csv", [["a", "b"], ["1", "2"]])

    with pytest.raises(WorkbookError) as raised:
        open_source(path)

    assert raised.value.code == "WORKBOOK_NO_HEADER"


def test_csv_blank_rows_skipped(tmp_path: Path) -> None:
    rows = [list(STANDARD_HEADER), *person_rows(1), [], ["7"], *person_rows(1, first=2)]
    path = write_csv(tmp_path / "book.csv", rows)

    result = read_rows(path)

    assert [row.row_number for row in result] == [2, 5]


def test_broken_quote_mid_file_names_a_line(tmp_path: Path) -> None:
    path = write_residents_csv(tmp_path / "residents.csv", 200, seed=1)
    lines = path.read_bytes().decode().split("\r\n")
    # An opening quote that is never closed swallows the rest of the file into one
    # field, which ends past the csv module's field size limit.
    lines[150] = lines[150].replace(",", ',"', 1)
    path.write_bytes(("\r\n".join(lines) + "x" * 200_000).encode())

    with pytest.raises(WorkbookError) as raised, open_source(path) as source:
        for sheet in source.sheets():
            for _row in sheet.rows():
                pass

    assert raised.value.code == "WORKBOOK_UNREADABLE"
    assert raised.value.value is not None
    assert raised.value.value.startswith("line ")
    assert "field larger" not in raised.value.message_en
    assert "此前已保存的批次保留" in raised.value.message_zh
