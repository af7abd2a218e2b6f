"""The office's village table (村表): names and 12-digit codes, versioned, never deleted.

Offices load it with ``vault villages import FILE``, where FILE is a workbook or CSV
with a name column and a code column (and optionally 启用日期 / 停用日期). Loading a
code that is already present with another name retires the old entry on the day
before the new one starts, so that rows dated before the change still resolve.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from vault.clock import Clock
from vault.domain.divisions import Village, VillageTable, parse_village_code
from vault.errors import InvalidValue, WorkbookError
from vault.store.database import Database

MAX_NAME_LENGTH = 50
# Village and community names: Chinese characters, letters, digits, brackets, middle
# dots and hyphens. Nothing that a spreadsheet or a terminal would interpret.
_VILLAGE_NAME = re.compile(
    r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff〇A-Za-z0-9()（）·・\-]"
    + f"{{1,{MAX_NAME_LENGTH}}}$"
)
_NAME_LABELS = ("名称", "村名", "村(居)委会", "村委会", "村(居)委会名称", "村居", "社区", "name")
_CODE_LABELS = ("代码", "区划代码", "村代码", "统计用区划代码", "村(居)委会代码", "code")
_FROM_LABELS = ("启用日期", "生效日期", "valid_from")
_TO_LABELS = ("停用日期", "失效日期", "valid_to")


@dataclass(frozen=True, slots=True)
class VillageLoad:
    added: int
    unchanged: int
    retired: int


def load_village_table(db: Database) -> VillageTable:
    """Return every village entry in the store, current and retired."""
    with db.transaction(commit=False) as tx:
        rows = tx.execute("SELECT code, name, valid_from, valid_to FROM {villages}").fetchall()
    return VillageTable(tuple(
        Village(
            code=row["code"],
            name=row["name"],
            valid_from=_date_or_none(row["valid_from"]),
            valid_to=_date_or_none(row["valid_to"]),
        )
        for row in rows
    ))


def import_villages(
    db: Database, path: Path, clock: Clock, jurisdiction: str | None = None
) -> VillageLoad:
    """Load ``path`` into the village table; reject the whole file on any bad row.

    With ``jurisdiction`` (a clerk's division-code prefix) every code must lie inside
    it, so that a clerk cannot rename another office's villages.
    """
    entries = list(_read(path, clock.today()))
    if jurisdiction and jurisdiction != "CN":
        outside = sorted({v.code for v in entries if not v.code.startswith(jurisdiction)})
        if outside:
            raise WorkbookError(
                f"{path.name} 中有 {len(outside)} 个村不在本账户管辖范围（{jurisdiction}）内，"
                f"例如 {outside[0]}。未导入任何村。",
                f"{path.name} lists {len(outside)} villages outside the account's jurisdiction"
                f" ({jurisdiction}), such as {outside[0]}. No village was loaded.",
                code="VILLAGES_OUTSIDE_JURISDICTION", field="code", value=outside[0],
            )
    current = load_village_table(db)
    added = unchanged = retired = 0
    now = clock.now().isoformat()
    with db.transaction() as tx:
        for village in entries:
            known = [v for v in current.by_code(village.code) if v.valid_to is None]
            if any(v.name == village.name for v in known):
                unchanged += 1
                continue
            start = village.valid_from or clock.today()
            for old in known:
                tx.execute(
                    "UPDATE {villages} SET valid_to = ? WHERE code = ? AND valid_from = ?",
                    ((start - timedelta(days=1)).isoformat(), old.code, _iso(old.valid_from)),
                )
                retired += 1
            tx.execute(
                "INSERT INTO {villages} (code, name, valid_from, valid_to, loaded_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (village.code, village.name, start.isoformat(), _iso(village.valid_to), now),
            )
            added += 1
    return VillageLoad(added, unchanged, retired)


def _read(path: Path, today: date) -> list[Village]:
    rows = _rows(path)
    header_index, columns = _header(rows, path)
    villages: list[Village] = []
    for number, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        name = _cell(row, columns.get("name"))
        code = _cell(row, columns.get("code"))
        if not name and not code:
            continue
        if not name:
            raise _row_error(path, number, "名称为空", "the name is empty", "name")
        if not _VILLAGE_NAME.match(name):
            raise _row_error(
                path, number,
                f"名称只能由汉字、字母、数字、括号和间隔号组成，且不超过 {MAX_NAME_LENGTH} 个字",
                f"a name uses Chinese characters, letters, digits, brackets and middle dots,"
                f" at most {MAX_NAME_LENGTH} characters", "name",
            )
        try:
            code = parse_village_code(code, field="code")
        except InvalidValue as error:
            raise _row_error(path, number, error.message_zh, error.message_en, "code") from None
        villages.append(Village(
            code=code,
            name=name,
            valid_from=_parse_date(_cell(row, columns.get("from")), path, number) or today,
            valid_to=_parse_date(_cell(row, columns.get("to")), path, number),
        ))
    if not villages:
        raise WorkbookError(
            f"{path.name} 中没有村（居）委会记录。", f"{path.name} holds no village rows.",
            code="VILLAGES_EMPTY",
        )
    return villages


def _rows(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            workbook = load_workbook(path, read_only=True, data_only=True)
            try:
                return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
            finally:
                workbook.close()
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return list(csv.reader(io.StringIO(data.decode(encoding))))
            except UnicodeDecodeError:
                continue
    except (OSError, ValueError, KeyError) as error:
        raise WorkbookError(
            f"无法读取村表文件 {path.name}。",
            f"Could not read the village file {path.name}.",
            code="VILLAGES_UNREADABLE",
        ) from error
    raise WorkbookError(
        f"村表文件 {path.name} 既不是 UTF-8 也不是 GB18030 编码。",
        f"The village file {path.name} is neither UTF-8 nor GB18030.",
        code="VILLAGES_ENCODING",
    )


def _header(rows: list[list[Any]], path: Path) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(rows[:20]):
        labels = ["".join(str(v or "").split()) for v in row]
        columns: dict[str, int] = {}
        for position, label in enumerate(labels):
            for key, options in (("name", _NAME_LABELS), ("code", _CODE_LABELS),
                                 ("from", _FROM_LABELS), ("to", _TO_LABELS)):
                if label in options and key not in columns:
                    columns[key] = position
        if "name" in columns and "code" in columns:
            return index, columns
    raise WorkbookError(
        f"{path.name} 中找不到表头：需要“名称”和“代码”两列。",
        f"No header found in {path.name}: it needs a name column and a code column.",
        code="VILLAGES_HEADER_MISSING",
    )


def _cell(row: list[Any], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value).strip()


def _parse_date(text: str, path: Path, number: int) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _row_error(
            path, number, "日期应写成 YYYY-MM-DD", "dates must be YYYY-MM-DD", "valid_from"
        ) from None


def _row_error(path: Path, number: int, zh: str, en: str, field: str) -> WorkbookError:
    return WorkbookError(
        f"{path.name} 第 {number} 行：{zh}。未导入任何村。",
        f"{path.name} row {number}: {en}. No village was loaded.",
        code="VILLAGES_ROW_INVALID",
        field=field,
    )


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
