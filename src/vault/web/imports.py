"""The import pages: upload a workbook, watch its progress, read the summary by village.

An upload is saved to a private folder and imported in a worker thread through
``Gate.import_workbook``, which checks the clerk's jurisdiction row by row and
audits the batch. The browser is sent to the job's page at once. With JavaScript,
a small script of the registry's own polls the job's status. Without it, the page
reloads itself every few seconds. The rejects workbook is written where the API's
download route finds it, so the summary links to that route.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import structlog
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter

from vault.api.context import ApiContext, context_of
from vault.api.errors import NotFound, request_id_of

# The API's own naming of upload and rejects files, so that its download route
# serves the rejects workbook of a web import too.
from vault.api.residents import _rejects_path, _safe_name
from vault.errors import AccessDenied, Problem, VaultError
from vault.files import open_private
from vault.web.i18n import language_of
from vault.web.pages import caller_of, page, redirect, signed_in

log = structlog.get_logger("vault.web.imports")

_TITLE = ("导入登记表", "Import a workbook")
_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


@dataclass
class ImportJob:
    """One import in progress or finished, visible to the account that started it."""

    job_id: str
    account_id: UUID
    file_name: str
    check_only: bool
    rows: int = 0
    expected: int | None = None
    state: str = "running"  # running, done or failed
    summary: dict[str, Any] | None = None
    problem: Problem | None = None
    has_rejects: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class ImportJobs:
    """The import jobs of one application.

    NOTE: jobs are kept in this process's memory, so a restart loses the job pages
    (the imported rows stay, and the API still serves the rejects workbook). With
    several worker processes, a job's page must reach the process that runs it.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def add(self, job: ImportJob) -> None:
        with self._lock:
            self._jobs[job.job_id] = job

    def find(self, job_id: str, account_id: UUID) -> ImportJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.account_id == account_id else None


_JOBS_KEY = "vault_web_import_jobs"


def jobs_of(request: Request[Any, Any, Any]) -> ImportJobs:
    state = request.app.state
    if _JOBS_KEY not in state:
        state[_JOBS_KEY] = ImportJobs()
    jobs: ImportJobs = state[_JOBS_KEY]
    return jobs


@get("/imports", guards=[signed_in], sync_to_thread=False)
def upload_form(request: Request[Any, Any, Any]) -> Any:
    """Show the upload form."""
    _require_import(request)
    return page(request, "import.html", _TITLE, error=None, check_only=False)


def _require_import(request: Request[Any, Any, Any]) -> None:
    problem = context_of(request).gate.allows(caller_of(request).account, "person.import")
    if problem is not None:
        raise AccessDenied.from_problem(problem)


@post("/imports/upload", guards=[signed_in], sync_to_thread=True, status_code=303)
def upload(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Any:
    """Save the upload and start importing it; go to the job's page."""
    _require_import(request)
    context = context_of(request)
    caller = caller_of(request)
    upload = data.get("file")
    check_only = bool(data.get("check_only"))
    filename = upload.filename if isinstance(upload, UploadFile) else ""
    name = _safe_name(filename)
    if not isinstance(upload, UploadFile) or not filename or not name.lower().endswith(_SUFFIXES):
        return page(request, "import.html", _TITLE, status=400, check_only=check_only,
                    error=Problem("FILE_TYPE_UNSUPPORTED", "file",
                                  "请选择 .xlsx、.xls 或 .csv 格式的登记表。",
                                  "Choose a registration workbook in .xlsx, .xls or .csv format.")
                    .message(language_of(request)))

    job_id = request_id_of(request)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=context.services.config.data_dir))
    path = folder / name
    with open_private(path) as target:
        shutil.copyfileobj(upload.file, target)
    job = ImportJob(job_id, caller.account.account_id, filename, check_only)
    jobs_of(request).add(job)
    rejects = _rejects_path(context, caller, job_id)
    # Not a daemon thread: a server that is stopping waits for the import to end and
    # remove the uploaded file, as an API import does, instead of stopping mid-file.
    worker = threading.Thread(target=_run, args=(context, caller.account, job, path, rejects),
                              name=f"import-{job_id[:8]}")
    worker.start()
    return redirect(f"/imports/{job_id}")


def _run(context: ApiContext, account: Any, job: ImportJob, path: Path, rejects: Path) -> None:
    def progress(rows: int, expected: int | None) -> None:
        with job.lock:
            job.rows, job.expected = rows, expected

    try:
        result = context.gate.import_workbook(account, path, request_id=job.job_id,
                                              rejects_path=rejects, check_only=job.check_only,
                                              progress=progress)
    except VaultError as error:
        log.info("import_failed", job_id=job.job_id, error_code=error.code)
        with job.lock:
            job.state, job.problem = "failed", error.problem()
        return
    except Exception as error:  # a worker thread has no caller to raise to
        log.error("import_crashed", job_id=job.job_id, error_type=type(error).__name__)
        with job.lock:
            job.state = "failed"
            job.problem = Problem("INTERNAL_ERROR", None, "导入时发生内部错误。",
                                  "The import failed with an internal error.")
        return
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)

    with job.lock:
        if isinstance(result, Problem):
            job.state, job.problem = "failed", result
            return
        summary = result.as_dict()
        summary["villages"].sort(key=lambda v: (-v["error_rate"], v["code"]))
        job.summary = summary
        job.has_rejects = result.rejects_path is not None
        job.rows = result.rows
        job.state = "done"


def _job(request: Request[Any, Any, Any], job_id: str) -> ImportJob:
    job = jobs_of(request).find(job_id, caller_of(request).account.account_id)
    if job is None:
        raise NotFound("没有这次导入。", "There is no such import.", field="job_id")
    return job


@get("/imports/{job_id:str}", guards=[signed_in], sync_to_thread=False)
def job_page(request: Request[Any, Any, Any],
             job_id: Annotated[str, PathParameter(max_length=64)]) -> Any:
    """Show an import's progress, or its summary once it is done."""
    job = _job(request, job_id)
    language = language_of(request)
    with job.lock:
        values: dict[str, Any] = {
            "job": job, "summary": job.summary, "rows": job.rows, "expected": job.expected,
            "state": job.state,
            "problem": job.problem.message(language) if job.problem else None,
            "rejects_url": f"/api/v1/imports/{job.job_id}/rejects" if job.has_rejects else None,
        }
    return page(request, "import_job.html", _TITLE, **values)


@get("/imports/{job_id:str}/status", guards=[signed_in], sync_to_thread=False)
def job_status(request: Request[Any, Any, Any],
               job_id: Annotated[str, PathParameter(max_length=64)]) -> dict[str, Any]:
    """Return an import's progress as JSON, for the progress script."""
    job = _job(request, job_id)
    with job.lock:
        return {"state": job.state, "rows": job.rows, "expected": job.expected}


ROUTES = [upload_form, job_page, job_status]
UPLOAD_ROUTES = [upload]
