"""Importing the synthetic township workbook end to end, on the backend under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.conftest import TODAY, fresh_store_config
from tests.support import QUIRKS, SAMPLE, account, registry, run_import
from vault.accounts import Account
from vault.bootstrap import Services
from vault.clock import FixedClock
from vault.imports.rejects import ENTRIES_SHEET
from vault.imports.service import ImportSummary

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample workbook is absent")


@dataclass
class Imported:
    services: Services
    clerk: Account
    summary: ImportSummary
    rejects: list[dict[str, Any]]
    folder: Path


def _rejects_rows(path: Path) -> list[dict[str, Any]]:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[ENTRIES_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    folder = tmp_path_factory.mktemp("sample")
    with fresh_store_config(folder) as config, registry(config, FixedClock(TODAY)) as services:
        clerk = account(services, "clerk-qingxi", "clerk")
        summary = run_import(services, clerk, SAMPLE)
        assert summary.rejects_path is not None
        yield Imported(services, clerk, summary, _rejects_rows(summary.rejects_path), folder)


def test_sample_counts(imported: Imported) -> None:
    """The sample gives exactly the counts the registry promises for it."""
    summary = imported.summary

    assert summary.rows == 1541
    assert summary.registered == 1535
    assert summary.households == 420
    assert summary.rejected == 5
    assert summary.warned == 2
    assert summary.duplicates == 1


def _entry(imported: Imported, sheet_row: int) -> dict[str, Any] | None:
    return next((r for r in imported.rejects if r["原行号"] == sheet_row), None)


@pytest.mark.parametrize(
    "quirk", json.loads(QUIRKS.read_text(encoding="utf-8")) if QUIRKS.exists() else [],
    ids=lambda q: f"row{q['sheet_row']}-{q['column_name']}",
)
def test_sample_quirk_outcome(imported: Imported, quirk: dict[str, Any]) -> None:
    """Each listed problem row ends as its ``expect`` field states."""
    entry = _entry(imported, quirk["sheet_row"])
    expect = quirk["expect"]

    if expect.startswith("reject"):
        assert entry is not None
        assert entry["类别"] == "拒绝"
        assert entry["问题列"] == quirk["column_name"]
    elif expect.startswith("duplicate"):
        assert entry is not None
        assert entry["类别"] == "重复"
    elif "warning" in expect:
        assert entry is not None
        assert entry["类别"] == "警告"
        assert entry["问题列"] == quirk["column_name"]
    else:
        assert entry is None, f"row {quirk['sheet_row']} should be accepted silently"


def test_sample_quirk_stored_values(imported: Imported) -> None:
    """Cleaned values are stored cleaned: X upper-cased, 15 digits converted, phone normalised."""
    services = imported.services
    listed = {int(r["原行号"]) for r in imported.rejects}
    assert 211 not in listed
    assert 1297 not in listed

    with services.store.db.transaction(commit=False) as tx:
        rows = tx.execute(
            "SELECT row_number, person_id FROM {import_ledger} WHERE row_number IN (?, ?, ?, ?)",
            (211, 216, 238, 1297),
        ).fetchall()
    people = {int(r["row_number"]): services.store.app.repository.get(_uuid(r["person_id"]))
              for r in rows}

    assert people[211].pii["id_number"].endswith("X")
    assert len(people[216].pii["id_number"]) == 18
    assert len(people[216].pii["id_number_original"]) == 15
    assert people[238].pii.get("id_number") is None
    assert people[238].record_status == "flagged"
    assert " " not in people[1297].pii["phone"]


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


def test_reimport_registers_nobody(imported: Imported) -> None:
    """Importing the same file again registers 0 and establishes 0 households."""
    again = run_import(imported.services, imported.clerk, SAMPLE)

    assert again.registered == 0
    assert again.households == 0
    assert again.already_imported == 1535
    assert again.rejected == 5
    assert again.duplicates == 1


def test_projection_counts_match(imported: Imported) -> None:
    """The resident view has one row per registered person and household."""
    with imported.services.store.db.transaction(commit=False) as tx:
        persons = tx.scalar("SELECT COUNT(*) FROM {residents}")
        households = tx.scalar("SELECT COUNT(*) FROM {households}")
        members = tx.scalar("SELECT SUM(members) FROM {households}")

    assert persons == 1535
    assert households == 420
    assert members == 1535


def test_rebuilt_projection_equals_live(imported: Imported) -> None:
    """Rebuilding the view from the events gives exactly the live view."""
    def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with imported.services.store.db.transaction(commit=False) as tx:
            residents = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in tx.execute(
                "SELECT * FROM {residents} ORDER BY person_id").fetchall()]
            households = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in tx.execute(
                "SELECT * FROM {households} ORDER BY household_id").fetchall()]
        return residents, households

    live = snapshot()
    imported.services.residents.rebuild()

    assert snapshot() == live


def test_blind_index_one_row_per_number(imported: Imported) -> None:
    """Every registered ID number has exactly one blind-index row."""
    with imported.services.store.db.transaction(commit=False) as tx:
        index_rows = tx.scalar("SELECT COUNT(*) FROM {blind_index} WHERE kind = 'id_number'")
        flagged = tx.scalar("SELECT COUNT(*) FROM {residents} WHERE record_status = 'flagged'")

    assert index_rows == 1535 - flagged


def test_every_person_decrypts(imported: Imported) -> None:
    """Every registered person reads back with a name and a village."""
    services = imported.services
    with services.store.db.transaction(commit=False) as tx:
        ids = [r["person_id"] for r in tx.execute("SELECT person_id FROM {residents}").fetchall()]

    for person_id in ids:
        person = services.store.app.repository.get(_uuid(person_id))
        assert person.pii["name"]
        assert len(person.village_code) == 12


def test_corrected_rejects_register(imported: Imported, tmp_path: Path) -> None:
    """Fixing the rejected rows in the rejects workbook and importing it registers them."""
    corrected = _correct_rejects(imported.summary.rejects_path, tmp_path / "corrected.xlsx")

    summary = run_import(imported.services, imported.clerk, corrected)

    assert summary.registered == 5
    assert summary.rejected == 0


# Replacement values for the five rejected rows, keyed by sheet row: each invents a
# valid synthetic value where the original cannot be recovered.
def _correct_rejects(source: Path | None, target: Path) -> Path:
    assert source is not None
    workbook = openpyxl.load_workbook(source)
    sheet = workbook[ENTRIES_SHEET]
    header = [c.value for c in sheet[1]]
    column = {name: index + 1 for index, name in enumerate(header)}
    kept = []
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, column["类别"]).value != "拒绝":
            continue
        kept.append(row)
        code = sheet.cell(row, column["错误代码"]).value
        fix = _FIXES[code]
        fix(sheet, row, column)
    for row in range(sheet.max_row, 1, -1):
        if row not in kept:
            sheet.delete_rows(row)
    workbook.save(target)
    return target


def _id_cell(sheet: Any, row: int, column: dict[str, int]) -> Any:
    return sheet.cell(row, column["公民身份号码"])


def _fix_number(sheet: Any, row: int, column: dict[str, int]) -> None:
    # The number cell lost its last digits: invent a valid number with the same
    # county, the row's own birth date column and a free sequence.
    from tests.strategies import with_check

    born = _birth(sheet, row, column)
    sex = sheet.cell(row, column["性别"]).value
    cell = _id_cell(sheet, row, column)
    cell.value = with_check(f"331024{born:%Y%m%d}{901 if sex == '男' else 902}")
    cell.data_type = "s"


def _birth(sheet: Any, row: int, column: dict[str, int]) -> Any:
    from vault.domain.values import parse_date
    from vault.imports.cells import Cell

    value = sheet.cell(row, column["出生日期"]).value
    if hasattr(value, "year"):
        return value.date() if hasattr(value, "date") else value
    return parse_date(Cell(str(value), "text"), "birth_date")[0]


def _fix_sex(sheet: Any, row: int, column: dict[str, int]) -> None:
    number = str(_id_cell(sheet, row, column).value)
    sheet.cell(row, column["性别"]).value = "男" if int(number[16]) % 2 else "女"


def _fix_birth(sheet: Any, row: int, column: dict[str, int]) -> None:
    number = str(_id_cell(sheet, row, column).value)
    sheet.cell(row, column["出生日期"]).value = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


def _fix_name(sheet: Any, row: int, column: dict[str, int]) -> None:
    sheet.cell(row, column["姓名"]).value = "林补录"


_FIXES = {
    "ID_NUMBER_CELL": _fix_number,
    "ID_CHECKSUM": _fix_number,
    "SEX_MISMATCH": _fix_sex,
    "BIRTH_DATE_MISMATCH": _fix_birth,
    "FIELD_MISSING": _fix_name,
}


def test_check_mode_registers_nobody(tmp_path: Path) -> None:
    """``--check`` reports the same outcome and leaves the store empty."""
    with fresh_store_config(tmp_path) as config, registry(config, FixedClock(TODAY)) as services:
        clerk = account(services, "clerk-check", "clerk")

        summary = run_import(services, clerk, SAMPLE, check_only=True)

        with services.store.db.transaction(commit=False) as tx:
            ledger = tx.scalar("SELECT COUNT(*) FROM {import_ledger}")
            residents = tx.scalar("SELECT COUNT(*) FROM {residents}")
        assert summary.registered == 1535
        assert summary.rejected == 5
        assert ledger == 0
        assert residents == 0
        assert services.store.app.recorder.max_notification_id() in (None, 0)
