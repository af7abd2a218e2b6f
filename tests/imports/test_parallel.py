"""Rows prepared in a second process register what in-process preparation registers.

A large file is read, validated and encrypted in a forked child while the importing
process saves (``vault.imports.prepare``). These tests run the same files both ways
and compare the stores by content, and check how the importing process reports a
child that fails or dies: with a stable code, keeping every batch saved before.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import fresh_store_config
from tests.support import SAMPLE, account, registry, run_import
from vault.clock import Clock
from vault.audit import AuditRecord
from vault.errors import ImportFailed, StorageError, WorkbookError
from vault.imports import prepare, service
from vault.imports.cells import EMPTY, Cell
from vault.imports.prepare import PackedCells, Preparer, fewer_collections
from vault.store.config import StoreConfig

from .store_contents import read_store
from .synthetic import write_residents_csv

pytestmark = [pytest.mark.storage]


def import_both_ways(path: Path, clock: Clock, folder: Path) -> tuple[object, object]:
    results = []
    for parallel in (False, True):
        with fresh_store_config(folder / f"parallel-{parallel}") as config, \
                registry(config, clock) as services:
            clerk = account(services, "clerk-parallel", "clerk")
            summary = run_import(services, clerk, path, parallel=parallel)
            results.append((summary.as_dict(), read_store(services)))
    return results[0], results[1]


def test_child_csv_stores_the_same(clock: Clock, tmp_path: Path) -> None:
    # 2,500 rows: three batches, households across batch boundaries.
    path = write_residents_csv(tmp_path / "residents.csv", 2500, seed=5)

    (alone, stored_alone), (forked, stored_forked) = import_both_ways(path, clock, tmp_path)

    for summary in (alone, forked):
        summary.pop("batch_id")
    assert forked == alone
    assert alone["registered"] == 2500
    assert stored_forked.problems == []
    assert stored_forked.persons == stored_alone.persons
    assert stored_forked.households == stored_alone.households
    assert stored_forked.ledger == stored_alone.ledger
    assert stored_forked.blind_rows == stored_alone.blind_rows
    assert stored_forked.residents_view == stored_alone.residents_view
    assert stored_forked.households_view == stored_alone.households_view


def test_child_sample_rejects_match(
    clock: Clock, tmp_path: Path
) -> None:
    # The sample has rejected, warned and duplicate rows, whose original cells
    # cross the pipe for the rejects workbook.
    (alone, stored_alone), (forked, stored_forked) = import_both_ways(SAMPLE, clock, tmp_path)

    for summary in (alone, forked):
        summary.pop("batch_id")
        summary.pop("rejects")
    assert forked == alone
    assert forked["rejected"] > 0
    assert forked["warned"] > 0
    assert forked["duplicates"] > 0
    assert stored_forked.persons == stored_alone.persons
    assert stored_forked.households == stored_alone.households


def test_child_file_error_matches(
    store_config: StoreConfig, clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes("姓名,性别\n".encode() + b"\xff\xfe\xfa broken\n")
    codes = []
    with registry(store_config, clock) as services:
        clerk = account(services, "clerk-parallel", "clerk")
        for parallel in (False, True):
            with pytest.raises(WorkbookError) as raised:
                run_import(services, clerk, path, parallel=parallel)
            codes.append((raised.value.code, raised.value.message_en))
    assert codes[0] == codes[1]
    assert codes[0][0] == "WORKBOOK_ENCODING"


def fail_after(rows: int, failure: str) -> object:
    """Return a Preparer.prepare that fails as ``failure`` once ``rows`` rows are done."""
    original = Preparer.prepare
    seen = [0]

    def prepare_row(self: Preparer, row: object) -> object:
        seen[0] += 1
        if seen[0] > rows:
            if failure == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("a bug, with a cell value in its message: 330102199001011234")
        return original(self, row)  # type: ignore[arg-type]

    return prepare_row


@pytest.mark.parametrize(("failure", "code"), [
    ("raise", "IMPORT_WORKER_FAILED"),
    ("kill", "IMPORT_WORKER_LOST"),
])
def test_child_failure_keeps_saved_batches(
    store_config: StoreConfig, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    failure: str, code: str,
) -> None:
    path = write_residents_csv(tmp_path / "residents.csv", 1500, seed=9)
    # The child is forked after this patch, so only the child runs it.
    monkeypatch.setattr(Preparer, "prepare", fail_after(1000, failure))
    with registry(store_config, clock) as services:
        clerk = account(services, "clerk-parallel", "clerk")
        with pytest.raises(ImportFailed) as raised:
            run_import(services, clerk, path, parallel=True)
        assert raised.value.code == code
        # Only the class of an unexpected exception crosses, never its text.
        assert "330102199001011234" not in raised.value.message_en
        assert "330102199001011234" not in raised.value.message_zh
        saved = read_store(services)
        outcomes = [(r["outcome"], r["reason"]) for r in services.audit.records(
            action="person.import")]
        # The batch sent before the failure is saved and consistent.
        assert sum(saved.persons.values()) == 1000
        assert saved.problems == []

        monkeypatch.undo()
        rerun = run_import(services, clerk, path, parallel=True)
    # The run is audited when it starts and when it fails, with how far it got.
    assert [outcome for outcome, _reason in outcomes] == ["started", "failed"]
    assert f"registered=1000 rejected=0 duplicates=0 already_imported=0 error={code}" in str(
        outcomes[1][1])
    assert rerun.already_imported == 1000
    assert rerun.registered == 500


def test_child_only_for_large_files(
    store_config: StoreConfig, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = write_residents_csv(tmp_path / "small.csv", 10, seed=1)
    large = write_residents_csv(tmp_path / "large.csv", 2000, seed=2)
    assert small.stat().st_size < prepare.PARALLEL_MIN_BYTES <= large.stat().st_size
    forks: list[Path] = []
    forked = prepare._ForkedPreparation  # noqa: SLF001  # counted, not changed

    def counting(path: Path, *args: object) -> object:
        forks.append(path)
        return forked(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare, "_ForkedPreparation", counting)
    with registry(store_config, clock) as services:
        clerk = account(services, "clerk-parallel", "clerk")
        assert run_import(services, clerk, small).rows == 10
        assert run_import(services, clerk, large).rows == 2000

    assert forks == [large]


def test_original_cells_cross_the_pipe() -> None:
    cells = [
        ("姓名", Cell("测试丙", "text")),
        ("序号", EMPTY),
        ("出生日期", Cell(datetime(1990, 1, 2), "date", "yyyy-mm-dd")),
        ("户编码", Cell(3.31e17, "number", "General", 1904)),
        ("备注", Cell('="x"', "formula")),
    ]

    back = pickle.loads(pickle.dumps(PackedCells(cells)))  # noqa: S301  # our own bytes

    assert back.cells() == cells


def test_collector_settings_restored() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        inside = gc.get_threshold()
        with fewer_collections():
            pass
        assert gc.get_threshold() == inside
    assert inside[0] > before[0]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_failed_audit_keeps_the_import_error(
    store_config: StoreConfig, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_residents_csv(tmp_path / "residents.csv", 10, seed=9)
    monkeypatch.setattr(Preparer, "prepare", fail_after(0, "raise"))
    with registry(store_config, clock) as services:
        clerk = account(services, "clerk-parallel", "clerk")
        append = services.audit.append

        def append_unless_failed(*records: AuditRecord) -> None:
            if any(record.outcome == "failed" for record in records):
                raise StorageError("审计写入失败。", "The audit write failed.")
            append(*records)

        monkeypatch.setattr(services.audit, "append", append_unless_failed)
        logged: list[tuple[str, dict[str, object]]] = []
        monkeypatch.setattr(service, "log", RecordingLog(logged))

        # In-process, the preparer's own exception reaches the caller unchanged.
        with pytest.raises(RuntimeError, match="a bug"):
            run_import(services, clerk, path, parallel=False)

    assert [event for event, _fields in logged] == ["import_audit_failed"]
    assert logged[0][1]["error_code"] == "RuntimeError"
    assert logged[0][1]["audit_error_type"] == "StorageError"


class RecordingLog:
    """A stand-in for the module's structlog logger that keeps each error event."""

    def __init__(self, events: list[tuple[str, dict[str, object]]]) -> None:
        self._events = events

    def error(self, event: str, **fields: object) -> None:
        self._events.append((event, fields))
