"""The part of an import that needs no store: reading, validation and a new person's encryption.

For each data row, ``Preparer`` validates the cells. For a valid row it also makes
the parts of the new person that do not depend on the store. These are an id, a
data key wrapped under the keyring's KEK, the envelopes of the person's
``Person.Registered`` fields and the person's blind-index rows. The importer then
decides against the store whether the person is new and which household they join.
It discards the preparation of a repeated person, whose key is never committed.

``open_prepared`` streams a file's prepared rows in batches. For a large file it
forks a second process that reads and prepares batch n + 1 while the importing
process saves batch n, so that the import uses both cores of a county office's
machine. A small file is prepared in the importing process by the same code. The
child gets the keyring by the fork, so no key crosses the pipe between the two.
The wrapped data keys and the rows' values do, and only between the two processes
of one import.
"""

from __future__ import annotations

import gc
import hmac
import multiprocessing
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID, uuid4

from vault.crypto.blind_index import BlindIndexer
from vault.crypto.envelope import FieldCipher
from vault.crypto.keyring import Keyring
from vault.crypto.wrap import new_data_key, wrap_data_key
from vault.domain.person import ACTIVE, FLAGGED, Person
from vault.domain.registration import (
    Accepted,
    Registration,
    RowContext,
    no_id_dedup_key,
    validate_row,
)
from vault.errors import ImportFailed, Problem, VaultError
from vault.imports.cells import EMPTY, Cell
from vault.imports.readers import Skipped, SourceRow, open_source
from vault.imports.readers import Source as FileSource
from vault.store.blind import index_rows
from vault.store.keystore import DATA_KEY_VERSION
from vault.store.mapper import seal_fields

ID_NUMBER = "id_number"
NAME_BIRTH_VILLAGE = "name_birth_village"
HOUSEHOLD_NUMBER = "household_number"
# Search keys: the name within its village, and the phone as ``parse_phone`` cleans it.
NAME_VILLAGE = "name_village"
PHONE = "phone"

# Files from this size on are prepared in a second process. Below it the fork and the
# pipe cost more than they save (the sample workbook of 1,541 rows is 150 KiB).
PARALLEL_MIN_BYTES = 64 * 1024


class SourceInfo(NamedTuple):
    """The file-wide facts an import reports: name, hash, skipped parts, filing details."""

    file_name: str
    content_sha256: str
    skipped: list[Skipped]
    collector: str | None
    filing_unit: str | None
    # Sheet name -> field key -> the column's header as written, for the rejects workbook.
    headers: dict[str, dict[str, str]]


class PersonDraft(NamedTuple):
    """A valid row's new person, encrypted and indexed, not yet checked against the store."""

    person_id: UUID
    # The blind-index kind and normalised value that identify the person, and their
    # full keyed digest, which finds a repeat inside the file without a query.
    key_kind: str
    key_value: str
    key_digest: bytes
    village_code: str
    sex: str
    birth_year: int | None
    resident_category: str | None
    record_status: str
    household_number: str | None
    # The household's blind-index value and its full keyed digest, when it has a number.
    household_key: str | None
    household_digest: bytes | None
    registered_address: str | None
    relationship: str | None
    wrapped_kek_id: str
    wrapped_key: bytes
    # The envelopes (base64) of the fields of the person's Person.Registered event,
    # bound to the person as subject and originator and to version 1.
    pii: dict[str, str]
    blind_rows: list[tuple[Any, ...]]
    warnings: tuple[Problem, ...]


class PackedCells:
    """A row's original (header, cell) list, cheap to send between processes.

    The importer needs a row's original cells only for the rejects workbook. So a
    row crosses the pipe as its sheet's header tuple, one object for the whole
    batch, and a tuple of plain values. A value is the text of a text cell,
    ``None`` for an empty cell, or the four fields of any other cell. The cells are
    rebuilt only for a row that goes to the rejects workbook.
    """

    __slots__ = ("_cells", "_headers", "_values")

    def __init__(
        self,
        cells: list[tuple[str, Cell]] | None,
        headers: tuple[str, ...] = (),
        values: tuple[Any, ...] = (),
    ) -> None:
        self._cells = cells
        self._headers = headers
        self._values = values

    def cells(self) -> list[tuple[str, Cell]]:
        if self._cells is None:
            self._cells = [(header, _unpack_cell(value))
                           for header, value in zip(self._headers, self._values, strict=True)]
        return self._cells

    def __reduce__(self) -> tuple[Any, ...]:
        if self._cells is None:
            return (PackedCells, (None, self._headers, self._values))
        headers = _shared_headers(tuple(header for header, _cell in self._cells))
        values = tuple(_pack_cell(cell) for _header, cell in self._cells)
        return (PackedCells, (None, headers, values))


_header_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}


def _shared_headers(headers: tuple[str, ...]) -> tuple[str, ...]:
    # The same tuple object for every row of a sheet, so that pickle writes it once
    # per batch and refers back to it for the other rows.
    if len(_header_tuples) > 1000:
        _header_tuples.clear()
    return _header_tuples.setdefault(headers, headers)


def _pack_cell(cell: Cell) -> Any:
    if cell.kind == "text" and cell.number_format is None and cell.date_system == 1900:
        return cell.value
    if cell.kind == "empty":
        return None
    return (cell.value, cell.kind, cell.number_format, cell.date_system)


def _unpack_cell(value: Any) -> Cell:
    if value is None:
        return EMPTY
    if isinstance(value, str):
        return Cell(value, "text")
    return Cell(*value)


class PreparedRow(NamedTuple):
    """One data row after preparation: a person draft, or the problems that rejected it."""

    sheet: str
    row_number: int
    original: PackedCells
    # The village code read from the household number, to tally a rejected row.
    village_hint: str | None
    problems: tuple[Problem, ...]
    person: PersonDraft | None


class Preparer:
    """Validate rows and prepare their new persons under one keyring."""

    def __init__(self, context: RowContext, keyring: Keyring, indexer: BlindIndexer) -> None:
        self._context = context
        self._keyring = keyring
        self._indexer = indexer

    def prepare(self, row: SourceRow) -> PreparedRow:
        """Validate ``row`` and, when it is valid, make its new person's draft."""
        result = validate_row(row.cells, self._context)
        if not isinstance(result, Accepted):
            return PreparedRow(row.sheet, row.row_number, PackedCells(row.original),
                               village_hint(row), result.problems, None)

        registration = result.registration
        kind, value = person_key(registration)
        person_id = uuid4()
        data_key = new_data_key()
        wrapped = wrap_data_key(self._keyring, data_key, subject_id=person_id)
        cipher = FieldCipher(data_key, DATA_KEY_VERSION)

        household_key = None
        household_digest = None
        if registration.household_number:
            household_key = f"{registration.village_code}\x1f{registration.household_number}"
            household_digest = full_digest(self._keyring, HOUSEHOLD_NUMBER, household_key)
        indexed = {kind: value,
                   NAME_VILLAGE: f"{registration.name}\x1f{registration.village_code}"}
        if registration.phone:
            indexed[PHONE] = registration.phone

        person = PersonDraft(
            person_id=person_id,
            key_kind=kind,
            key_value=value,
            key_digest=full_digest(self._keyring, kind, value),
            village_code=registration.village_code,
            sex=registration.sex,
            birth_year=registration.birth_year,
            resident_category=registration.resident_category,
            record_status=FLAGGED if registration.document is None else ACTIVE,
            household_number=registration.household_number,
            household_key=household_key,
            household_digest=household_digest,
            registered_address=registration.registered_address,
            relationship=registration.relationship,
            wrapped_kek_id=wrapped.kek_id,
            wrapped_key=wrapped.blob,
            pii=seal_fields(cipher, person_pii(registration), subject_id=person_id,
                            originator_id=person_id, originator_version=Person.INITIAL_VERSION),
            blind_rows=index_rows(self._indexer, indexed, person_id, cipher),
            warnings=tuple(p for p in result.problems if p.severity == "warning"),
        )
        return PreparedRow(row.sheet, row.row_number, PackedCells(row.original), None, (), person)


# -- the stream of prepared batches -----------------------------------------


class PreparedStream:
    """A file's ``SourceInfo`` and then its prepared rows in batches; close it when done."""

    def __init__(self, items: Iterator[Any], close: Any) -> None:
        self._items = items
        self._close = close
        self.info: SourceInfo = next(items)

    def batches(self) -> Iterator[list[PreparedRow]]:
        yield from self._items

    def close(self) -> None:
        self._close()

    def __enter__(self) -> PreparedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_prepared(
    path: Path,
    preparer: Preparer,
    *,
    include_hidden: bool,
    batch_size: int,
    parallel: bool | None = None,
) -> PreparedStream:
    """Open ``path`` and stream its prepared rows.

    ``parallel`` chooses a second process. ``None`` chooses it for files of at least
    ``PARALLEL_MIN_BYTES``, on a machine with two cores or more where processes can
    be forked. An error in the file (``WorkbookError`` and the like) is raised by
    this call or by the iteration, as the same error in either mode.
    """
    if parallel is None:
        parallel = (can_fork() and (os.cpu_count() or 1) >= 2
                    and path.is_file() and path.stat().st_size >= PARALLEL_MIN_BYTES)
    if parallel and not can_fork():
        parallel = False
    if not parallel:
        items = _prepare_file(path, preparer, include_hidden, batch_size)
        return PreparedStream(items, items.close)
    child = _ForkedPreparation(path, preparer, include_hidden, batch_size)
    try:
        return PreparedStream(child.items(), child.close)
    except BaseException:
        child.close()
        raise


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the cyclic garbage collector mostly out of the way.

    An import allocates millions of small objects that reference counting frees.
    With Python's default thresholds, the collector still ran hundreds of times per
    10,000 rows, each time walking the batch's live objects and, now and then, the
    whole heap: about a tenth of each process's time. Inside the block, objects
    that exist at its start are frozen out of collection, and the youngest
    generation is collected after 50,000 allocations instead of 700. Cycles are
    still collected, only less often.
    """
    global _collection_holders, _saved_thresholds  # noqa: PLW0603  # process-wide, like gc
    with _collection_lock:
        if _collection_holders == 0:
            _saved_thresholds = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(50_000, *_saved_thresholds[1:])
        _collection_holders += 1
    try:
        yield
    finally:
        with _collection_lock:
            _collection_holders -= 1
            if _collection_holders == 0:
                # Imports running side by side (web import jobs) restore the
                # thresholds when the last of them ends.
                gc.set_threshold(*_saved_thresholds)
                gc.unfreeze()


_collection_lock = threading.Lock()
_collection_holders = 0
_saved_thresholds: tuple[int, ...] = gc.get_threshold()


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _prepare_file(
    path: Path, preparer: Preparer, include_hidden: bool, batch_size: int
) -> Iterator[Any]:
    source = open_source(path, include_hidden=include_hidden)
    try:
        yield source_info(source)
        for batch in _batches(_rows(source), batch_size):
            yield [preparer.prepare(row) for row in batch]
    finally:
        source.close()


def source_info(source: FileSource) -> SourceInfo:
    return SourceInfo(
        file_name=source.file_name,
        content_sha256=source.content_sha256,
        skipped=list(source.skipped),
        collector=source.filing.collector,
        filing_unit=source.filing.unit,
        headers={sheet.name: {c.key: c.header for c in sheet.columns if c.key}
                 for sheet in source.sheets()},
    )


def _rows(source: FileSource) -> Iterator[SourceRow]:
    for sheet in source.sheets():
        yield from sheet.rows()


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


class _ForkedPreparation:
    """A child process running ``_prepare_file`` and sending each item through a pipe.

    A send blocks until the parent reads the batch, so the child works at most one
    batch ahead and memory stays bounded. When the importing process dies, even by
    SIGKILL, the child's next send fails on the closed pipe and the child exits.
    """

    def __init__(
        self, path: Path, preparer: Preparer, include_hidden: bool, batch_size: int
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main,
            args=(self._receiver, sender, path, preparer, include_hidden, batch_size),
            name="vault-import-prepare",
            daemon=True,
        )
        with warnings.catch_warnings():
            # Python 3.12 and later warn about forking a process that has threads (a
            # PostgreSQL connection pool has some). The child touches nothing those
            # threads may lock: it reads the file, computes, and writes to its pipe.
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            self._process.start()
        sender.close()

    def items(self) -> Iterator[Any]:
        while True:
            try:
                kind, payload = self._receiver.recv()
            except (EOFError, OSError):
                raise _worker_lost(self._process.exitcode) from None
            if kind == "item":
                yield payload
            elif kind == "end":
                return
            elif kind == "error":
                error_type, message_zh, message_en, code, field, value = payload
                raise error_type(message_zh, message_en, code=code, field=field, value=value)
            else:
                raise _worker_failed(payload)

    def close(self) -> None:
        self._receiver.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=10)
        self._process.close()


def _child_main(
    receiver: Connection,
    sender: Connection,
    path: Path,
    preparer: Preparer,
    include_hidden: bool,
    batch_size: int,
) -> None:
    # Only the parent reads. Closing the child's copy of the reading end makes a send
    # after the parent's death fail at once, instead of waiting for a reader forever.
    receiver.close()
    try:
        with fewer_collections():
            for item in _prepare_file(path, preparer, include_hidden, batch_size):
                sender.send(("item", item))
        sender.send(("end", None))
    except (BrokenPipeError, KeyboardInterrupt):
        # The importing process is gone or was interrupted; it reports for itself.
        return
    except VaultError as error:
        sender.send(("error", (type(error), error.message_zh, error.message_en, error.code,
                               error.field, error.value)))
    except Exception as error:
        # The text of an unexpected exception may quote a cell, so only its class
        # crosses to the parent, which reports it.
        sender.send(("crash", type(error).__name__))
    finally:
        sender.close()


def _worker_lost(exitcode: int | None) -> ImportFailed:
    return ImportFailed(
        f"读取和校验文件的子进程意外退出（退出码 {exitcode}）。已登记的行均已保存，"
        "重新运行同一命令即可从中断处继续。",
        f"The process reading and checking the file stopped unexpectedly (exit code"
        f" {exitcode}). Every row registered so far is saved; run the same command again"
        " to continue where it stopped.",
        code="IMPORT_WORKER_LOST",
    )


def _worker_failed(error_class: str) -> ImportFailed:
    return ImportFailed(
        f"读取和校验文件时发生内部错误（{error_class}）。已登记的行均已保存。"
        "请将此信息告知系统管理员。",
        f"An internal error ({error_class}) occurred while reading and checking the file."
        " Every row registered so far is saved. Report this message to the administrator.",
        code="IMPORT_WORKER_FAILED",
        value=error_class,
    )


# -- keys of a person ----------------------------------------------------------


def full_digest(keyring: Keyring, kind: str, value: str) -> bytes:
    """Return the untruncated keyed digest of a blind-index value, for repeats in one run."""
    return hmac.digest(keyring.blind_index_key, f"{kind}\x1f{value}".encode(), sha256)


def village_hint(row: SourceRow) -> str | None:
    cell = row.cells.get("household_number")
    text = cell.as_text().strip() if cell is not None else ""
    return text[:12] if len(text) >= 12 and text[:12].isdigit() else None


def person_key(registration: Registration) -> tuple[str, str]:
    """Return the blind-index kind and normalised value that identify a person."""
    if registration.document is not None:
        return ID_NUMBER, registration.document.number
    name, birth_date, village = no_id_dedup_key(registration)
    return NAME_BIRTH_VILLAGE, f"{name}\x1f{birth_date.isoformat()}\x1f{village}"


def person_pii(registration: Registration) -> dict[str, Any]:
    """Return the personal fields of a registration, keyed as the field catalogue names them."""
    document = registration.document
    return {
        "name": registration.name,
        "ethnicity": registration.ethnicity,
        "birth_date": registration.birth_date,
        "id_type": str(document.type.value) if document else None,
        "id_number": document.number if document else None,
        "id_number_original": (
            document.original if document and document.original != document.number else None
        ),
        "registered_address": registration.registered_address,
        "group": registration.group,
        "house_number": registration.house_number,
        "current_address": registration.current_address,
        "current_county": registration.current_county,
        "household_number": registration.household_number,
        "relationship": registration.relationship,
        "marital_status": registration.marital_status,
        "education": registration.education,
        "hukou_type": registration.hukou_type,
        "phone": registration.phone,
        "move_date": registration.move_date,
        "move_place": registration.move_place,
        "move_county": registration.move_county,
        "move_reason": registration.move_reason,
        "marriage_cert_number": registration.marriage_cert_number,
        "remark": registration.remark,
    }
