"""The rejects workbook: rows that were rejected, warned about or found twice, ready to fix.

Each row of the file contains where the row came from, what is wrong with it, and then
the row's original cells under their original headers. A clerk corrects the cells
and imports this very file again: the importer's header detection finds the header
row, and the six leading columns carry labels that map to no field key, so they
are ignored.

Nothing in the file can run as a formula. Text cells are written with the string
data type, and a value that a spreadsheet would read as a formula (leading ``=``,
``+``, ``-``, ``@``, tab or carriage return) also gets a leading ``'``, so that it
stays inert when a person copies it into another sheet or saves the file as CSV.
The string type alone keeps Excel from evaluating the cell, but LibreOffice and WPS
may evaluate it once a person edits it, and the type is lost in a CSV copy, so the
``'`` stays. On re-import ``vault.domain.values.cell_text`` removes one leading
``'`` from every text cell, so a corrected row registers the original text, not
``'=…``. Formula-looking text other than a number or phone number is rejected again
(``CELL_FORMULA``) until the clerk removes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from vault.errors import Problem
from vault.imports.cells import Cell
from vault.imports.headers import label_zh

Category = Literal["reject", "warning", "duplicate"]

CATEGORY_LABELS: dict[str, str] = {"reject": "拒绝", "warning": "警告", "duplicate": "重复"}

ENTRY_HEADERS: tuple[str, ...] = ("原工作表", "原行号", "问题列", "错误代码", "原因", "类别")
"""Labels of the leading columns; none of them is a wording of a field key."""

SUMMARY_HEADERS: tuple[str, ...] = (
    "村(居)委会代码", "村(居)委会名称", "行数", "已登记", "拒绝", "警告", "重复", "错误率",
)

ENTRIES_SHEET = "问题行"
SUMMARY_SHEET = "按村汇总"

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_FORMAT = "@"
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


@dataclass(frozen=True, slots=True)
class RejectEntry:
    """One source row with its problems.

    ``problems`` are listed in the order found; the first one names the column shown
    in 问题列. ``column_headers`` maps a field key to the header text the file used
    for it, so that the column is named as the clerk knows it. A key missing from
    it is named by its catalogue label. ``original`` is the row's (header text, cell)
    list in file order.
    """

    sheet: str
    row_number: int
    category: Category
    problems: Sequence[Problem]
    original: Sequence[tuple[str, Cell]]
    column_headers: Mapping[str, str] = field(default_factory=dict)

    def problem_column(self) -> str:
        """Return the header of the first problem's column, or an empty string."""
        key = next((problem.field for problem in self.problems if problem.field), None)
        if key is None:
            return ""
        if key in self.column_headers:
            return self.column_headers[key]
        try:
            return label_zh(key)
        except KeyError:
            return key


@dataclass(frozen=True, slots=True)
class VillageSummary:
    """Counts of one village's rows in an import."""

    village_code: str
    village_name: str
    rows: int
    registered: int
    rejected: int
    warned: int
    duplicates: int

    @property
    def error_rate(self) -> float:
        """Rejected rows as a fraction of all rows, 0.0 for a village without rows."""
        return self.rejected / self.rows if self.rows else 0.0


def neutralise(value: str) -> str:
    """Return ``value`` so that no spreadsheet reads it as a formula.

    Characters that XML cannot hold (control characters other than tab, line feed
    and carriage return) are replaced by U+FFFD, because openpyxl refuses them.
    """
    value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if value.startswith(_FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_rejects(
    path: Path,
    entries: Iterable[RejectEntry],
    *,
    villages: Sequence[VillageSummary] = (),
) -> Path:
    """Write the rejects workbook to ``path`` and return ``path``.

    Entries are streamed (openpyxl write-only mode). Rows whose original headers
    differ from the first entry's, such as rows of a sheet laid out differently,
    go to a further sheet per layout, each with its own header row. The
    per-village summary is the last sheet, 按村汇总.
    """
    workbook = Workbook(write_only=True)
    sheets: dict[tuple[str, ...], Any] = {}

    for entry in entries:
        layout = tuple(header for header, _cell in entry.original)
        worksheet = sheets.get(layout)
        if worksheet is None:
            title = ENTRIES_SHEET if not sheets else f"{ENTRIES_SHEET}{len(sheets) + 1}"
            worksheet = workbook.create_sheet(title)
            _append_header(worksheet, ENTRY_HEADERS + layout)
            sheets[layout] = worksheet
        worksheet.append(_entry_row(worksheet, entry))

    if not sheets:
        worksheet = workbook.create_sheet(ENTRIES_SHEET)
        _append_header(worksheet, ENTRY_HEADERS)

    summary = workbook.create_sheet(SUMMARY_SHEET)
    _append_header(summary, SUMMARY_HEADERS)
    for village in villages:
        summary.append(_summary_row(summary, village))

    path = Path(path)
    workbook.save(path)
    return path


def _append_header(worksheet: Any, labels: Sequence[str]) -> None:
    bold = Font(bold=True)
    row = []
    for label in labels:
        cell = _text_cell(worksheet, label)
        cell.font = bold
        row.append(cell)
    worksheet.append(row)


def _entry_row(worksheet: Any, entry: RejectEntry) -> list[WriteOnlyCell]:
    codes = ";".join(problem.code for problem in entry.problems)
    reasons = "；".join(problem.message_zh for problem in entry.problems)
    row = [
        _text_cell(worksheet, entry.sheet),
        WriteOnlyCell(worksheet, entry.row_number),
        _text_cell(worksheet, entry.problem_column()),
        _text_cell(worksheet, codes),
        _text_cell(worksheet, reasons),
        _text_cell(worksheet, CATEGORY_LABELS[entry.category]),
    ]
    row.extend(_original_cell(worksheet, cell) for _header, cell in entry.original)
    return row


def _original_cell(worksheet: Any, cell: Cell) -> WriteOnlyCell:
    """Write a source cell back as the file held it, except that formulas become text.

    Number cells stay numbers, so an ID number that Excel already rounded is
    rejected again on re-import instead of passing as text.
    """
    value = cell.value
    if value is None:
        return WriteOnlyCell(worksheet, None)
    if cell.kind == "date" and isinstance(value, date):
        written = WriteOnlyCell(worksheet, value)
        midnight = not isinstance(value, datetime) or value.time() == datetime.min.time()
        written.number_format = _DATE_FORMAT if midnight else _DATETIME_FORMAT
        return written
    if cell.kind in ("number", "bool") and isinstance(value, int | float):
        written = WriteOnlyCell(worksheet, value)
        if cell.number_format:
            written.number_format = cell.number_format
        return written
    return _text_cell(worksheet, cell.as_text())


def _text_cell(worksheet: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(worksheet, None)
    cell.value = neutralise(value)
    # Set after the value: openpyxl would otherwise type a leading "=" as a formula.
    cell.data_type = "s"
    cell.number_format = _TEXT_FORMAT
    return cell


def _summary_row(worksheet: Any, village: VillageSummary) -> list[WriteOnlyCell]:
    rate = WriteOnlyCell(worksheet, village.error_rate)
    rate.number_format = "0.00%"
    return [
        _text_cell(worksheet, village.village_code),
        _text_cell(worksheet, village.village_name),
        WriteOnlyCell(worksheet, village.rows),
        WriteOnlyCell(worksheet, village.registered),
        WriteOnlyCell(worksheet, village.rejected),
        WriteOnlyCell(worksheet, village.warned),
        WriteOnlyCell(worksheet, village.duplicates),
        rate,
    ]
