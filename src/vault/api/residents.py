"""Residents over HTTP: search, a village's list, one person, and workbook imports.

Every handler here goes through the enforcement point (``vault.access.Gate``),
which decides, decrypts only what the decision allows, masks, and appends exactly
one audit record per request. Search criteria travel in a POST body, never in the
URL, so that no ID number, name or phone reaches an access log.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, PathParameter, QueryParameter

from vault.access import Access, Listing
from vault.api.auth import PERSONAL_DATA, Caller, authenticated
from vault.api.context import ApiContext, context_of
from vault.api.errors import NotFound, request_id_of
from vault.api.login import CALLER
from vault.api.schemas import SearchIn, person_out
from vault.domain.divisions import parse_village_code
from vault.errors import AccessDenied, InvalidValue, Problem
from vault.files import open_private

# Every route here touches personal data: signed-in callers only, marked for the
# route-table test.
_GUARDS = [authenticated]
_OPT = {PERSONAL_DATA: True}
_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def _raise_for(outcome: str, problem: Problem | None) -> None:
    if problem is None:
        return
    if outcome == "denied":
        raise AccessDenied.from_problem(problem)
    if outcome == "invalid":
        raise InvalidValue.from_problem(problem)


def _listing_out(listing: Listing) -> dict[str, Any]:
    _raise_for(listing.outcome, listing.problem)
    return {"results": [person_out(p) for p in listing.people], "count": len(listing.people)}


@post("/persons/search", sync_to_thread=True, status_code=200,
      guards=_GUARDS, dependencies=CALLER, opt=_OPT)
def search_persons(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller], data: JSONBody[SearchIn]
) -> dict[str, Any]:
    """Search by ID number, by name within a village, or by phone; exactly one of them."""
    context = context_of(request)
    request_id = request_id_of(request)
    account = caller.account
    criteria = [c for c in (data.id_number, data.name or data.village_code, data.phone) if c]
    if len(criteria) != 1 or (data.name is None) != (data.village_code is None):
        raise InvalidValue(
            "请只给出一种查询条件：证件号码；或姓名加村（居）委会代码；或电话号码。",
            "Give exactly one search: an ID number; or a name with a village code; or a phone.",
            code="SEARCH_CRITERIA_INVALID",
        )

    if data.id_number is not None:
        access = context.gate.find_by_id_number(account, data.id_number, request_id=request_id,
                                                purpose=data.purpose)
        return _access_out(access)
    if data.name is not None and data.village_code is not None:
        village = parse_village_code(data.village_code, "village_code")
        return _listing_out(context.gate.search_by_name(
            account, data.name, village, request_id=request_id, purpose=data.purpose))
    assert data.phone is not None  # noqa: S101  # the check above leaves only the phone
    return _listing_out(context.gate.search_by_phone(
        account, data.phone, request_id=request_id, purpose=data.purpose))


def _access_out(access: Access) -> dict[str, Any]:
    _raise_for(access.outcome, access.problem)
    people = [person_out(access.person)] if access.person is not None else []
    return {"results": people, "count": len(people)}


@get("/persons/{person_id:uuid}", sync_to_thread=True,
     guards=_GUARDS, dependencies=CALLER, opt=_OPT)
def read_person(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller], person_id: FromPath[UUID]
) -> dict[str, Any]:
    """Return one person as the caller may see them."""
    access = context_of(request).gate.read_person(caller.account, person_id,
                                                  request_id=request_id_of(request))
    _raise_for(access.outcome, access.problem)
    if access.person is None:
        raise NotFound("没有这个人员。", "No such person.", code="PERSON_NOT_FOUND",
                       field="person_id")
    return person_out(access.person)


@get("/villages/{village_code:str}/persons", sync_to_thread=True,
     guards=_GUARDS, dependencies=CALLER, opt=_OPT)
def list_village(
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    village_code: Annotated[str, PathParameter(max_length=20)],
    page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """List one page of a village's residents (summary fields)."""
    context = context_of(request)
    village = parse_village_code(village_code, "village_code")
    size = min(page_size, context.settings.max_page_size)
    listing = context.gate.list_village(caller.account, village, page=page, page_size=size,
                                        request_id=request_id_of(request))
    body = _listing_out(listing)
    return {**body, "page": page, "page_size": size, "total": listing.total}


# -- imports ----------------------------------------------------------------------


@dataclass
class ImportForm:
    file: UploadFile
    check_only: bool = False


@post("/imports", sync_to_thread=True, status_code=200,
      guards=_GUARDS, dependencies=CALLER, opt=_OPT)
def import_workbook(
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    """Import an uploaded workbook or CSV; return the summary the CLI prints."""
    context = context_of(request)
    request_id = request_id_of(request)
    rejects = _rejects_path(context, caller, request_id)
    upload_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=context.services.config.data_dir))
    try:
        path = upload_dir / _safe_name(data.file.filename)
        with open_private(path) as target:
            shutil.copyfileobj(data.file.file, target)
        result = context.gate.import_workbook(caller.account, path, request_id=request_id,
                                              rejects_path=rejects, check_only=data.check_only)
    finally:
        shutil.rmtree(upload_dir, ignore_errors=True)
    if isinstance(result, Problem):
        raise AccessDenied.from_problem(result)

    summary = result.as_dict()
    summary["rejects"] = (f"/api/v1/imports/{request_id}/rejects"
                          if result.rejects_path is not None else None)
    return summary


@get("/imports/{request_id:str}/rejects", sync_to_thread=True,
     guards=_GUARDS, dependencies=CALLER, opt=_OPT)
def download_rejects(
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    request_id: Annotated[str, PathParameter(max_length=64)],
) -> Response[bytes]:
    """Return the rejects workbook of one of the caller's own imports."""
    context = context_of(request)
    problem = context.gate.authorise(caller.account, "person.import",
                                     request_id=request_id_of(request),
                                     audit_action="person.rejects.read")
    if problem is not None:
        raise AccessDenied.from_problem(problem)
    path = _rejects_path(context, caller, request_id) if _REQUEST_ID.match(request_id) else None
    if path is None or not path.is_file():
        raise NotFound("没有这次导入的问题行工作簿。", "No rejects workbook for this import.",
                       field="request_id")
    return Response(
        path.read_bytes(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f'attachment; filename="rejects-{request_id}.xlsx"'},
    )


def _rejects_path(context: ApiContext, caller: Caller, request_id: str) -> Path:
    # One folder per account: a workbook can only be fetched by the account that made it.
    folder = context.services.config.reports_dir / "api" / str(caller.account.account_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"rejects-{request_id}.xlsx"


_UNSAFE = re.compile(r"[^\w.\-]+")


def _safe_name(filename: str | None) -> str:
    """Return a file name safe to create: no folders, no odd characters, a known suffix."""
    name = _UNSAFE.sub("_", Path(filename or "upload").name).strip("._") or "upload"
    return name[-120:]


ROUTES = [search_persons, read_person, list_village, download_rejects]
# Registered on a router of its own, which carries the upload size limit.
UPLOAD_ROUTES = [import_workbook]
