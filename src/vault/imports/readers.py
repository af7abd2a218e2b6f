"""Open a registration workbook or CSV file and stream its rows as raw cells.

``open_source`` recognises the format by the file's first bytes, finds the header row
of every sheet, and returns a ``Source`` whose sheets yield one ``SourceRow`` per
non-blank data row. Nothing is validated here: cells keep what the file holds.

Workbooks are streamed. Cell values come from openpyxl's read-only mode. That mode
exposes neither merged ranges nor hidden rows, so a first pass over each sheet's
XML (``xml.etree.ElementTree.iterparse``) collects those before the rows are read.
openpyxl maps none of the zh-CN built-in date formats (ids 27–36 and 50–58), so a
number cell whose style carries one of those ids is turned into a date here.
Text cells have their ``_xHHHH_`` escapes decoded (see ``decode_ooxml_escapes``).
A workbook part over ``MAX_PART_BYTES`` uncompressed, or a sheet over
``MAX_SHEET_ROWS`` rows, is rejected whole before any row is read.

CSV files are decoded strictly, as UTF-8 or else as GB18030, line by line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import posixpath
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from openpyxl import load_workbook
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_excel
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG, ROW_TAG, WorkSheetParser
from openpyxl.worksheet.dimensions import SheetDimension

from vault.errors import WorkbookError
from vault.imports.cells import EMPTY, Cell, text
from vault.imports.headers import (
    HEADER_SCAN_ROWS,
    HeaderMatch,
    check_columns,
    find_header,
)

SourceFormat = Literal["xlsx", "xlsm", "csv"]

__all__ = [
    "Column",
    "Filing",
    "SheetSource",
    "Skipped",
    "Source",
    "SourceFormat",
    "SourceRow",
    "open_source",
]


# -- public records -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of the file that was not imported: a hidden sheet or row, or a sheet without header.

    ``code`` is ``HIDDEN_SHEET``, ``HIDDEN_ROW`` or ``SHEET_WITHOUT_HEADER``;
    ``row_number`` is the sheet's 1-based row number for a hidden row.
    """

    code: str
    sheet: str
    row_number: int | None
    message_zh: str
    message_en: str


@dataclass(frozen=True, slots=True)
class Filing:
    """Filing details written above the header: collector, filing unit and filing date."""

    collector: str | None = None
    unit: str | None = None
    filed_on: date | None = None

    @property
    def is_empty(self) -> bool:
        return self.collector is None and self.unit is None and self.filed_on is None


class Column(NamedTuple):
    """One header column: its letter, the header text as written, and its field key.

    ``key`` is ``None`` for a column whose header is not a known wording. Such columns
    are kept in ``SourceRow.original`` but not in ``SourceRow.cells``.
    """

    letter: str
    header: str
    key: str | None

    @property
    def number(self) -> int:
        """The 1-based column number."""
        return column_index_from_string(self.letter)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row.

    ``cells`` has one entry per known column, keyed by field key, with ``EMPTY`` for
    a missing cell. ``original`` lists every header column in file order as
    (header text, cell), for the rejects workbook. ``hidden`` is true for a row of a
    hidden sheet or a hidden row, which appear only with ``include_hidden``.
    """

    sheet: str
    row_number: int
    cells: dict[str, Cell]
    original: list[tuple[str, Cell]]
    hidden: bool = False


@dataclass(eq=False)
class SheetSource:
    """One sheet with a recognised header; ``rows()`` streams its data rows from the file."""

    name: str
    header_row: int
    columns: list[Column]
    filing: Filing
    hidden: bool
    _read_rows: Callable[[], Iterator[SourceRow]] = field(repr=False)

    def rows(self) -> Iterator[SourceRow]:
        """Yield the non-blank data rows below the header, reading the file again each call."""
        return self._read_rows()


@dataclass(eq=False)
class Source:
    """An opened input file. Close it (or use it as a context manager) to release the file."""

    path: Path
    file_name: str
    content_sha256: str
    format: SourceFormat
    skipped: list[Skipped]
    filing: Filing
    date_system: int
    _sheets: list[SheetSource] = field(repr=False)
    _close: Callable[[], None] = field(repr=False, default=lambda: None)

    def sheets(self) -> Iterator[SheetSource]:
        """Yield the sheets that have a recognised header, in workbook order."""
        yield from self._sheets

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# -- entry point ----------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})


def open_source(path: Path, *, include_hidden: bool = False) -> Source:
    """Open a workbook (.xlsx, .xlsm) or CSV file and find the header of each sheet.

    The format is recognised by the file's first bytes, so a workbook with a wrong
    file name extension still opens. Hidden sheets and hidden rows are skipped and
    listed in ``Source.skipped`` unless ``include_hidden`` is true.

    Raises ``WorkbookError`` with one of these codes:

    - ``WORKBOOK_UNREADABLE``: not a readable workbook or CSV file, or empty;
    - ``WORKBOOK_XLS``: an Excel 97-2003 (.xls) or password-protected workbook;
    - ``WORKBOOK_ENCODING``: a CSV file that is neither UTF-8 nor GB18030;
    - ``WORKBOOK_NO_HEADER``: no sheet has a recognisable header;
    - ``WORKBOOK_MISSING_COLUMNS``: a header lacks a required column;
    - ``WORKBOOK_DUPLICATE_COLUMN``: two columns of a header mean the same field;
    - ``WORKBOOK_TOO_LARGE``: a workbook part is over ``MAX_PART_BYTES`` uncompressed,
      or a sheet has more than ``MAX_SHEET_ROWS`` rows.
    """
    path = Path(path)
    if not path.exists():
        raise WorkbookError(
            f"找不到文件 {path.name}：请检查路径是否正确。",
            f"The file {path.name} does not exist: check the path.",
            code="WORKBOOK_NOT_FOUND", value=path.name,
        )
    if path.is_dir():
        raise WorkbookError(
            f"{path.name} 是文件夹，不是工作簿：请给出 .xlsx 或 .csv 文件的路径。",
            f"{path.name} is a folder, not a workbook: give the path of an .xlsx or .csv file.",
            code="WORKBOOK_IS_FOLDER", value=path.name,
        )
    try:
        with path.open("rb") as stream:
            head = stream.read(8)
            stream.seek(0)
            content_sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        raise _unreadable(path.name, "无法打开文件", "the file cannot be opened") from None

    if not head:
        raise _unreadable(path.name, "文件是空的", "the file is empty")
    if head.startswith(_OLE2_MAGIC):
        raise _xls_error(path.name)
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _open_workbook(path, content_sha256, include_hidden)
    if path.suffix.lower() in _CSV_SUFFIXES:
        return _open_csv(path, content_sha256)
    raise _unreadable(
        path.name, "文件不是 Excel 工作簿（.xlsx）或 CSV 文件",
        "the file is neither an Excel workbook (.xlsx) nor a CSV file",
    )


MAX_SHEET_ROWS = 1_048_576
"""Rows per sheet, Excel's own limit (2**20); a sheet with more is rejected whole."""

MAX_PART_BYTES = 2 * 1024**3
"""Uncompressed size of any one part of a workbook package (2 GiB).

A 100,000-row county sheet is tens of MB of XML, so real files stay far below
this. The size comes from the zip directory and is checked before any part is
parsed, so a small file that inflates to gigabytes is rejected at once. The same
cap applies to the shared-strings part, which openpyxl loads into memory whole.
"""


def _too_large_error(file_name: str, part: str, size: int) -> WorkbookError:
    return WorkbookError(
        f"“{file_name}”中的部件 {part} 解压后有 {size} 字节，超过上限 "
        f"{MAX_PART_BYTES} 字节（2 GiB），整个文件未导入。请把数据拆分到多个文件后分别导入。",
        f"Part {part} of '{file_name}' is {size} bytes uncompressed, over the limit of "
        f"{MAX_PART_BYTES} bytes (2 GiB); nothing was imported. Split the data into "
        "several files and import each.",
        code="WORKBOOK_TOO_LARGE",
        value=part,
    )


def _too_many_rows_error(sheet: str) -> WorkbookError:
    return WorkbookError(
        f"工作表“{sheet}”超过 {MAX_SHEET_ROWS} 行（Excel 的行数上限），整个文件未导入。"
        "请删除多余的空行，或把数据拆分到多个文件后分别导入。",
        f"Sheet '{sheet}' has more than {MAX_SHEET_ROWS} rows (Excel's row limit); "
        "nothing was imported. Delete the surplus empty rows, or split the data into "
        "several files and import each.",
        code="WORKBOOK_TOO_LARGE",
        value=sheet,
    )


def _check_part_sizes(archive: zipfile.ZipFile, file_name: str) -> None:
    for member in archive.infolist():
        if member.file_size > MAX_PART_BYTES:
            raise _too_large_error(file_name, member.filename, member.file_size)


def _unreadable(file_name: str, reason_zh: str, reason_en: str) -> WorkbookError:
    return WorkbookError(
        f"无法读取“{file_name}”：{reason_zh}。请在 Excel 或 WPS 中打开该文件，"
        "另存为“Excel 工作簿 (*.xlsx)”或“CSV UTF-8 (逗号分隔)”后重新导入。",
        f"Cannot read '{file_name}': {reason_en}. Open it in Excel or WPS, save it as "
        "'Excel Workbook (*.xlsx)' or 'CSV UTF-8 (Comma delimited)' and import it again.",
        code="WORKBOOK_UNREADABLE",
    )


def _xls_error(file_name: str) -> WorkbookError:
    # An .xlsx file with an open password is also an OLE2 container, so the message
    # names both causes.
    return WorkbookError(
        f"“{file_name}”是旧版 Excel 97-2003 工作簿（.xls）或设置了打开密码的工作簿，无法导入。"
        "请在 Excel 或 WPS 中打开它，去掉打开密码，选择“文件 → 另存为”，"
        "保存类型选“Excel 工作簿 (*.xlsx)”或“CSV UTF-8 (逗号分隔)”，然后导入新文件。",
        f"'{file_name}' is an Excel 97-2003 workbook (.xls) or a password-protected "
        "workbook, which cannot be imported. Open it in Excel or WPS, remove any open "
        "password, choose File > Save As with type 'Excel Workbook (*.xlsx)' or "
        "'CSV UTF-8 (Comma delimited)', and import the new file.",
        code="WORKBOOK_XLS",
    )


def _no_header_error(file_name: str, hidden_sheets: int) -> WorkbookError:
    note_zh = note_en = ""
    if hidden_sheets:
        note_zh = f"另有 {hidden_sheets} 个隐藏工作表未检查。"
        note_en = f" {hidden_sheets} hidden sheets were not searched."
    return WorkbookError(
        f"“{file_name}”中没有可识别的表头：任何工作表的前 {HEADER_SCAN_ROWS} 行中都没有一行"
        "同时包含“姓名”“公民身份号码”和至少三个其他已知列名（如“性别”“出生日期”"
        f"“与户主关系”“户编号”）。{note_zh}请检查表头行的列名。",
        f"No recognisable header in '{file_name}': none of the first {HEADER_SCAN_ROWS} "
        "rows of any sheet contains 'name' (姓名), 'ID number' (公民身份号码) and at least "
        "three other known column labels such as 性别, 出生日期, 与户主关系 or 户编号."
        f"{note_en} Check the labels of the header row.",
        code="WORKBOOK_NO_HEADER",
    )


# -- rows shared by all formats -------------------------------------------


def _columns_for(match: HeaderMatch) -> list[Column]:
    columns = []
    for index, (label, key) in enumerate(zip(match.labels, match.keys, strict=True), start=1):
        if label.strip():
            columns.append(Column(get_column_letter(index), label, key))
    return columns


class _Slot(NamedTuple):
    """A header column's position in a row (0-based), with its header and key."""

    position: int
    header: str
    key: str | None


def _slots(columns: Sequence[Column]) -> tuple[_Slot, ...]:
    """Return the slots of ``columns``, computed once per sheet rather than per row."""
    return tuple(_Slot(column.number - 1, column.header, column.key) for column in columns)


def _build_row(
    sheet: str,
    row_number: int,
    *,
    raw: Sequence[Cell],
    filled: Sequence[Cell],
    slots: Sequence[_Slot],
    hidden: bool,
) -> SourceRow | None:
    """Return the row for the columns in ``slots``, or ``None`` when ``raw`` is blank.

    A row whose only value is in the ``seq`` column is blank too. ``filled`` is
    ``raw`` with merged ranges filled in; blankness is judged before that filling.
    """
    width = len(raw)
    for position, _header, key in slots:
        if key != "seq" and position < width and not raw[position].is_empty:
            break
    else:
        return None

    cells: dict[str, Cell] = {}
    original: list[tuple[str, Cell]] = []
    filled_width = len(filled)
    for position, header, key in slots:
        cell = filled[position] if position < filled_width else EMPTY
        original.append((header, cell))
        if key is not None:
            cells[key] = cell
    return SourceRow(sheet, row_number, cells, original, hidden)


# -- filing details above the header ---------------------------------------

_COLLECTOR_LABELS = "填报人|填表人|调查员|登记人|采集人|普查员|统计员|经办人|录入人"
_UNIT_LABELS = "填报单位|填表单位|调查单位|登记单位|单位名称|填报机关"
_DATE_LABELS = "填报日期|填表日期|调查日期|登记日期|采集日期|填报时间|统计日期"
_LABEL_SUFFIX = r"(?:\([^)]*\))?\s*:\s*"
_COLLECTOR = re.compile(rf"(?:{_COLLECTOR_LABELS}){_LABEL_SUFFIX}([^\s:]+)")
_UNIT = re.compile(rf"(?:{_UNIT_LABELS}){_LABEL_SUFFIX}([^\s:]+)")
_DATE = re.compile(
    rf"(?:{_DATE_LABELS}){_LABEL_SUFFIX}(\d{{4}})\s*[年./-]\s*(\d{{1,2}})\s*[月./-]\s*(\d{{1,2}})"
)
_ANY_LABEL = re.compile(rf"(?:{_COLLECTOR_LABELS}|{_UNIT_LABELS}|{_DATE_LABELS}){_LABEL_SUFFIX}")


def parse_filing(lines: Iterable[str]) -> Filing:
    """Read the collector, filing unit and filing date from the text above a header.

    Each line is the text of one row, its cells joined by spaces. A value ends at
    a space or at the next label, e.g. ``填报单位：清溪镇计生办　　填报日期：2025年8月25日``.
    """
    joined = "  ".join(unicodedata.normalize("NFKC", line) for line in lines)
    # A value typed without a space before the next label would otherwise run into it.
    joined = _ANY_LABEL.sub(lambda found: " " + found.group(0), joined)

    collector = _COLLECTOR.search(joined)
    unit = _UNIT.search(joined)
    filed_on: date | None = None
    found_date = _DATE.search(joined)
    if found_date:
        year, month, day = (int(part) for part in found_date.groups())
        try:
            filed_on = date(year, month, day)
        except ValueError:
            filed_on = None
    return Filing(
        collector=collector.group(1) if collector else None,
        unit=unit.group(1) if unit else None,
        filed_on=filed_on,
    )


def _row_text(cells: Sequence[Cell]) -> str:
    return "  ".join(cell.as_text() for cell in cells if not cell.is_empty)


# -- workbooks: package structure -----------------------------------------

_RELATIONSHIP_ID = "id"
_OFFICE_DOCUMENT = "/officeDocument"
_WORKSHEET = "/worksheet"
_WORKBOOK_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OSError,
    ElementTree.ParseError,
    DefusedXmlException,
    InvalidFileException,
)
"""Exceptions that openpyxl, zipfile and the XML parser raise on a damaged package.

The package XML is parsed with defusedxml, which refuses entity declarations and
DTDs, because expat before 2.6.0 (the one Python 3.11 links here) can be made to
expand entities without bound ("billion laughs"). openpyxl uses defusedxml too
once it is installed.
"""


def _local(tag: str) -> str:
    """Return an XML tag without its namespace, so any namespace prefix matches."""
    return tag.rpartition("}")[2]


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    """Return an attribute by local name, whatever its namespace."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


@dataclass(frozen=True, slots=True)
class _SheetEntry:
    name: str
    state: str
    part: str


@dataclass(frozen=True, slots=True)
class _WorkbookIndex:
    format: SourceFormat
    sheets: list[_SheetEntry]


def _read_relationships(
    archive: zipfile.ZipFile, rels_part: str, owner: str
) -> dict[str, tuple[str, str]]:
    """Return relationship id -> (type, part name) for the part ``owner``."""
    if rels_part not in archive.namelist():
        return {}
    root = SafeElementTree.fromstring(archive.read(rels_part))
    relationships: dict[str, tuple[str, str]] = {}
    base = posixpath.dirname(owner)
    for element in root:
        if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
            continue
        target = element.get("Target", "")
        # WPS writes absolute targets (/xl/worksheets/sheet1.xml), Excel relative ones.
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(base, target)
        )
        relationships[element.get("Id", "")] = (element.get("Type", ""), part)
    return relationships


def _read_workbook_index(archive: zipfile.ZipFile, file_name: str) -> _WorkbookIndex:
    package = _read_relationships(archive, "_rels/.rels", "")
    workbook_part = next(
        (part for kind, part in package.values() if kind.endswith(_OFFICE_DOCUMENT)),
        "xl/workbook.xml",
    )
    if workbook_part not in archive.namelist():
        raise _unreadable(file_name, "压缩包中没有工作簿", "the archive contains no workbook")

    workbook_format: SourceFormat = "xlsx"
    if "[Content_Types].xml" in archive.namelist():
        types = SafeElementTree.fromstring(archive.read("[Content_Types].xml"))
        for element in types:
            is_workbook = element.get("PartName", "").lstrip("/") == workbook_part
            if is_workbook and "macroEnabled" in element.get("ContentType", ""):
                workbook_format = "xlsm"

    directory, name = posixpath.split(workbook_part)
    relationships = _read_relationships(
        archive, posixpath.join(directory, "_rels", f"{name}.rels"), workbook_part
    )
    root = SafeElementTree.fromstring(archive.read(workbook_part))
    sheets = []
    for element in root.iter():
        if _local(element.tag) != "sheet":
            continue
        kind, part = relationships.get(_attribute(element, _RELATIONSHIP_ID) or "", ("", ""))
        if kind.endswith(_WORKSHEET):
            state = element.get("state", "visible")
            sheets.append(_SheetEntry(element.get("name", ""), state, part))
    return _WorkbookIndex(workbook_format, sheets)


# -- workbooks: merged ranges and hidden rows from the sheet XML -----------


@dataclass(frozen=True, slots=True)
class _Merge:
    min_col: int
    min_row: int
    max_col: int
    max_row: int


@dataclass(slots=True)
class _SheetLayout:
    # Hidden row number -> the columns that hold a value in it.
    hidden_rows: dict[int, frozenset[int]]
    merges: list[_Merge]


def _scan_sheet_layout(archive: zipfile.ZipFile, part: str, sheet: str) -> _SheetLayout:
    """Collect hidden rows and merged ranges in one streaming pass over a sheet's XML.

    Each row is removed from the tree as soon as it is read, so memory stays flat
    however many rows the sheet has. Only hidden rows that contain a value are kept,
    because a hidden row without values is blank and skipped anyway. Rows and cells
    without an ``r`` attribute are counted, as spreadsheet readers do. A sheet with
    more than ``MAX_SHEET_ROWS`` rows raises ``WORKBOOK_TOO_LARGE``.
    """
    hidden_rows: dict[int, frozenset[int]] = {}
    merges: list[_Merge] = []
    row_number = 0
    parents: list[ElementTree.Element] = []
    with archive.open(part) as stream:
        for event, element in SafeElementTree.iterparse(stream, events=("start", "end")):
            if event == "start":
                parents.append(element)
                continue
            parents.pop()
            tag = _local(element.tag)
            if tag == "row":
                reference = element.get("r")
                row_number = int(reference) if reference else row_number + 1
                if row_number > MAX_SHEET_ROWS:
                    raise _too_many_rows_error(sheet)
                if element.get("hidden") in ("1", "true"):
                    columns = _columns_with_values(element)
                    if columns:
                        hidden_rows[row_number] = columns
                _detach(element, parents)
            elif tag == "mergeCell":
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                if (min_col, min_row) != (max_col, max_row):
                    merges.append(_Merge(min_col, min_row, max_col, max_row))
                _detach(element, parents)
    return _SheetLayout(hidden_rows, merges)


def _detach(element: ElementTree.Element, parents: list[ElementTree.Element]) -> None:
    """Free a parsed element: ``clear`` alone leaves an empty element in its parent."""
    element.clear()
    if parents:
        parents[-1].remove(element)


def _columns_with_values(row: ElementTree.Element) -> frozenset[int]:
    columns = set()
    column = 0
    for cell in row:
        if _local(cell.tag) != "c":
            continue
        reference = cell.get("r")
        if reference:
            column = column_index_from_string(reference.rstrip("0123456789"))
        else:
            column += 1
        if any("".join(child.itertext()).strip() for child in cell):
            columns.add(column)
    return frozenset(columns)


class _MergeFiller:
    """Copy the top-left value of each merged range into the other cells it covers.

    Rows must be passed in order, every row once, so that the top-left value is seen
    before the rows below it.
    """

    def __init__(self, merges: Iterable[_Merge]) -> None:
        self._pending = deque(sorted(merges, key=lambda merge: merge.min_row))
        self._active: list[tuple[_Merge, Cell]] = []

    def fill(self, row_number: int, cells: list[Cell]) -> list[Cell]:
        while self._pending and self._pending[0].min_row <= row_number:
            merge = self._pending.popleft()
            top_left = merge.min_col - 1
            starts_here = merge.min_row == row_number and top_left < len(cells)
            value = cells[top_left] if starts_here else EMPTY
            self._active.append((merge, value))
        self._active = [
            (merge, value) for merge, value in self._active if merge.max_row >= row_number
        ]
        if not self._active:
            return cells

        filled = list(cells)
        for merge, value in self._active:
            for column in range(merge.min_col, min(merge.max_col, len(filled)) + 1):
                if (row_number, column) != (merge.min_row, merge.min_col):
                    filled[column - 1] = value
        return filled


# -- workbooks: cell values ------------------------------------------------

# Format codes that Excel implies for the zh-CN built-in number format ids. openpyxl
# 3.1 has no entry for them and reports such cells as plain numbers in "General".
_ZH_CN_DATE_FORMATS: dict[int, str] = {
    27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"', 32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"',
    34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"', 36: 'yyyy"年"m"月"',
    50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"',
    57: 'yyyy"年"m"月"', 58: 'm"月"d"日"',
}


_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def decode_ooxml_escapes(value: str) -> str:
    """Decode the ``_xHHHH_`` escapes that Excel writes for characters XML cannot hold.

    ``_x0007_`` becomes U+0007, which validation then rejects as a control character,
    and ``_x005F_`` is the escape of a literal ``_``, so ``_x005F_x0007_`` becomes the
    text ``_x0007_``. The string is scanned once, so a decoded ``_`` never starts a
    new escape.

    NOTE: openpyxl 3.1 already turns ``_x005F_`` into ``_`` in shared strings, so a
    shared string holding the literal text ``_x0007_`` reaches this function as
    ``_x0007_`` and is decoded, then rejected, although the clerk typed it literally.
    Inline strings are not affected.
    """
    if "_x" not in value:
        return value
    return _OOXML_ESCAPE.sub(lambda found: chr(int(found.group(1), 16)), value)


class _CellConverter:
    """Turn openpyxl read-only cells into ``Cell`` values for one workbook."""

    def __init__(self, epoch: datetime) -> None:
        self._epoch = epoch
        self.date_system = 1904 if epoch == CALENDAR_MAC_1904 else 1900

    def convert(self, source: Any) -> Cell:  # noqa: PLR0911 (one return per cell type)
        value = source.value
        if value is None:
            return EMPTY
        data_type = source.data_type
        if data_type == "f":
            # A formula is never evaluated: its text is handed on, without the cached result.
            return Cell(str(getattr(value, "text", value) or ""), "formula")
        if data_type == "b":
            return Cell(bool(value), "bool")
        if isinstance(value, date):
            return Cell(value, "date", source.number_format, self.date_system)
        if isinstance(value, time | timedelta):
            return Cell(str(value), "text")
        if isinstance(value, bool):
            return Cell(value, "bool")
        if isinstance(value, int | float):
            return self._number(source, value)
        return text(decode_ooxml_escapes(str(value)))

    def _number(self, source: Any, value: int | float) -> Cell:
        try:
            format_id = source.style_array.numFmtId
        except IndexError:  # a style index past the end of the style sheet
            format_id = 0
        zh_cn_format = _ZH_CN_DATE_FORMATS.get(format_id)
        if zh_cn_format is not None:
            try:
                converted = from_excel(value, self._epoch)
            except (ValueError, OverflowError):
                converted = None
            # A time-of-day format on a value below 1 gives a time, which is no date.
            if isinstance(converted, datetime):
                return Cell(converted, "date", zh_cn_format, self.date_system)
        return Cell(value, "number", source.number_format, self.date_system)


# -- workbooks: opening ----------------------------------------------------


@dataclass(slots=True)
class _WorkbookContext:
    """The open archive, workbook and settings that every sheet of one workbook is read with."""

    archive: zipfile.ZipFile
    workbook: Any
    converter: _CellConverter
    include_hidden: bool
    skipped: list[Skipped]


@dataclass(frozen=True, slots=True)
class _SheetPlan:
    """The plan for reading one sheet: its header row, columns and row layout."""

    name: str
    worksheet: Any
    columns: list[Column]
    header_end: int
    layout: _SheetLayout
    hidden: bool


def _open_workbook(path: Path, content_sha256: str, include_hidden: bool) -> Source:
    stream: IO[bytes] = path.open("rb")
    archive: zipfile.ZipFile | None = None
    workbook: Any = None

    def close() -> None:
        if workbook is not None:
            workbook.close()
        if archive is not None:
            archive.close()
        stream.close()

    try:
        archive = zipfile.ZipFile(stream)
        _check_part_sizes(archive, path.name)
        index = _read_workbook_index(archive, path.name)
        with warnings.catch_warnings():
            # openpyxl warns about parts it drops (data validation extensions, a
            # missing default style); none of them matters for reading values.
            warnings.simplefilter("ignore", UserWarning)
            workbook = load_workbook(stream, read_only=True, data_only=False, keep_links=False)
        context = _WorkbookContext(
            archive, workbook, _CellConverter(workbook.epoch), include_hidden, skipped=[]
        )
        sheets = _open_sheets(context, index, path.name)
    except WorkbookError:
        close()
        raise
    except _WORKBOOK_ERRORS:
        close()
        raise _unreadable(
            path.name,
            "文件不是有效的 Excel 工作簿或已损坏",
            "it is not a valid Excel workbook or is damaged",
        ) from None

    filing = next((sheet.filing for sheet in sheets if not sheet.filing.is_empty), Filing())
    return Source(
        path=path,
        file_name=path.name,
        content_sha256=content_sha256,
        format=index.format,
        skipped=context.skipped,
        filing=filing,
        date_system=context.converter.date_system,
        _sheets=sheets,
        _close=close,
    )


def _open_sheets(
    context: _WorkbookContext, index: _WorkbookIndex, file_name: str
) -> list[SheetSource]:
    sheets: list[SheetSource] = []
    hidden_sheets_skipped = 0
    for entry in index.sheets:
        if entry.name not in context.workbook.sheetnames:
            continue
        hidden = entry.state != "visible"
        if hidden and not context.include_hidden:
            hidden_sheets_skipped += 1
            context.skipped.append(Skipped(
                "HIDDEN_SHEET", entry.name, None,
                f"隐藏工作表“{entry.name}”未导入。如需导入，请取消隐藏后重新导入。",
                f"Hidden sheet '{entry.name}' was not imported. Unhide it and import "
                "the file again to include it.",
            ))
            continue

        sheet = _open_sheet(context, entry)
        if sheet is None:
            context.skipped.append(Skipped(
                "SHEET_WITHOUT_HEADER", entry.name, None,
                f"工作表“{entry.name}”的前 {HEADER_SCAN_ROWS} 行中没有可识别的表头，未导入。",
                f"Sheet '{entry.name}' has no recognisable header in its first "
                f"{HEADER_SCAN_ROWS} rows and was not imported.",
            ))
            continue
        sheets.append(sheet)

    if not sheets:
        raise _no_header_error(file_name, hidden_sheets_skipped)
    return sheets


def _open_sheet(context: _WorkbookContext, entry: _SheetEntry) -> SheetSource | None:
    """Find the header of one sheet and return its ``SheetSource``, or ``None`` without one."""
    layout = _scan_sheet_layout(context.archive, entry.part, entry.name)
    worksheet = context.workbook[entry.name]
    # A stale or missing <dimension> would make read-only mode cut rows or columns off.
    worksheet.reset_dimensions()

    top_rows: list[list[Cell]] = []
    for row in worksheet.iter_rows(max_row=HEADER_SCAN_ROWS):
        top_rows.append([context.converter.convert(cell) for cell in row])
    labels = [[cell.as_text() for cell in cells] for cells in top_rows]
    match = find_header(enumerate(labels, start=1))
    if match is None:
        return None
    check_columns(match, entry.name)

    columns = _columns_for(match)
    # Header cells merged downwards make the header taller than one row.
    header_end = max(
        [
            merge.max_row
            for merge in layout.merges
            if merge.min_row <= match.row_number <= merge.max_row
        ],
        default=match.row_number,
    )
    plan = _SheetPlan(entry.name, worksheet, columns, header_end, layout, entry.state != "visible")
    if not context.include_hidden:
        _report_hidden_rows(plan, context.skipped)
    filing = parse_filing(_row_text(cells) for cells in top_rows[: match.row_number - 1])

    def read_rows() -> Iterator[SourceRow]:
        return _read_sheet_rows(context, plan)

    return SheetSource(entry.name, match.row_number, columns, filing, plan.hidden, read_rows)


def _report_hidden_rows(plan: _SheetPlan, skipped: list[Skipped]) -> None:
    """Report the hidden data rows of a sheet; hidden rows without data are not worth a line."""
    value_columns = {column.number for column in plan.columns if column.key != "seq"}
    for row_number in sorted(plan.layout.hidden_rows):
        if row_number > plan.header_end and plan.layout.hidden_rows[row_number] & value_columns:
            skipped.append(Skipped(
                "HIDDEN_ROW", plan.name, row_number,
                f"工作表“{plan.name}”第 {row_number} 行是隐藏行，未导入。",
                f"Row {row_number} of sheet '{plan.name}' is hidden and was not imported.",
            ))


class _StreamingSheetParser(WorkSheetParser):  # type: ignore[misc]
    """openpyxl's sheet parser reduced to rows, in memory that does not grow with the sheet.

    openpyxl 3.1's own ``parse`` clears each row but leaves it in the tree, and keeps
    the attributes of every row with a height or style in ``row_dimensions``. On a
    sheet of a million near-empty rows that reached hundreds of MiB. This parser
    removes each row from the tree and drops the row attributes, which rows do not need.
    """

    def parse(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        parents: list[Any] = []
        for event, element in SafeElementTree.iterparse(self.source, events=("start", "end")):
            if event == "start":
                parents.append(element)
                continue
            parents.pop()
            if element.tag == ROW_TAG:
                row = self.parse_row(element)
                self.row_dimensions.clear()
                yield row
                _detach(element, parents)


def _read_dimension_streaming(self: Any) -> None:
    """Set a read-only sheet's size from ``<dimension>``, stopping where ``<sheetData>`` starts.

    openpyxl 3.1's ``ReadOnlyWorksheet._get_size`` stops only at the end of
    ``<sheetData>`` when a sheet has no ``<dimension>``, which builds the whole row
    tree: about 85 MiB for a million near-empty rows. The result is the same,
    because ``<dimension>`` comes before ``<sheetData>`` in a valid sheet.
    """
    with self._get_source() as source:
        for event, element in SafeElementTree.iterparse(source, events=("start", "end")):
            if event == "start" and element.tag == DATA_TAG:
                return
            if event == "end" and element.tag == DIMENSION_TAG:
                boundaries = SheetDimension.from_tree(element).boundaries
                if boundaries is not None:
                    self._min_column, self._min_row, self._max_column, self._max_row = boundaries
                return


# Every read-only workbook that this process opens uses the streaming version.
ReadOnlyWorksheet._get_size = _read_dimension_streaming


def _stream_rows(worksheet: Any, width: int) -> Iterator[tuple[int, Sequence[Any]]]:
    """Yield (row number, first ``width`` cells) for each row present in a read-only sheet.

    Rows come in file order. Rows missing from the file are not yielded, and a row
    numbered at or below one already yielded is ignored, as openpyxl's ``iter_rows``
    does.
    """
    workbook = worksheet.parent
    last = 0
    with worksheet._get_source() as source:
        parser = _StreamingSheetParser(
            source,
            worksheet._shared_strings,
            data_only=False,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for row_number, cells in parser.parse():
            if row_number <= last:
                continue
            last = row_number
            yield row_number, worksheet._get_row(cells, 1, width)


def _read_sheet_rows(context: _WorkbookContext, plan: _SheetPlan) -> Iterator[SourceRow]:
    width = max(column.number for column in plan.columns)
    filler = _MergeFiller(plan.layout.merges)
    convert = context.converter.convert
    slots = _slots(plan.columns)
    try:
        for row_number, row in _stream_rows(plan.worksheet, width):
            raw = [convert(cell) for cell in row[:width]]
            raw.extend([EMPTY] * (width - len(raw)))
            filled = filler.fill(row_number, raw)
            if row_number <= plan.header_end:
                continue
            row_hidden = row_number in plan.layout.hidden_rows
            if row_hidden and not context.include_hidden:
                continue
            built = _build_row(
                plan.name, row_number, raw=raw, filled=filled, slots=slots,
                hidden=row_hidden or plan.hidden,
            )
            if built is not None:
                yield built
    except _WORKBOOK_ERRORS:
        raise WorkbookError(
            f"读取工作表“{plan.name}”时出错：文件已损坏。"
            "请在 Excel 或 WPS 中打开并另存为 .xlsx 后重新导入。",
            f"Reading sheet '{plan.name}' failed because the file is damaged. Open it in Excel "
            "or WPS, save it as .xlsx and import it again.",
            code="WORKBOOK_UNREADABLE",
        ) from None


# -- CSV ------------------------------------------------------------------

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF8_EVIDENCE = 4
"""Non-ASCII characters decoded as UTF-8 before a bad byte that mark a file as UTF-8.

GB18030 text almost never forms valid multi-byte UTF-8 sequences, so such a file is
a UTF-8 file with a damaged byte. Decoding it as GB18030 instead could succeed and
silently turn every Chinese character into the wrong one.
"""


@dataclass(frozen=True, slots=True)
class _DecodeFailure:
    line_number: int
    byte_offset: int
    non_ascii_before: int


def _check_decoding(path: Path, encoding: str) -> _DecodeFailure | None:
    """Decode the whole file line by line; return where it first fails, if it does."""
    offset = 0
    non_ascii = 0
    with path.open("rb") as stream:
        for line_number, line in enumerate(stream, start=1):
            try:
                decoded = line.decode(encoding)
            except UnicodeDecodeError as error:
                prefix = line[: error.start].decode(encoding, errors="ignore")
                non_ascii += sum(1 for ch in prefix if ord(ch) > 0x7F)
                return _DecodeFailure(line_number, offset + error.start, non_ascii)
            if non_ascii < _UTF8_EVIDENCE:
                non_ascii += sum(1 for ch in decoded if ord(ch) > 0x7F)
            offset += len(line)
    return None


def _detect_encoding(path: Path) -> str:
    """Return ``utf-8`` or ``gb18030`` for a CSV file; raise ``WORKBOOK_ENCODING`` otherwise.

    UTF-8 is tried strictly first, then GB18030, which also covers files that
    detectors label GBK or GB2312 (GB18030 is a superset of both).
    """
    with path.open("rb") as stream:
        head = stream.read(4)
    if head.startswith(_UTF16_BOMS):
        raise WorkbookError(
            f"“{path.name}”是 UTF-16 编码的文本，无法导入。请在 Excel 或 WPS 中另存为"
            "“CSV UTF-8 (逗号分隔)”或 .xlsx 后重新导入。",
            f"'{path.name}' is UTF-16 text, which cannot be imported. Save it as "
            "'CSV UTF-8 (Comma delimited)' or .xlsx in Excel or WPS and import it again.",
            code="WORKBOOK_ENCODING",
        )

    utf8_failure = _check_decoding(path, "utf-8")
    if utf8_failure is None:
        return "utf-8"
    if head.startswith(_UTF8_BOM) or utf8_failure.non_ascii_before >= _UTF8_EVIDENCE:
        raise _encoding_error(path.name, "UTF-8", utf8_failure)
    gb_failure = _check_decoding(path, "gb18030")
    if gb_failure is None:
        return "gb18030"
    raise _encoding_error(path.name, "UTF-8 / GB18030", gb_failure)


def _encoding_error(file_name: str, encoding: str, failure: _DecodeFailure) -> WorkbookError:
    return WorkbookError(
        f"“{file_name}”第 {failure.line_number} 行（文件字节偏移 {failure.byte_offset}，"
        f"从 0 起算）有无法按 {encoding} 解码的字节，整个文件未导入。"
        "请在 Excel 或 WPS 中打开并另存为“CSV UTF-8 (逗号分隔)”或 .xlsx 后重新导入。",
        f"'{file_name}' has a byte that cannot be decoded as {encoding} on line "
        f"{failure.line_number} (byte offset {failure.byte_offset}, counting from 0); "
        "nothing was imported. Open it in Excel or WPS, save it as "
        "'CSV UTF-8 (Comma delimited)' or .xlsx and import it again.",
        code="WORKBOOK_ENCODING",
        value=f"line {failure.line_number}, byte {failure.byte_offset}",
    )


def _decoded_lines(path: Path, encoding: str) -> Iterator[str]:
    """Yield the file's lines decoded, with line endings kept and any BOM removed."""
    with path.open("rb") as stream:
        for line_number, line in enumerate(stream, start=1):
            decoded = line.decode(encoding)
            if line_number == 1:
                decoded = decoded.removeprefix("\ufeff")
            yield decoded


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(_decoded_lines(path, encoding), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error:
        # Python's message is English and may quote the cell, so it is not shown.
        line = reader.line_num
        raise WorkbookError(
            f"“{path.name}”第 {line} 行附近不是有效的 CSV：可能有不成对的引号，或某一栏过长。"
            "导入在此停止，此前已保存的批次保留。请在 Excel 或 WPS 中改正该行（或另存为 .xlsx）"
            "后重新导入。",
            f"'{path.name}' is not valid CSV near line {line}: there may be an unmatched"
            " quote or an overlong field. The import stopped there; batches saved before"
            " are kept. Correct the line in Excel or WPS (or save the file as .xlsx) and"
            " import it again.",
            code="WORKBOOK_UNREADABLE",
            value=f"line {line}",
        ) from None


def _guess_delimiter(path: Path, encoding: str) -> str:
    """Return a tab for tab-separated text (Excel's “文本文件(制表符分隔)”), else a comma."""
    tabs = commas = 0
    for line_number, line in enumerate(_decoded_lines(path, encoding), start=1):
        tabs += line.count("\t")
        commas += line.count(",")
        if line_number >= HEADER_SCAN_ROWS:
            break
    return "\t" if tabs > commas else ","


# The maximum number of distinct values one CSV read shares cells for before starting over.
_SHARED_CELLS = 4096


def _open_csv(path: Path, content_sha256: str) -> Source:
    encoding = _detect_encoding(path)
    delimiter = _guess_delimiter(path, encoding)

    top_rows: list[list[str]] = []
    for record in _csv_records(path, encoding, delimiter):
        top_rows.append(record)
        if len(top_rows) >= HEADER_SCAN_ROWS:
            break
    match = find_header(enumerate(top_rows, start=1))
    if match is None:
        raise _no_header_error(path.name, 0)
    sheet_name = path.name
    check_columns(match, sheet_name)

    columns = _columns_for(match)
    filing = parse_filing("  ".join(value for value in record if value.strip())
                          for record in top_rows[: match.row_number - 1])

    def read_rows() -> Iterator[SourceRow]:
        # Cells are immutable, so the rows share one cell per distinct value, and a
        # column of sex or ethnicity has only a handful. The cache lives only as long
        # as this read, and is emptied whenever it fills.
        shared: dict[str, Cell] = {}
        slots = _slots(columns)
        for row_number, record in enumerate(_csv_records(path, encoding, delimiter), start=1):
            if row_number <= match.row_number:
                continue
            if len(shared) > _SHARED_CELLS:
                shared.clear()
            cells = [shared.get(value) or shared.setdefault(value, text(value))
                     for value in record]
            built = _build_row(
                sheet_name, row_number, raw=cells, filled=cells, slots=slots, hidden=False
            )
            if built is not None:
                yield built

    sheet = SheetSource(sheet_name, match.row_number, columns, filing, False, read_rows)
    return Source(
        path=path,
        file_name=path.name,
        content_sha256=content_sha256,
        format="csv",
        skipped=[],
        filing=filing,
        date_system=1900,
        _sheets=[sheet],
    )


def estimate_rows(path: Path) -> int | None:
    """Estimate how many rows ``path`` contains, for a progress bar; ``None`` if unknown.

    A CSV file's line breaks are counted. A workbook's sheets are sized from the
    dimensions their XML declares, which Excel and WPS keep current but other writers
    may leave stale. The figure includes title and header rows and is only an estimate.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(8)
            if head.startswith(_ZIP_MAGIC):
                workbook = load_workbook(path, read_only=True)
                try:
                    return sum(sheet.max_row or 0 for sheet in workbook.worksheets) or None
                finally:
                    workbook.close()
            stream.seek(0)
            return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    except (*_WORKBOOK_ERRORS, OSError):
        return None
