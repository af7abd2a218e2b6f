"""Builders for the workbooks and CSV files the import tests read.

All personal values are synthetic: names are 测试 plus a number and ID numbers
use a county code with a serial, not real people.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

STANDARD_HEADER: tuple[str, ...] = (
    "序号", "户编号", "村(居)委会", "姓名", "性别", "民族", "出生日期", "公民身份号码",
    "与户主关系", "联系电话", "备注",
)


def person_row(number: int, *, household: str | None = None) -> list[Any]:
    """Return one synthetic data row matching ``STANDARD_HEADER``."""
    return [
        number,
        household or f"3310241032010{number // 4:05d}",
        "样本村",
        f"测试{number}",
        "男" if number % 2 else "女",
        "汉族",
        f"1990{(number % 12) + 1:02d}01",
        f"33102419900101{number % 10000:04d}",
        "户主" if number % 4 == 0 else "子",
        f"1380000{number % 10000:04d}",
        "",
    ]


def person_rows(count: int, *, first: int = 1) -> list[list[Any]]:
    return [person_row(number) for number in range(first, first + count)]


@dataclass
class SheetSpec:
    """One sheet to write: rows from row 1 (title and filing rows included) and extras."""

    title: str
    rows: Sequence[Sequence[Any]]
    hidden_rows: Sequence[int] = ()
    merges: Sequence[str] = ()
    state: str = "visible"
    number_formats: dict[str, str] = field(default_factory=dict)
    formulas: dict[str, str] = field(default_factory=dict)
    text_cells: dict[str, str] = field(default_factory=dict)


def write_workbook(
    path: Path, sheets: Sequence[SheetSpec], *, epoch_1904: bool = False
) -> Path:
    """Write ``sheets`` with openpyxl in normal mode; ``text_cells`` are forced to strings."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    if epoch_1904:
        workbook.epoch = CALENDAR_MAC_1904
    for spec in sheets:
        worksheet = workbook.create_sheet(spec.title)
        worksheet.sheet_state = spec.state
        for row in spec.rows:
            worksheet.append(list(row))
        for number in spec.hidden_rows:
            worksheet.row_dimensions[number].hidden = True
        for coordinate, number_format in spec.number_formats.items():
            worksheet[coordinate].number_format = number_format
        for coordinate, formula in spec.formulas.items():
            worksheet[coordinate] = formula
        for coordinate, value in spec.text_cells.items():
            worksheet[coordinate].value = value
            worksheet[coordinate].data_type = "s"
        for merged in spec.merges:
            worksheet.merge_cells(merged)
    workbook.save(path)
    return path


def registration_workbook(path: Path, rows: Sequence[Sequence[Any]], **extras: Any) -> Path:
    """Write one sheet with a title row, a filing row and ``STANDARD_HEADER`` on row 3."""
    table = [["清溪镇全员人口信息登记表"], ["填报单位：测试镇计生办　　填报日期：2025年8月25日"]]
    table.append(list(STANDARD_HEADER))
    table.extend(rows)
    return write_workbook(path, [SheetSpec("登记表", table, **extras)])


def rewrite_part(path: Path, part: str, change: Callable[[str], str]) -> None:
    """Rewrite one XML part of a workbook package in place; fail if ``change`` changes nothing."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    before = contents[part].decode("utf-8")
    after = change(before)
    assert after != before, f"rewriting {part} changed nothing"
    contents[part] = after.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def use_builtin_format(path: Path, format_code: str, builtin_id: int) -> None:
    """Point every style using ``format_code`` at a built-in id and drop the code.

    openpyxl writes any format string it does not know as a custom format (id 164
    and up); Excel writes the zh-CN date formats as bare built-in ids instead.
    """
    escaped = escape(format_code, {'"': "&quot;"})

    def change(styles: str) -> str:
        pattern = rf'<numFmt numFmtId="(\d+)" formatCode="{re.escape(escaped)}"\s*/>'
        found = re.search(pattern, styles)
        assert found, "format code not found in styles.xml"
        custom_id = found.group(1)
        styles = styles.replace(found.group(0), "")
        return styles.replace(f'numFmtId="{custom_id}"', f'numFmtId="{builtin_id}"')

    rewrite_part(path, "xl/styles.xml", change)


def write_wps_workbook(path: Path, rows: Sequence[Sequence[str | int | None]]) -> Path:
    """Write a workbook the way WPS Office does, by hand.

    It has prefixed namespaces (``x:``), inline strings, absolute relationship
    targets, no ``dimension`` element, no styles part and no ``r`` on cells.
    """
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    body = []
    for number, row in enumerate(rows, start=1):
        cells = []
        for value in row:
            if value is None:
                cells.append("<x:c/>")
            elif isinstance(value, int):
                cells.append(f"<x:c><x:v>{value}</x:v></x:c>")
            else:
                cells.append(f'<x:c t="inlineStr"><x:is><x:t>{escape(value)}</x:t></x:is></x:c>')
        body.append(f'<x:row r="{number}">{"".join(cells)}</x:row>')
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<x:worksheet xmlns:x="{main}"><x:sheetData>{"".join(body)}</x:sheetData></x:worksheet>'
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<x:workbook xmlns:x="{main}" xmlns:r="{relationships}"><x:sheets>'
        f'<x:sheet name="Sheet1" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>'
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    )
    package_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relationships}/officeDocument" Target="/xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relationships}/worksheet" '
        'Target="/xl/worksheets/sheet1.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", bom: bool = False
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [["" if value is None else str(value) for value in row] for row in rows]
    )
    data = buffer.getvalue().encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_large_workbook(path: Path, count: int) -> Path:
    """Write ``count`` data rows in openpyxl write-only mode, for memory measurements."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet("登记表")
    worksheet.append(list(STANDARD_HEADER))
    birth = datetime(1990, 1, 1)
    for number in range(1, count + 1):
        row = person_row(number)
        row[6] = birth
        worksheet.append(row)
    workbook.save(path)
    return path
