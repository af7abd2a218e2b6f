"""A workbook laid out unlike the sample, and its GB18030 CSV twin, register the same
persons as a plain CSV file of the same rows.

The workbook puts the header on row 4 under a title and filing rows. It words every
label differently and with stray spaces, and orders the columns differently. Its
rows are split over two village sheets, with each household number merged over
its members, and one row and one sheet of old data are hidden. It uses the 1904
date system and types birth dates as date cells, bare serial numbers, serials
under a zh-CN built-in date format, and text in three styles.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import TEST_DATABASE_URL, drop_schema
from tests.support import account, registry, run_import
from vault.clock import Clock
from vault.imports.service import ImportSummary
from vault.store.config import StoreConfig, config_from

from .builders import SheetSpec, use_builtin_format, write_workbook
from .store_contents import StoreContents, read_store
from .synthetic import HEADER, Resident, ResidentGenerator

pytestmark = pytest.mark.storage

# Label as typed in the workbook, and how to read the cell from a resident.
Column = tuple[str, Callable[[Resident], Any]]
COLUMNS: list[Column] = [
    ("序", lambda r: None),
    ("姓\u3000名", lambda r: r.name),
    (" 身份证号码", lambda r: r.id_number),
    ("性 别", lambda r: r.sex),
    ("出生\n年月日", lambda r: r.birth_date),
    ("户编码", lambda r: r.household_number),
    ("户主关系", lambda r: r.relationship),
    ("民族", lambda r: r.ethnicity),
    ("所属村", lambda r: r.village_name),
    ("组别", lambda r: r.group),
    ("门牌", lambda r: r.house_number),
    ("婚姻", lambda r: r.marital_status),
    ("学历", lambda r: r.education),
    ("户口类别", lambda r: r.hukou_type),
    ("户籍所在地", lambda r: r.address),
    ("人口类别", lambda r: "常住人口"),
    ("手机号码", lambda r: r.phone or None),
    ("备注说明\u00a0", lambda r: None),
]
BIRTH = 4
HOUSEHOLD = 5
HEADER_ROW = 4
# A zh-CN built-in number format that openpyxl does not know: yyyy"年"m"月"d"日".
ZH_CN_DATE_FORMAT = 'yyyy"年"m"月"d"日"'
ZH_CN_DATE_FORMAT_ID = 31
EPOCH_1904 = date(1904, 1, 1)


def two_villages(count: int) -> list[Resident]:
    """Return invented residents, whole households, of the two villages with most rows."""
    residents = list(ResidentGenerator(seed=41).residents(count))
    by_village: dict[str, list[Resident]] = {}
    for resident in residents:
        by_village.setdefault(resident.village_code, []).append(resident)
    largest = sorted(by_village.values(), key=len, reverse=True)[:2]
    return [resident for village in largest for resident in village]


def birth_cell(resident: Resident, index: int) -> tuple[Any, str | None]:
    """Return a birth-date cell in one of five styles, and its number format if any."""
    born = resident.birth_date
    style = index % 5
    if style == 0:
        return datetime(born.year, born.month, born.day), "yyyy-mm-dd"
    if style == 1:
        return (born - EPOCH_1904).days, None
    if style == 2:
        return (born - EPOCH_1904).days, ZH_CN_DATE_FORMAT
    if style == 3:
        return f"{born.year}年{born.month}月{born.day}日", None
    return f"{born:%Y%m%d}", None


def text_date(resident: Resident, index: int) -> str:
    born = resident.birth_date
    return (f"{born.year}年{born.month}月{born.day}日", f"{born.year}/{born.month}/{born.day}",
            f"{born:%Y%m%d}")[index % 3]


def village_sheet(residents: list[Resident], hidden: Resident | None) -> SheetSpec:
    village = residents[0].village_name
    table: list[list[Any]] = [
        [f"{village}人口信息采集表"],
        [],
        ["调查员：测试员　　填报日期：2025年9月1日"],
        [label for label, _ in COLUMNS],
    ]
    number_formats: dict[str, str] = {}
    merges: list[str] = []
    hidden_rows: list[int] = []
    rows = [(resident, False) for resident in residents]
    if hidden is not None:
        # Old data in a hidden row, in the middle of the sheet.
        rows.insert(len(rows) // 2, (hidden, True))

    first_of_household = HEADER_ROW + 1
    for index, (resident, is_hidden) in enumerate(rows):
        row_number = HEADER_ROW + 1 + index
        values = [read(resident) for _, read in COLUMNS]
        values[0] = index + 1
        values[BIRTH], number_format = birth_cell(resident, index)
        if number_format:
            number_formats[f"E{row_number}"] = number_format
        previous = rows[index - 1][0] if index else None
        same_household = (previous is not None and not is_hidden and not rows[index - 1][1]
                          and previous.household_number == resident.household_number)
        if same_household:
            values[HOUSEHOLD] = None
        else:
            if row_number - first_of_household > 1:
                merges.append(f"F{first_of_household}:F{row_number - 1}")
            first_of_household = row_number
        if is_hidden:
            hidden_rows.append(row_number)
        table.append(values)
    last = HEADER_ROW + len(rows)
    if last - first_of_household >= 1:
        merges.append(f"F{first_of_household}:F{last}")
    return SheetSpec(village, table, hidden_rows=hidden_rows, merges=merges,
                     number_formats=number_formats)


def write_layout_workbook(path: Path, residents: list[Resident], old: list[Resident]) -> Path:
    villages: dict[str, list[Resident]] = {}
    for resident in residents:
        villages.setdefault(resident.village_code, []).append(resident)
    first, second = villages.values()
    sheets = [village_sheet(first, hidden=old[0]), village_sheet(second, hidden=None)]
    old_sheet = village_sheet(old[1:], hidden=None)
    old_sheet.title = "旧数据"
    old_sheet.state = "hidden"
    sheets.insert(1, old_sheet)
    write_workbook(path, sheets, epoch_1904=True)
    use_builtin_format(path, ZH_CN_DATE_FORMAT, ZH_CN_DATE_FORMAT_ID)
    return path


def write_gb18030_twin(path: Path, residents: list[Resident]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["清溪镇人口信息采集表"])
    writer.writerow([])
    writer.writerow(["调查员：测试员　　填报日期：2025年9月1日"])
    writer.writerow([label for label, _ in COLUMNS])
    for index, resident in enumerate(residents):
        values = [read(resident) for _, read in COLUMNS]
        values[0] = index + 1
        values[BIRTH] = text_date(resident, index)
        writer.writerow(["" if value is None else value for value in values])
    path.write_bytes(buffer.getvalue().encode("gb18030"))
    return path


def write_plain(path: Path, residents: list[Resident]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(HEADER)
        for serial, resident in enumerate(residents, start=1):
            writer.writerow(resident.row(serial))
    return path


@contextmanager
def another_store(folder: Path) -> Iterator[StoreConfig]:
    schema = f"vault_test_{uuid4().hex[:12]}" if TEST_DATABASE_URL else None
    try:
        yield config_from(folder / "var", folder / "keys", TEST_DATABASE_URL, schema)
    finally:
        if schema is not None:
            drop_schema(schema)


def import_into(
    config: StoreConfig, clock: Clock, path: Path
) -> tuple[ImportSummary, StoreContents]:
    with registry(config, clock) as services:
        clerk = account(services, "clerk-layouts", "clerk")
        summary = run_import(services, clerk, path)
        return summary, read_store(services)


def test_layouts_register_same_persons(
    store_config: StoreConfig, clock: Clock, tmp_path: Path
) -> None:
    residents = two_villages(60)
    old = list(ResidentGenerator(seed=97).residents(3))
    plain_path = write_plain(tmp_path / "plain.csv", residents)
    workbook_path = write_layout_workbook(tmp_path / "layout.xlsx", residents, old)
    twin_path = write_gb18030_twin(tmp_path / "layout-gb18030.csv", residents)

    plain, plain_store = import_into(store_config, clock, plain_path)
    with another_store(tmp_path / "workbook") as config:
        workbook, workbook_store = import_into(config, clock, workbook_path)
    with another_store(tmp_path / "twin") as config:
        twin, twin_store = import_into(config, clock, twin_path)

    assert plain.registered == len(residents)
    assert plain.rejected == 0
    assert workbook.registered == len(residents)
    assert workbook.rejected == 0
    assert twin.registered == len(residents)
    assert twin.rejected == 0
    assert sorted(item.code for item in workbook.skipped) == ["HIDDEN_ROW", "HIDDEN_SHEET"]
    assert plain_store.problems == []
    assert workbook_store.persons == plain_store.persons
    assert workbook_store.households == plain_store.households
    assert twin_store.persons == plain_store.persons
    assert twin_store.households == plain_store.households
    old_numbers = {resident.id_number for resident in old}
    stored_numbers = {key for key in workbook_store.residents_view}
    assert not old_numbers & stored_numbers
