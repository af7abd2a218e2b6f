"""Pages for the security roles: what each policy grants, and who looked up whom.

The policy page shows ``vault.policy.explain``, the same records ``vault policy
explain`` prints, so that what it shows is what ``decide`` enforces. The look-up
records page reads the audit trail; reading it is itself audited.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromQuery, QueryParameter

from vault.api.context import context_of
from vault.api.errors import request_id_of
from vault.clock import SHANGHAI
from vault.errors import AccessDenied, Language, PolicyError, Problem
from vault.policy import MASKS, explain
from vault.web.i18n import language_of, text
from vault.web.pages import Form, caller_of, form_value, page, signed_in

_SENSITIVITY = {"general": ("一般", "general"), "sensitive": ("敏感", "sensitive")}
# At most this many records are shown per query, newest first.
RECORD_LIMIT = 200
_RECORDS_TITLE = ("查询记录", "Look-up records")


def _require(request: Request[Any, Any, Any], action: str) -> None:
    problem = context_of(request).gate.allows(caller_of(request).account, action)
    if problem is not None:
        raise AccessDenied.from_problem(problem)


def _mask_label(mask: str | None, language: Language) -> str:
    if mask is None:
        return text(language, "不可见", "not visible")
    entry = MASKS[mask]
    return text(language, entry.label_zh, entry.label_en)


@get("/policies", guards=[signed_in], sync_to_thread=False)
def policies(
    request: Request[Any, Any, Any],
    role: Annotated[str | None, QueryParameter(max_length=40)] = None,
    department: Annotated[str | None, QueryParameter(max_length=40)] = None,
) -> Any:
    """Show the fields one role or one department may see, and their masks."""
    _require(request, "policy.read")
    policy = context_of(request).gate.policy
    language = language_of(request)
    roles = [{"value": r.name, "label": text(language, r.label_zh, r.label_en)}
             for r in policy.roles.values() if r.field_view != "department"]
    departments = [{"value": d.name, "label": text(language, d.label_zh, d.label_en)}
                   for d in policy.departments.values()]
    if role is None and department is None:
        role = "clerk"
    try:
        rows = explain(policy, role=role if department is None else None, department=department)
    except PolicyError as error:
        return page(request, "policies.html", ("访问策略", "Policies"), status=404,
                    roles=roles, departments=departments, role=role, department=department,
                    rows=[], error=error.problem().message(language), version=policy.version)
    table = [{
        "field": row.field,
        "label": text(language, row.label_zh, row.label_en),
        "sensitivity": text(language, *_SENSITIVITY[row.sensitivity]),
        "adults": _mask_label(row.masking, language),
        "children": _mask_label(row.minor_masking, language),
        "purpose": text(language, row.purpose_label_zh or "—", row.purpose_label_en or "—"),
        "scope": text(language, row.scope_zh, row.scope_en),
        "visible": row.masking is not None,
    } for row in rows]
    return page(request, "policies.html", ("访问策略", "Policies"), roles=roles,
                departments=departments, role=role, department=department, rows=table,
                error=None, version=policy.version)


# -- look-up records -----------------------------------------------------------------


def _day_bounds(first: date | None, last: date | None) -> tuple[str | None, str | None]:
    """Return the ISO times that bound the days ``first`` to ``last`` in Asia/Shanghai."""
    since = datetime.combine(first, time(), SHANGHAI).isoformat() if first else None
    until = (datetime.combine(last + timedelta(days=1), time(), SHANGHAI).isoformat()
             if last else None)
    return since, until


def _parse_day(raw: str, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _invalid(field, raw) from None


class _FilterInvalid(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _invalid(field: str, raw: str) -> _FilterInvalid:
    return _FilterInvalid(Problem(
        "DATE_INVALID", field, f"日期“{raw}”格式不正确，请按 2026-12-04 的格式填写。",
        f"The date '{raw}' is not valid; write it as 2026-12-04.", value=raw))


def _records_page(
    request: Request[Any, Any, Any], filters: dict[str, str], *, person_id: UUID | None,
    status: int = 200, error: Problem | None = None,
) -> Any:
    context = context_of(request)
    account = caller_of(request).account
    language = language_of(request)
    records: list[dict[str, Any]] = []
    if error is None:
        try:
            since, until = _day_bounds(_parse_day(filters["date_from"], "date_from"),
                                       _parse_day(filters["date_to"], "date_to"))
        except _FilterInvalid as invalid:
            error, status = invalid.problem, 400
        else:
            problem = context.gate.authorise(account, "audit.read",
                                             request_id=request_id_of(request),
                                             audit_action="audit.read")
            if problem is not None:
                raise AccessDenied.from_problem(problem)
            records = context.services.audit.records(
                account_name=filters["account"] or None,
                subject_id=str(person_id) if person_id else None,
                since=since, until=until, action_prefix="person.", limit=RECORD_LIMIT,
                newest_first=True,
            )
    return page(request, "records.html", _RECORDS_TITLE, status=status, filters=filters,
                person_id=str(person_id) if person_id else "", records=records,
                limit=RECORD_LIMIT, error=error.message(language) if error else None,
                error_field=error.field if error else None)


@get("/audit", guards=[signed_in], sync_to_thread=True)
def records(
    request: Request[Any, Any, Any],
    account: Annotated[str, QueryParameter(max_length=64)] = "",
    person_id: FromQuery[UUID | None] = None,
    date_from: Annotated[str, QueryParameter(max_length=10)] = "",
    date_to: Annotated[str, QueryParameter(max_length=10)] = "",
) -> Any:
    """Show look-ups of residents, newest first, filtered by account, person and dates.

    Every filter here is safe in a URL (account names, random person ids, dates).
    """
    _require(request, "audit.read")
    today = context_of(request).services.clock.today().isoformat()
    filters = {"account": account, "id_number": "", "date_from": date_from,
               "date_to": date_to}
    if not (account or person_id or date_from or date_to):
        filters["date_from"] = filters["date_to"] = today
    return _records_page(request, filters, person_id=person_id)


@post("/audit", guards=[signed_in], sync_to_thread=True, status_code=200)
def records_by_id_number(request: Request[Any, Any, Any], data: Form) -> Any:
    """Filter by a person's ID number, sent in the body so that it stays out of URLs.

    The number is resolved through the enforcement point like any look-up, so the
    officer's own look-up is audited too.
    """
    _require(request, "audit.read")
    context = context_of(request)
    filters = {key: form_value(data, key, 64)
               for key in ("account", "id_number", "date_from", "date_to")}
    person_id = None
    if filters["id_number"]:
        access = context.gate.find_by_id_number(caller_of(request).account,
                                                filters["id_number"],
                                                request_id=request_id_of(request),
                                                purpose="audit")
        if access.person is None:
            problem = access.problem or Problem("PERSON_NOT_FOUND", "id_number", "没有这个人员。",
                                                "No such person.")
            return _records_page(request, filters, person_id=None, status=400,
                                 error=Problem(problem.code, "id_number", problem.message_zh,
                                               problem.message_en))
        person_id = access.person.person_id
    return _records_page(request, filters, person_id=person_id)


ROUTES = [policies, records, records_by_id_number]
