"""Workbooks that inflate far beyond their file size, and Excel's text escapes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from vault.errors import WorkbookError
from vault.imports import readers
from vault.imports.readers import MAX_SHEET_ROWS, decode_ooxml_escapes, open_source

from .bomb import write_bomb_workbook
from .builders import registration_workbook
from .test_memory import peak_rss_mib


@pytest.mark.slow
def test_near_empty_rows_stream(tmp_path: Path) -> None:
    path = write_bomb_workbook(tmp_path / "bomb.xlsx", 1_000_000, hidden=True)

    rows, peak = peak_rss_mib(path)

    assert rows == 0
    # Reading this file peaked above 800 MiB when rows were kept in memory.
    assert peak < 150


def test_sheet_over_row_limit_rejected(tmp_path: Path) -> None:
    path = write_bomb_workbook(tmp_path / "bomb.xlsx", 3)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        'r="4" ', f'r="{MAX_SHEET_ROWS + 1}" '
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)

    with pytest.raises(WorkbookError) as caught:
        open_source(path)

    assert caught.value.code == "WORKBOOK_TOO_LARGE"


def test_part_over_size_limit_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_bomb_workbook(tmp_path / "bomb.xlsx", 1000)
    monkeypatch.setattr(readers, "MAX_PART_BYTES", 10_000)

    with pytest.raises(WorkbookError) as caught:
        open_source(path)

    assert caught.value.code == "WORKBOOK_TOO_LARGE"
    assert "xl/worksheets/sheet1.xml" in caught.value.message_en


@pytest.mark.parametrize(
    ("escaped", "decoded"),
    [("a_x0000_b", "a\x00b"), ("_x0007_", "\x07"), ("_x005F_x0007_", "_x0007_"),
     ("a_x005F_b", "a_b"), ("_x4E2D_", "中"), ("no_escape_x12_", "no_escape_x12_")],
)
def test_ooxml_escapes_decoded(escaped: str, decoded: str) -> None:
    assert decode_ooxml_escapes(escaped) == decoded


def test_escaped_control_character_read(tmp_path: Path) -> None:
    path = registration_workbook(
        tmp_path / "book.xlsx", [[1, "", "样本村", "测试", "男", "汉族", "19900101",
                                  "", "子", "", "备注内容"]]
    )
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    changed = False
    for name, data in parts.items():
        replaced = data.replace(">备注内容<".encode(), ">a_x0007_b<".encode())
        changed = changed or replaced != data
        parts[name] = replaced
    assert changed
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)

    with open_source(path) as source:
        remark = next(next(source.sheets()).rows()).cells["remark"]

    assert remark.value == "a\x07b"
