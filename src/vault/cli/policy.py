"""``vault policy``: check, explain and compare the policy files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vault.bootstrap import policies_dir
from vault.cli.output import Console
from vault.errors import InvalidValue
from vault.policy import check_policies, diff, explain, load_policies, render_diff, render_explain


def register(commands: Any) -> None:
    policy = commands.add_parser("policy", help="访问策略 / access policy").add_subparsers(
        dest="policy_command")
    check = policy.add_parser("check", help="校验策略文件 / validate the policy files")
    check.add_argument("--policies", type=Path, help="策略目录 / policy folder")
    check.set_defaults(handler=run_check)

    show = policy.add_parser("explain", help="说明角色或部门能看到什么 / what a role or department sees")
    show.add_argument("--policies", type=Path)
    who = show.add_mutually_exclusive_group(required=True)
    who.add_argument("--role")
    who.add_argument("--department")
    show.set_defaults(handler=run_explain)

    compare = policy.add_parser("diff", help="比较两个策略目录 / compare two policy folders")
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    compare.set_defaults(handler=run_diff)


def _directory(args: argparse.Namespace) -> Path:
    directory: Path = args.policies or policies_dir()
    if not directory.is_dir():
        raise InvalidValue(
            f"策略目录 {directory} 不存在。", f"The policy folder {directory} does not exist.",
            code="POLICY_DIRECTORY_MISSING", field="--policies", value=str(directory),
        )
    return directory


def run_check(args: argparse.Namespace, console: Console) -> int:
    directory = _directory(args)
    problems = check_policies(directory)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        tag = ("错误" if problem.severity == "error" else "警告") if console.language == "zh" else (
            problem.severity)
        console.say(f"{tag} [{problem.code}] {problem.message_zh}",
                    f"{tag} [{problem.code}] {problem.message_en}")
    if errors:
        console.say(f"策略检查未通过：{len(errors)} 个错误。",
                    f"Policy check failed: {len(errors)} errors.")
        return 1
    version = load_policies(directory).version
    console.say(f"策略检查通过（{directory}，版本 {version[:16]}）。",
                f"Policy check passed ({directory}, version {version[:16]}).")
    return 0


def run_explain(args: argparse.Namespace, console: Console) -> int:
    policy = load_policies(_directory(args))
    rows = explain(policy, role=args.role, department=args.department)
    console.say(render_explain(rows, "zh"), render_explain(rows, "en"))
    return 0


def run_diff(args: argparse.Namespace, console: Console) -> int:
    for directory in (args.old, args.new):
        if not directory.is_dir():
            raise InvalidValue(
                f"策略目录 {directory} 不存在。", f"The policy folder {directory} does not exist.",
                code="POLICY_DIRECTORY_MISSING", field="OLD/NEW", value=str(directory),
            )
    changes = diff(load_policies(args.old), load_policies(args.new))
    console.say(render_diff(changes, "zh"), render_diff(changes, "en"))
    return 0
