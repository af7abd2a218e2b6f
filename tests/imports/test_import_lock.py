"""Imports into one registry at the same time write one after the other.

Two files whose rows belong to the same households, imported at once, must give
each household number one household and fail neither import: the second waits
for the first's import lock (``vault.store.locks``).
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest

from tests.support import account, registry, run_import
from vault.clock import Clock
from vault.imports.service import Importer, ImportSummary
from vault.store.config import StoreConfig

from .store_contents import read_store
from .synthetic import write_residents_csv

pytestmark = [pytest.mark.storage]


def split_rows(source: Path, folder: Path) -> tuple[Path, Path]:
    """Write the even and the odd data rows of ``source`` to two files; return them."""
    with source.open(newline="", encoding="utf-8") as stream:
        header, *rows = list(csv.reader(stream))
    halves = []
    for name, part in (("even.csv", rows[0::2]), ("odd.csv", rows[1::2])):
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows([header, *part])
        halves.append(path)
    return halves[0], halves[1]


def test_imports_sharing_households_do_not_split_them(
    store_config: StoreConfig, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    even, odd = split_rows(write_residents_csv(tmp_path / "all.csv", 3000, seed=3), tmp_path)
    waits: list[str] = []
    original_init = Importer.__init__

    def counting_init(self: Importer, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        self._on_wait = lambda: waits.append("waited")  # noqa: SLF001  # observed only

    monkeypatch.setattr(Importer, "__init__", counting_init)
    with registry(store_config, clock) as services:
        clerk = account(services, "clerk-lock", "clerk")
        start = threading.Barrier(2)
        results: dict[str, ImportSummary | BaseException] = {}

        def import_file(path: Path) -> None:
            start.wait()
            try:
                results[path.name] = run_import(services, clerk, path, parallel=False)
            except BaseException as error:  # noqa: BLE001  # reported by the assertions
                results[path.name] = error

        threads = [threading.Thread(target=import_file, args=(path,)) for path in (even, odd)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        stored = read_store(services)

    summaries = [results["even.csv"], results["odd.csv"]]
    assert all(isinstance(summary, ImportSummary) for summary in summaries), summaries
    assert sum(s.registered for s in summaries) == 3000  # type: ignore[union-attr]
    assert waits == ["waited"]
    assert stored.problems == []
    assert sum(stored.persons.values()) == 3000
    # One household per household number, holding the members from both files.
    assert sum(len(members) for members in stored.households.values()) == 3000
