"""The ``vault request`` commands: ask for a change, list requests, approve or reject one.

A corrected ID number is read from the first line of standard input, never from an
argument, where it would land in shell history and the process list.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from uuid import UUID

from vault.accounts import Account
from vault.approvals import (
    ID_NUMBER_CORRECTION,
    STATUSES,
    ApprovalRequest,
    Approvals,
    RequestView,
    Status,
    kind_named,
)
from vault.approvals.model import STATUS_LABELS
from vault.bootstrap import Services, policies_dir
from vault.cli.auth import login
from vault.cli.common import add_store_options, add_user_option, new_request_id, services_for
from vault.cli.output import Console
from vault.errors import InvalidValue
from vault.policy import load_policies

_TIME = "%Y-%m-%d %H:%M"


def register(commands: Any) -> None:
    request = commands.add_parser(
        "request", help="需要第二人审核的申请 / changes that need a second person"
    ).add_subparsers(dest="request_command")

    correct = request.add_parser(
        "correct-id",
        help="申请更正公民身份号码，新号码从标准输入读取"
             " / ask to correct an ID number read from stdin",
    )
    correct.add_argument("--person", required=True, help="人员编号（UUID）/ person id")
    correct.add_argument(
        "--reason", required=True,
        help="申请理由，最多 500 字 / why the change is needed, up to 500 characters",
    )
    correct.set_defaults(handler=run_correct_id)

    listing = request.add_parser("list", help="列出可申请或可审核的申请 / list requests")
    listing.add_argument("--status", choices=[*STATUSES, "all"], default="pending",
                         help="按状态筛选（默认 pending）/ status to show, default pending")
    listing.add_argument("--json", action="store_true", help="以 JSON 输出 / JSON output")
    listing.set_defaults(handler=run_list)

    approve = request.add_parser("approve", help="批准并执行申请 / approve and apply a request")
    reject = request.add_parser("reject", help="驳回申请 / reject a request")
    for sub, decision in ((approve, "approve"), (reject, "reject")):
        sub.add_argument("request_id", metavar="REQUEST_ID", help="申请编号 / request id")
        sub.add_argument(
            "--reason", required=True,
            help="审核意见，最多 500 字 / reason for the decision, up to 500 characters",
        )
        sub.set_defaults(handler=run_decide, decision=decision)

    for sub in (correct, listing, approve, reject):
        add_store_options(sub)
        add_user_option(sub)


def _open(args: argparse.Namespace, console: Console) -> tuple[Services, Account, Approvals, str]:
    request_id = new_request_id()
    services = services_for(args, console)
    try:
        account = login(services, args.user, request_id)
        approvals = Approvals(services, load_policies(policies_dir()))
    except BaseException:
        services.close()
        raise
    return services, account, approvals, request_id


def run_correct_id(args: argparse.Namespace, console: Console) -> int:
    person_id = _uuid(args.person, "--person")
    services, account, approvals, request_id = _open(args, console)
    with services:
        number = sys.stdin.readline().strip()
        request = approvals.create(
            account, ID_NUMBER_CORRECTION.name, [person_id], {"id_number": number}, args.reason,
            request_id=request_id,
        )
    expires = request.expires_at.strftime(_TIME)
    console.say(
        f"已提交更正申请 {request.request_id}，等待另一名审核员审核，{expires} 前有效。",
        f"Submitted the correction request {request.request_id}; another reviewer must"
        f" decide it before {expires} (Asia/Shanghai).",
    )
    return 0


def run_decide(args: argparse.Namespace, console: Console) -> int:
    request_uuid = _uuid(args.request_id, "REQUEST_ID")
    services, account, approvals, request_id = _open(args, console)
    with services:
        if args.decision == "approve":
            request = approvals.approve(account, request_uuid, args.reason, request_id=request_id)
        else:
            request = approvals.reject(account, request_uuid, args.reason, request_id=request_id)
    if args.decision == "approve":
        console.say(f"申请 {request.request_id} 已批准并生效。",
                    f"Approved the request {request.request_id}; the change took effect.")
    else:
        console.say(f"申请 {request.request_id} 已驳回，不会生效。",
                    f"Rejected the request {request.request_id}; it will not take effect.")
    return 0


def run_list(args: argparse.Namespace, console: Console) -> int:
    statuses: tuple[Status, ...] = STATUSES if args.status == "all" else (args.status,)
    services, account, approvals, request_id = _open(args, console)
    with services:
        views = approvals.visible_to(account, request_id=request_id, statuses=statuses)
        names = {a.account_id: a.name for a in services.accounts.list()}
    if args.json:
        console.json([_view_dict(view, names) for view in views])
        return 0
    if not views:
        console.say("没有符合条件的申请。", "No requests match.")
    for view in views:
        _print_view(console, view, names)
    return 0


def _print_view(console: Console, view: RequestView, names: dict[UUID, str]) -> None:
    request = view.request
    kind = kind_named(request.kind)
    requester = names.get(request.requester_id, str(request.requester_id))
    console.say(
        f"{request.request_id}  {kind.label_zh}  {STATUS_LABELS[request.status]}"
        f"  人员 {request.subject_id}  申请人 {requester}"
        f"  提交 {request.created_at.strftime(_TIME)}  截止 {request.expires_at.strftime(_TIME)}",
        f"{request.request_id}  {kind.label_en}  {request.status}"
        f"  person {request.subject_id}  requester {requester}"
        f"  created {request.created_at.strftime(_TIME)}"
        f"  expires {request.expires_at.strftime(_TIME)}",
    )
    erased = ("（该人员已删除，内容无法读取）", "(the person was erased; the text is unreadable)")
    console.say(f"  理由：{view.reason or erased[0]}", f"  reason: {view.reason or erased[1]}")
    for key, value in view.details.items():
        console.say(f"  {key}：{value or '-'}", f"  {key}: {value or '-'}")
    if request.reviewer_id is not None:
        reviewer = names.get(request.reviewer_id, str(request.reviewer_id))
        console.say(f"  审核人 {reviewer}：{view.decision_reason or '-'}",
                    f"  reviewer {reviewer}: {view.decision_reason or '-'}")
    if request.failure_code:
        console.say(f"  未能生效：{request.failure_code}", f"  not applied: {request.failure_code}")


def _view_dict(view: RequestView, names: dict[UUID, str]) -> dict[str, Any]:
    request: ApprovalRequest = view.request
    return {
        "request_id": str(request.request_id),
        "kind": request.kind,
        "status": request.status,
        "subject_ids": [str(s) for s in request.subject_ids],
        "village_code": request.village_code,
        "requester": names.get(request.requester_id, str(request.requester_id)),
        "reviewer": names.get(request.reviewer_id) if request.reviewer_id else None,
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "applied_at": request.applied_at.isoformat() if request.applied_at else None,
        "failure_code": request.failure_code,
        "reason": view.reason,
        "decision_reason": view.decision_reason,
        "details": dict(view.details),
    }


def _uuid(text: str, field: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise InvalidValue(
            "编号格式无效，应为 UUID（如 vault person find 输出的人员编号）。",
            "The id is not a valid UUID (such as the person id that vault person find prints).",
            code="ID_INVALID", field=field, value=text,
        ) from None
