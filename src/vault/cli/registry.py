"""Commands that work on residents: importing workbooks and looking people up."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vault.access import Access, Gate, import_authoriser, principal_of
from vault.audit import AuditRecord
from vault.bootstrap import policies_dir
from vault.cli.auth import login
from vault.cli.common import add_store_options, add_user_option, new_request_id, services_for
from vault.cli.output import Console
from vault.domain.actor import Actor
from vault.domain.codes import TABLES
from vault.domain.fields import FIELDS_BY_KEY
from vault.domain.idnumbers import DocumentType
from vault.imports.service import Importer, ImportSummary
from vault.policy import Request, decide, load_policies


def register(commands: Any) -> None:
    imp = commands.add_parser("import", help="导入登记表 / import a registration workbook")
    imp.add_argument("file", type=Path, help=".xlsx/.xlsm/.csv 文件 / workbook or CSV")
    imp.add_argument("--json", action="store_true", help="以 JSON 输出摘要 / JSON summary")
    imp.add_argument("--check", action="store_true", help="只校验，不登记 / validate only")
    imp.add_argument("--include-hidden", action="store_true",
                     help="也导入隐藏的行和工作表 / import hidden rows and sheets too")
    imp.add_argument("--rejects", type=Path, help="问题行工作簿的保存路径 / rejects workbook path")
    add_store_options(imp)
    add_user_option(imp)
    imp.set_defaults(handler=run_import)

    person = commands.add_parser("person", help="人员 / residents").add_subparsers(
        dest="person_command")
    find = person.add_parser(
        "find", help="按证件号码查询，号码从标准输入逐行读取 / look up ID numbers read from stdin")
    find.add_argument("--json", action="store_true")
    find.add_argument("--purpose", help="查询目的 / purpose of the look-up")
    add_store_options(find)
    add_user_option(find)
    find.set_defaults(handler=run_person_find)


# -- import ------------------------------------------------------------------


def run_import(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    with services_for(args, console) as services:
        account = login(services, args.user, request_id)
        policy = load_policies(policies_dir())
        principal = principal_of(account)
        role = "clerk" if "clerk" in account.roles else account.roles[0]
        actor = Actor(account.account_id, role, account.jurisdiction)
        gate_check = decide(policy, principal, Request("person.import",
                                                       village_code=account.jurisdiction or None))
        if not gate_check.allowed:
            services.audit.append(AuditRecord(
                action="person.import", outcome="denied", request_id=request_id,
                account_id=account.account_id, account_name=account.name,
                role=",".join(account.roles), reason=gate_check.reason_code,
                policy_version=policy.version,
            ))
            gate_check.raise_if_denied()

        with _progress_bar(console, quiet=args.json) as progress:
            importer = Importer(
                services, actor, import_authoriser(policy, account), check_only=args.check,
                progress=progress,
                on_wait=lambda: console.note(
                    "另一个导入正在写入同一登记库，等它结束后本次导入自动开始……",
                    "Another import is writing to this registry; this one starts when it"
                    " ends...",
                ),
            )
            summary = importer.run(args.file, include_hidden=args.include_hidden,
                                   rejects_path=args.rejects)
    if args.json:
        console.json(summary.as_dict())
    else:
        _print_summary(console, summary)
    return 0


class _progress_bar:
    """A rich progress display on stderr with rows per second, silent for --json."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self._enabled = not quiet and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._task: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> Any:
        if not self._enabled:
            return None
        self._progress = Progress(
            TextColumn("导入 / importing"), BarColumn(), TextColumn("{task.completed} 行 / rows"),
            TextColumn("{task.fields[rate]} 行/秒 / rows/s"), TimeElapsedColumn(),
            TextColumn("剩余 / left"), TimeRemainingColumn(),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("import", total=None, rate="-")
        return self._update

    def _update(self, rows: int, expected: int | None) -> None:
        if self._progress is None:
            return
        elapsed = max(time.monotonic() - self._started, 1e-6)
        # The estimate counts title and header rows too, so it never falls below the count.
        total = max(expected, rows) if expected else None
        self._progress.update(self._task, completed=rows, total=total,
                              rate=f"{rows / elapsed:,.0f}")

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _print_summary(console: Console, s: ImportSummary) -> None:
    head = "校验结果（未登记任何人员）" if s.checked_only else "导入完成"
    registered_zh = "可以登记的人员" if s.checked_only else "登记人员"
    registered_en = "persons that would be registered" if s.checked_only else "persons registered"
    console.say(
        f"{head}：{s.file_name}\n"
        f"  读取数据行：{s.rows}\n"
        f"  {registered_zh}：{s.registered}\n"
        f"  新建户：{s.households}\n"
        f"  拒绝：{s.rejected}\n"
        f"  登记但有警告：{s.warned}\n"
        f"  重复（未再次登记）：{s.duplicates}\n"
        f"  此前已导入：{s.already_imported}",
        f"{'Check only (nobody registered)' if s.checked_only else 'Import finished'}:"
        f" {s.file_name}\n"
        f"  data rows read: {s.rows}\n"
        f"  {registered_en}: {s.registered}\n"
        f"  households established: {s.households}\n"
        f"  rejected: {s.rejected}\n"
        f"  registered with a warning: {s.warned}\n"
        f"  duplicates (not registered again): {s.duplicates}\n"
        f"  already imported earlier: {s.already_imported}",
    )
    if s.collector or s.filing_unit:
        console.say(f"  填报单位：{s.filing_unit or '-'}　填报人：{s.collector or '-'}",
                    f"  filed by: {s.filing_unit or '-'}, collector: {s.collector or '-'}")
    if s.villages:
        console.say("  按村统计（代码 村名 行数 登记 拒绝 警告 重复 错误率）：",
                    "  By village (code name rows registered rejected warned duplicates"
                    " error rate):")
        for v in sorted(s.villages.values(), key=lambda v: v.code):
            line = (f"    {v.code or '（未识别）'} {v.name} {v.rows} {v.registered} {v.rejected}"
                    f" {v.warned} {v.duplicates} {v.error_rate:.1%}")
            console.say(line, line.replace("（未识别）", "(unknown)"))
    for item in s.skipped:
        where = f"{item.sheet} 第 {item.row_number} 行" if item.row_number else item.sheet
        where_en = f"{item.sheet} row {item.row_number}" if item.row_number else item.sheet
        console.say(f"  已跳过 {where}：{item.message_zh}", f"  skipped {where_en}: {item.message_en}")
    if s.rejects_path:
        console.say(f"  问题行工作簿：{s.rejects_path}", f"  rejects workbook: {s.rejects_path}")


# -- person find -------------------------------------------------------------

_DOCUMENT_TYPES = {t.value for t in DocumentType}
_RECORD_STATUS = {"active": ("正常", "active"), "flagged": ("待核查", "flagged for review")}


def run_person_find(args: argparse.Namespace, console: Console) -> int:
    request_id = new_request_id()
    with services_for(args, console) as services:
        account = login(services, args.user, request_id)
        gate = Gate(services, load_policies(policies_dir()))
        results = []
        failures = 0
        for number, line in enumerate(sys.stdin, start=1):
            raw = line.strip()
            if not raw:
                continue
            access = gate.find_by_id_number(account, raw, request_id=request_id,
                                            purpose=args.purpose)
            failures += access.outcome != "found"
            results.append((number, access))
            if not args.json:
                _print_access(console, number, access)
    if args.json:
        console.json([_access_dict(number, access, console) for number, access in results])
    return 0 if failures == 0 else 4


def _display(key: str, value: str | None, language: str) -> str:
    if value is None:
        return "-"
    if key == "record_status" and value in _RECORD_STATUS:
        zh, en = _RECORD_STATUS[value]
        return zh if language == "zh" else en
    if key == "id_type" and value in _DOCUMENT_TYPES:
        document_type = DocumentType(value)
        return document_type.label_zh if language == "zh" else value
    table = TABLES.get(key)
    if table is not None and value in table:
        return table.label(value) if language == "zh" else f"{value} {table.label(value)}"
    return value


def _print_access(console: Console, number: int, access: Access) -> None:
    if access.person is None:
        assert access.problem is not None
        problem = access.problem
        console.say(
            f"第 {number} 行：{_outcome_zh(access)} [{problem.code}] {problem.message_zh}",
            f"line {number}: {access.outcome} [{problem.code}] {problem.message_en}",
        )
        return
    person = access.person
    console.say(f"第 {number} 行：找到人员 {person.person_id}",
                f"line {number}: found person {person.person_id}")
    for key, value in person.fields.items():
        field = FIELDS_BY_KEY.get(key)
        label_zh = field.label_zh if field else key
        label_en = field.label_en if field else key
        console.say(f"  {label_zh}：{_display(key, value, 'zh')}",
                    f"  {label_en}: {_display(key, value, 'en')}")


def _outcome_zh(access: Access) -> str:
    return {"denied": "拒绝", "not_found": "未找到", "invalid": "号码无效"}.get(access.outcome, "")


def _access_dict(number: int, access: Access, console: Console) -> dict[str, Any]:
    result: dict[str, Any] = {"line": number, "outcome": access.outcome}
    if access.problem is not None:
        result["error"] = access.problem.as_dict(console.language)
    if access.person is not None:
        result["person_id"] = str(access.person.person_id)
        result["village_code"] = access.person.village_code
        result["fields"] = dict(access.person.fields)
        result["masks"] = dict(access.person.masks)
    return result
