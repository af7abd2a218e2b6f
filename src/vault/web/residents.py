"""Resident pages: the home page, search, a village's residents, and one resident.

Every read goes through the enforcement point (``vault.access.Gate``), which
decides, decrypts only what the decision allows, masks, and appends one audit
record per page. Search criteria travel in a POST body, never in the URL, so that
no ID number, name or phone lands in an access log or the browser history.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, PathParameter, QueryParameter

from vault.access import Listing, PersonView
from vault.api.context import context_of
from vault.api.errors import NotFound, request_id_of
from vault.domain.codes import TABLES
from vault.domain.divisions import parse_village_code
from vault.domain.fields import FIELDS_BY_KEY
from vault.errors import AccessDenied, InvalidValue, Language, Problem
from vault.villages import load_village_table
from vault.web.i18n import language_of, text
from vault.web.pages import Form, caller_of, form_value, menu_for, page, signed_in
from vault.web.session import NOTICES

PAGE_SIZE = 50
_SEARCH_TITLE = ("居民查询", "Residents")
_SEARCH_KINDS = ("id_number", "name", "phone")
_FORM_KEYS = ("id_number", "name", "village_code", "phone")
# Columns of a result list, in this order.
LIST_COLUMNS = ("name", "sex", "birth_date", "id_number", "relationship", "household_number",
                "record_status")


@get("/", guards=[signed_in], sync_to_thread=True)
def home(request: Request[Any, Any, Any]) -> Any:
    """Show what the caller's roles may do, as links."""
    caller = caller_of(request)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    menu = menu_for(context_of(request), caller)[1:]
    return page(request, "home.html", ("首页", "Home"), items=menu, notice=notice)


def _raise_for(outcome: str, problem: Problem | None) -> None:
    if problem is not None and outcome == "denied":
        raise AccessDenied.from_problem(problem)


def _village_choices(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    context = context_of(request)
    table = load_village_table(context.services.store.db)
    choices = []
    for code, residents in context.gate.villages(caller_of(request).account):
        known = table.by_code(code)
        choices.append({"code": code, "name": known[-1].name if known else "",
                        "residents": residents})
    return choices


def _search_page(request: Request[Any, Any, Any], *, status: int = 200, **values: Any) -> Any:
    problem = context_of(request).gate.allows(caller_of(request).account, "person.search")
    if problem is not None:
        raise AccessDenied.from_problem(problem)
    defaults: dict[str, Any] = {
        "kind": "id_number", "form": dict.fromkeys(_FORM_KEYS, ""), "results": None,
        "error": None, "error_field": None,
        "columns": _columns(language_of(request)), "villages": _village_choices(request),
    }
    return page(request, "residents.html", _SEARCH_TITLE, status=status, **{**defaults, **values})


@get("/residents", guards=[signed_in], sync_to_thread=True)
def search_form(request: Request[Any, Any, Any]) -> Any:
    """Show the three ways of searching and the villages of the caller's jurisdiction."""
    return _search_page(request)


@post("/residents/search", guards=[signed_in], sync_to_thread=True, status_code=200)
def search(request: Request[Any, Any, Any], data: Form) -> Any:
    """Search by ID number, by name within a village, or by phone."""
    context = context_of(request)
    account = caller_of(request).account
    request_id = request_id_of(request)
    kind = form_value(data, "kind")
    kind = kind if kind in _SEARCH_KINDS else "id_number"
    typed = {key: form_value(data, key, 100) for key in _FORM_KEYS}

    def refused(problem: Problem) -> Any:
        return _search_page(request, status=400, kind=kind, form=typed,
                            error=problem.message(language_of(request)),
                            error_field=problem.field or kind)

    if not typed[kind]:
        return refused(_missing(kind))
    if kind == "id_number":
        access = context.gate.find_by_id_number(account, typed["id_number"],
                                                request_id=request_id)
        listing = Listing(access.outcome, [access.person] if access.person else [],
                          problem=access.problem)
    elif kind == "name":
        try:
            village = parse_village_code(typed["village_code"], "village_code")
        except InvalidValue as error:
            return refused(error.problem())
        listing = context.gate.search_by_name(account, typed["name"], village,
                                              request_id=request_id)
    else:
        listing = context.gate.search_by_phone(account, typed["phone"], request_id=request_id)

    _raise_for(listing.outcome, listing.problem)
    if listing.outcome == "invalid" and listing.problem is not None:
        return refused(listing.problem)
    rows = [_row(view, language_of(request)) for view in listing.people]
    return _search_page(request, kind=kind, form=typed, results=rows)


def _missing(kind: str) -> Problem:
    what = {"id_number": ("证件号码", "an ID number"), "name": ("姓名", "a name"),
            "phone": ("电话号码", "a phone number")}[kind]
    return Problem("SEARCH_CRITERIA_MISSING", kind, f"请填写{what[0]}后再查询。",
                   f"Enter {what[1]} to search.")


@get("/villages/{village_code:str}", guards=[signed_in], sync_to_thread=True)
def village(
    request: Request[Any, Any, Any],
    village_code: Annotated[str, PathParameter(max_length=20)],
    page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
) -> Any:
    """List one page of a village's residents."""
    context = context_of(request)
    code = parse_village_code(village_code, "village_code")
    listing = context.gate.list_village(caller_of(request).account, code, page=page_number,
                                        page_size=PAGE_SIZE, request_id=request_id_of(request))
    _raise_for(listing.outcome, listing.problem)
    pages = max(1, -(-listing.total // PAGE_SIZE))
    if page_number > pages:
        raise NotFound("没有这一页。", "There is no such page.", field="page")
    language = language_of(request)
    known = load_village_table(context.services.store.db).by_code(code)
    name = known[-1].name if known else ""
    title = (f"{name or code} 居民名单", f"Residents of {name or code}")
    return page(request, "village.html", title, village_code=code, village_name=name,
                rows=[_row(v, language) for v in listing.people],
                columns=_columns(language), page_number=page_number, pages=pages,
                total=listing.total)


@get("/residents/{person_id:uuid}", guards=[signed_in], sync_to_thread=True)
def resident(request: Request[Any, Any, Any], person_id: FromPath[UUID]) -> Any:
    """Show one resident, as the caller may see them, with their household."""
    context = context_of(request)
    access, members = context.gate.read_with_household(
        caller_of(request).account, person_id, request_id=request_id_of(request))
    _raise_for(access.outcome, access.problem)
    if access.person is None:
        raise NotFound("没有这个人员。", "There is no such person.", code="PERSON_NOT_FOUND")
    language = language_of(request)
    view = access.person
    fields = [
        {"label": _label(key, language),
         "value": _display(key, value, view.masks.get(key), language)}
        for key, value in view.fields.items()
    ]
    return page(request, "resident.html", ("居民信息", "Resident"), person=view,
                heading=_display("name", view.fields.get("name"), view.masks.get("name")),
                fields=fields, members=[_row(m, language) for m in members],
                columns=_columns(language))


# -- display helpers -------------------------------------------------------------


def _label(key: str, language: Language) -> str:
    entry = FIELDS_BY_KEY[key]
    return text(language, entry.label_zh, entry.label_en)


def _columns(language: Language) -> list[str]:
    return [_label(key, language) for key in LIST_COLUMNS]


def _display(key: str, value: str | None, mask: str | None, language: Language = "zh") -> str:
    """Return a field as shown: a code with its label when shown in full, else as masked."""
    if value is None:
        return ""
    table = TABLES.get(key)
    if table is not None and mask == "full" and value in table:
        return f"{table.label(value)}（{value}）"
    if key == "record_status":
        labels = {"active": ("有效", "active"), "flagged": ("待核实", "to be checked")}
        return text(language, *labels[value]) if value in labels else value
    return str(value)


def _row(view: PersonView, language: Language) -> dict[str, Any]:
    return {
        "person_id": str(view.person_id),
        "village_code": view.village_code,
        "cells": [_display(key, view.fields.get(key), view.masks.get(key), language)
                  if key in view.fields else "—" for key in LIST_COLUMNS],
    }


ROUTES = [home, search_form, search, village, resident]
