"""Peak memory of reading county-size files, measured in a fresh interpreter.

Measured with this test on a 2-core Linux machine, Python 3.11, openpyxl 3.1.5:
100,000 workbook rows peaked at about 47 MiB and 1,000,000 CSV rows at about
38 MiB. The limits leave room for other platforms but still fail if rows are
collected in memory.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from .builders import STANDARD_HEADER, person_row, write_large_workbook

# The peak comes from VmHWM in /proc, not getrusage: on Linux ru_maxrss survives
# exec, so a child forked from a large pytest process would report the parent's size.
MEASURE = """
import re, sys
from pathlib import Path
from vault.imports.readers import open_source

count = 0
with open_source(Path(sys.argv[1])) as source:
    for sheet in source.sheets():
        for _row in sheet.rows():
            count += 1
status = Path("/proc/self/status").read_text()
print(count, int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


def peak_rss_mib(path: Path) -> tuple[int, int]:
    """Read every row of ``path`` in a new interpreter; return (rows, peak RSS in MiB)."""
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], check=True, capture_output=True, text=True
    ).stdout
    rows, peak = output.split()
    return int(rows), int(peak)


@pytest.mark.slow
def test_large_workbook_streams(tmp_path: Path) -> None:
    path = write_large_workbook(tmp_path / "county.xlsx", 100_000)

    rows, peak = peak_rss_mib(path)

    assert rows == 100_000
    assert peak < 150


@pytest.mark.slow
def test_large_csv_streams(tmp_path: Path) -> None:
    path = tmp_path / "county.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(STANDARD_HEADER)
        for number in range(1, 1_000_001):
            writer.writerow(person_row(number))

    rows, peak = peak_rss_mib(path)

    assert rows == 1_000_000
    assert peak < 300
