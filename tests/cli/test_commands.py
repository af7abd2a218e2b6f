"""The ``vault`` command run as a clerk would run it, in a subprocess, on the backend under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest

from tests.support import SAMPLE
from vault.accounts import totp_code
from vault.bootstrap import open_services
from vault.store.config import StoreConfig

SOURCE = Path(__file__).resolve().parents[2] / "src"
ADMIN_PASSWORD = "admin-password-for-tests"
CLERK_PASSWORD = "clerk-password-for-tests"
FIRST_ID = "331024197602155799"  # the sample's first row, a synthetic person


@dataclass
class Cli:
    config: StoreConfig
    cwd: Path
    admin_secret: str = ""

    def admin_code(self) -> str:
        """Return the admin's TOTP code for now; each test spends at most one."""
        return totp_code(self.admin_secret)

    def env(self, password: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env["PYTHONPATH"] = str(SOURCE)
        env.update({"VAULT_DATA": str(self.config.data_dir), "VAULT_KEYS": str(self.config.keys_dir)})
        if self.config.postgres is not None:
            pg = self.config.postgres
            env["VAULT_DATABASE_URL"] = f"postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.dbname}"
            env["VAULT_DATABASE_SCHEMA"] = pg.schema
        if password is not None:
            env["VAULT_PASSWORD"] = password
        return env

    def run(self, *args: str, password: str | None = None, stdin: str = "",
            lang: str | None = None, totp: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "vault.cli"]
        if lang:
            command += ["--lang", lang]
        env = self.env(password)
        if totp is not None:
            env["VAULT_TOTP"] = totp
        return subprocess.run(
            [*command, *args], input=stdin, capture_output=True, text=True,
            env=env, cwd=self.cwd, timeout=300, check=False,
        )


@pytest.fixture
def cli(store_config: StoreConfig, tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(store_config, tmp_path)
    result = runner.run("init", "--admin", "admin", "--password-stdin", "--dev",
                        stdin=ADMIN_PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    uri = re.search(r"otpauth://\S+", result.stdout + result.stderr)
    assert uri is not None, "init printed no TOTP secret for the system admin"
    runner.admin_secret = parse_qs(urlparse(uri.group(0)).query)["secret"][0]
    # The clerk is made in-process, so that each test spends at most one admin code:
    # a TOTP step is accepted once, and a test may run within one 30-second step.
    with open_services(store_config) as services:
        services.accounts.create("clerk", CLERK_PASSWORD, ("clerk",), "331024")
    yield runner


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_init_labels_development_keyring(cli: Cli) -> None:
    """Every command on a development keyring prints a warning."""
    result = cli.run("user", "list", "--user", "admin", password=ADMIN_PASSWORD,
                     totp=cli.admin_code())

    assert result.returncode == 0
    assert "开发密钥环" in result.stderr


def test_init_refuses_existing_folder(cli: Cli) -> None:
    """A second init on the same data folder changes nothing and fails."""
    result = cli.run("init", "--admin", "other", "--password-stdin", "--dev",
                     stdin="another-password-1\n")

    assert result.returncode != 0
    assert "DATA_FOLDER_EXISTS" in result.stderr
    _no_traceback(result)


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample workbook is absent")
def test_import_then_find(cli: Cli) -> None:
    """A clerk imports the sample, gets the JSON summary, and finds a resident from stdin."""
    imported = cli.run("import", str(SAMPLE), "--user", "clerk", "--json", password=CLERK_PASSWORD)
    summary = json.loads(imported.stdout)
    found = cli.run("person", "find", "--user", "clerk", "--json", password=CLERK_PASSWORD,
                    stdin=FIRST_ID + "\n")
    results = json.loads(found.stdout)

    assert imported.returncode == 0, imported.stderr
    assert {k: summary[k] for k in ("rows", "registered", "households", "rejected", "warned",
                                    "duplicates")} == {
        "rows": 1541, "registered": 1535, "households": 420, "rejected": 5, "warned": 2,
        "duplicates": 1}
    assert Path(summary["rejects"]).is_file()
    assert found.returncode == 0, found.stderr
    assert results[0]["outcome"] == "found"
    assert results[0]["fields"]["id_number"] == FIRST_ID


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample workbook is absent")
def test_import_summary_in_chinese(cli: Cli) -> None:
    """The plain summary is Chinese by default and English with --lang en."""
    chinese = cli.run("import", str(SAMPLE), "--user", "clerk", "--check", password=CLERK_PASSWORD)
    english = cli.run("import", str(SAMPLE), "--user", "clerk", "--check", password=CLERK_PASSWORD,
                      lang="en")

    assert "可以登记的人员：1535" in chinese.stdout
    assert "persons that would be registered: 1535" in english.stdout


def test_not_a_workbook_writes_nothing(cli: Cli) -> None:
    """A file that is not a workbook gets a clear error, a non-zero exit and no rows."""
    bogus = cli.cwd / "notes.xlsx"
    bogus.write_text("this is not a workbook", encoding="utf-8")

    result = cli.run("import", str(bogus), "--user", "clerk", password=CLERK_PASSWORD)

    assert result.returncode != 0
    assert "WORKBOOK_UNREADABLE" in result.stderr
    assert not any(cli.config.reports_dir.iterdir())
    _no_traceback(result)


def test_missing_columns_named(cli: Cli) -> None:
    """A workbook without required columns names them and registers nobody."""
    path = cli.cwd / "partial.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["序号", "姓名", "公民身份号码", "民族", "婚姻状况", "文化程度"])
    workbook.active.append([1, "测试", "331024197602155799", "汉族", "已婚", "小学"])
    workbook.save(path)

    result = cli.run("import", str(path), "--user", "clerk", password=CLERK_PASSWORD)

    assert result.returncode != 0
    assert "WORKBOOK_MISSING_COLUMNS" in result.stderr
    assert "性别" in result.stderr
    _no_traceback(result)


def test_find_reports_bad_numbers(cli: Cli) -> None:
    """Invalid and unknown numbers get codes, never a traceback, and a non-zero exit."""
    result = cli.run("person", "find", "--user", "clerk", password=CLERK_PASSWORD,
                     stdin="110105194910010016\n110105194910010015\n\n")

    assert result.returncode == 4
    assert "ID_CHECKSUM" in result.stdout
    assert "PERSON_NOT_FOUND" in result.stdout
    _no_traceback(result)


def test_wrong_password_rejected(cli: Cli) -> None:
    """A wrong password gets the generic login failure and exit status 3."""
    result = cli.run("person", "find", "--user", "clerk", password="not-the-password",
                     stdin=FIRST_ID + "\n")

    assert result.returncode == 3
    assert "AUTHENTICATION_FAILED" in result.stderr
    assert FIRST_ID not in result.stderr


def test_password_never_read_from_stdin(cli: Cli) -> None:
    """Without VAULT_PASSWORD and without a terminal, the command fails instead of reading stdin."""
    result = cli.run("person", "find", "--user", "clerk", stdin=FIRST_ID + "\n")

    assert result.returncode == 3
    assert "PASSWORD_MISSING" in result.stderr


def test_clerk_cannot_add_accounts(cli: Cli) -> None:
    """Only a system admin creates accounts."""
    result = cli.run("user", "add", "x1", "--role", "clerk", "--jurisdiction", "331024",
                     "--password-stdin", "--user", "clerk", password=CLERK_PASSWORD,
                     stdin="another-password-1\n")

    assert result.returncode == 3
    assert "ROLE_REQUIRED" in result.stderr


def test_admin_separation_at_creation(cli: Cli) -> None:
    """An account with security-admin and security-officer is rejected at creation."""
    result = cli.run("user", "add", "both", "--role", "security-admin", "--role",
                     "security-officer", "--jurisdiction", "331024", "--password-stdin",
                     "--user", "admin", password=ADMIN_PASSWORD, stdin="another-password-1\n",
                     totp=cli.admin_code())

    assert result.returncode != 0
    assert "ADMIN_SEPARATION" in result.stderr


def test_villages_then_import_by_name(cli: Cli) -> None:
    """Rows without household numbers resolve their village from the loaded village table."""
    villages = cli.cwd / "villages.csv"
    villages.write_text("名称,代码\n样本村,331024103201\n", encoding="utf-8")
    rows = cli.cwd / "by-name.csv"
    rows.write_text(
        "村(居)委会,姓名,性别,出生日期,公民身份号码,与户主关系\n"
        "样本村,测试乙,男,1976-02-15,331024197602155799,户主\n"
        "未知村,测试丙,男,1976-02-15,110105194910010015,户主\n",
        encoding="utf-8",
    )

    loaded = cli.run("villages", "import", str(villages), "--user", "clerk", password=CLERK_PASSWORD)
    imported = cli.run("import", str(rows), "--user", "clerk", "--json", password=CLERK_PASSWORD)
    summary = json.loads(imported.stdout)

    assert loaded.returncode == 0, loaded.stderr
    assert summary["registered"] == 1
    assert summary["rejected"] == 1


def test_projection_rebuild_command(cli: Cli) -> None:
    """The admin rebuilds the read models from the events."""
    result = cli.run("projections", "rebuild", "--user", "admin", password=ADMIN_PASSWORD,
                     totp=cli.admin_code())

    assert result.returncode == 0, result.stderr
    assert "读模型已重建" in result.stdout


def test_policy_check_shipped_files(cli: Cli) -> None:
    """The shipped policy files pass the check."""
    result = cli.run("policy", "check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "策略检查通过" in result.stdout


def test_policy_check_names_planted_error(cli: Cli) -> None:
    """A planted unknown field fails the check, naming the file and the key."""
    source = Path(__file__).resolve().parents[2] / "policies"
    broken = cli.cwd / "broken-policies"
    broken.mkdir()
    for path in source.glob("*.toml"):
        (broken / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with (broken / "fields.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[fields.shoe_size]\nclass = "general"\n')

    result = cli.run("policy", "check", "--policies", str(broken))

    assert result.returncode == 1
    assert "fields.toml" in result.stdout
    assert "shoe_size" in result.stdout


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("input", "REJECTS_PATH_IS_INPUT"),
        ("folder", "REJECTS_PATH_IS_FOLDER"),
        ("missing/r.xlsx", "REJECTS_FOLDER_MISSING"),
        ("r.csv", "REJECTS_PATH_NOT_XLSX"),
    ],
)
def test_bad_rejects_path_registers_nobody(cli: Cli, target: str, code: str) -> None:
    """A --rejects path that cannot be written is refused before any row is registered."""
    rows = cli.cwd / "rows.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["户编号", "姓名", "性别", "出生日期", "公民身份号码", "与户主关系"])
    workbook.active.append(["331024103201010001", "测试丁", "男", "1976-02-15",
                            "331024197602155799", "户主"])
    workbook.active.append(["331024103201010001", "测试戊", "男", "1976-02-15",
                            "110105194910010016", "子"])
    workbook.save(rows)
    (cli.cwd / "folder").mkdir()
    path = {"input": rows, "folder": cli.cwd / "folder"}.get(target, cli.cwd / target)

    result = cli.run("import", str(rows), "--user", "clerk", "--rejects", str(path),
                     password=CLERK_PASSWORD)
    again = cli.run("import", str(rows), "--user", "clerk", "--json", password=CLERK_PASSWORD)

    assert result.returncode == 1
    assert code in result.stderr
    assert json.loads(again.stdout)["registered"] == 1
    assert rows.read_bytes()[:2] == b"PK"
    _no_traceback(result)


def test_rejects_workbook_owner_only(cli: Cli) -> None:
    """The rejects workbook repeats personal data, so only its owner may read it."""
    rows = cli.cwd / "bad.csv"
    rows.write_text("户编号,姓名,性别,出生日期,公民身份号码,与户主关系\n"
                    "331024103201010001,测试己,男,1976-02-15,110105194910010016,户主\n",
                    encoding="utf-8")

    result = cli.run("import", str(rows), "--user", "clerk", "--json", password=CLERK_PASSWORD)
    rejects = Path(json.loads(result.stdout)["rejects"])

    assert rejects.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("东城某村,110101001201", "VILLAGES_OUTSIDE_JURISDICTION"),
        ('=HYPERLINK("x"),331024103201', "VILLAGES_ROW_INVALID"),
        ("\x1b[31m红村,331024103201", "VILLAGES_ROW_INVALID"),
    ],
)
def test_villages_import_checks(cli: Cli, line: str, code: str) -> None:
    """A clerk's village table stays inside the jurisdiction and has plain names."""
    villages = cli.cwd / "villages.csv"
    villages.write_text(f"名称,代码\n样本村,331024103201\n{line}\n", encoding="utf-8")

    result = cli.run("villages", "import", str(villages), "--user", "clerk",
                     password=CLERK_PASSWORD)

    assert result.returncode != 0
    assert code in result.stderr
    assert "\x1b" not in result.stderr


def test_data_folder_must_be_a_registry(cli: Cli, tmp_path: Path) -> None:
    """An empty folder or a file given as --data is named as the problem, and left alone."""
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")

    in_empty = cli.run("person", "find", "--user", "clerk", "--data", str(empty),
                       password=CLERK_PASSWORD, stdin="")
    in_file = cli.run("person", "find", "--user", "clerk", "--data", str(a_file),
                      password=CLERK_PASSWORD, stdin="")

    if cli.config.postgres is None:
        # On PostgreSQL the data folder holds only reports; the store is the schema.
        assert "DATA_FOLDER_NOT_A_REGISTRY" in in_empty.stderr
        assert list(empty.iterdir()) == []
    assert "DATA_FOLDER_NOT_A_FOLDER" in in_file.stderr


def test_unknown_language_rejected(cli: Cli) -> None:
    """An unsupported --lang is an error, not a silent fallback."""
    result = cli.run("policy", "check", lang="fr")

    assert result.returncode == 1
    assert "LANGUAGE_UNKNOWN" in result.stderr
