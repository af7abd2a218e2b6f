"""Formula-looking text written to the rejects workbook re-imports as the original text."""

from __future__ import annotations

from pathlib import Path

from tests.domain.test_registration import CONTEXT, row
from vault.domain.registration import Accepted, Rejected, validate_row
from vault.imports.readers import open_source
from vault.imports.rejects import write_rejects

from .test_rejects import entry_for, problem, source_rows


def reimported_cells(tmp_path: Path, remark: str, phone: str) -> dict:
    source = source_rows(tmp_path, [[1, "", "样本村", "测试", "男", "汉族", "19900101",
                                     "", "子", phone, remark]])
    rejects = write_rejects(
        tmp_path / "rejects.xlsx", [entry_for(source[0], problem("SEX_MISMATCH", "sex", "x"))]
    )
    with open_source(rejects) as reopened:
        return next(next(reopened.sheets()).rows()).cells


def test_signed_text_round_trip(tmp_path: Path) -> None:
    cells = reimported_cells(tmp_path, remark="-5", phone="+86 138 0013 8000")

    assert cells["remark"].value == "'-5"
    result = validate_row(row(remark=cells["remark"], phone=cells["phone"]), CONTEXT)

    assert isinstance(result, Accepted), result
    assert result.registration.remark == "-5"
    assert result.registration.phone == "13800138000"


def test_formula_text_round_trip_rejected(tmp_path: Path) -> None:
    cells = reimported_cells(tmp_path, remark='=HYPERLINK("http://127.0.0.1/","x")',
                             phone="13800138000")

    result = validate_row(row(remark=cells["remark"]), CONTEXT)

    assert isinstance(result, Rejected)
    assert [(p.code, p.field) for p in result.problems] == [("CELL_FORMULA", "remark")]


def test_apostrophe_removed_once() -> None:
    result = validate_row(row(remark="'备注"), CONTEXT)

    assert isinstance(result, Accepted), result
    assert result.registration.remark == "备注"
