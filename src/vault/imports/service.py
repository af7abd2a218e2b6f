"""Import a registration workbook: validate rows, register persons and households.

The import streams the file in batches. For each batch it

1. skips rows already in the import ledger (from an earlier run of the same file),
2. validates every other row and checks it against the clerk's jurisdiction,
3. finds duplicates by blind index (in the store) and by full digest (in this run),
4. commits a data key for each new person and household (the key store),
5. saves the batch's events together with their blind-index and ledger rows in one
   transaction, then brings the resident view up to date.

A crash between batches loses nothing already saved, and a rerun of the same command
skips what the ledger holds, so it ends with the same store as one uninterrupted run.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.domain.actor import Actor, Source
from vault.domain.household import Household, SecondHead
from vault.domain.person import ACTIVE, FLAGGED, Person
from vault.domain.registration import (
    Accepted,
    Registration,
    RowContext,
    no_id_dedup_key,
    validate_row,
)
from vault.errors import InvalidValue, Problem
from vault.imports.readers import Skipped, SourceRow, estimate_rows, open_source
from vault.imports.readers import Source as FileSource
from vault.imports.rejects import Category, RejectEntry, VillageSummary, write_rejects
from vault.reference import county_codes
from vault.store import blind
from vault.villages import load_village_table

BATCH_SIZE = 500
ID_NUMBER = "id_number"
NAME_BIRTH_VILLAGE = "name_birth_village"
HOUSEHOLD_NUMBER = "household_number"
# Search keys: the name within its village, and the phone as ``parse_phone`` cleans it.
NAME_VILLAGE = "name_village"
PHONE = "phone"

_INSERT_LEDGER = (
    "INSERT INTO {import_ledger} (file_sha256, sheet, row_number, batch_id, person_id,"
    " household_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)

_SOURCE_FIELDS = tuple(item.name for item in fields(Source))

REJECTED: Category = "reject"
WARNED: Category = "warning"
DUPLICATE: Category = "duplicate"


@dataclass
class VillageTally:
    """Counts for one village; ``error_rate`` is rejected rows over rows read."""

    code: str
    name: str = ""
    rows: int = 0
    registered: int = 0
    rejected: int = 0
    warned: int = 0
    duplicates: int = 0
    already_imported: int = 0

    @property
    def error_rate(self) -> float:
        return self.rejected / self.rows if self.rows else 0.0


@dataclass
class ImportSummary:
    """Counts of one import: rows read, registered, refused, and the rejects workbook."""

    batch_id: str
    file_name: str
    checked_only: bool
    rows: int = 0
    registered: int = 0
    households: int = 0
    rejected: int = 0
    warned: int = 0
    duplicates: int = 0
    already_imported: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    collector: str | None = None
    filing_unit: str | None = None
    rejects_path: Path | None = None
    villages: dict[str, VillageTally] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "file": self.file_name,
            "checked_only": self.checked_only,
            "rows": self.rows,
            "registered": self.registered,
            "households": self.households,
            "rejected": self.rejected,
            "warned": self.warned,
            "duplicates": self.duplicates,
            "already_imported": self.already_imported,
            "skipped": [
                {"code": s.code, "sheet": s.sheet, "row": s.row_number, "message": s.message_zh}
                for s in self.skipped
            ],
            "collector": self.collector,
            "filing_unit": self.filing_unit,
            "rejects": str(self.rejects_path) if self.rejects_path else None,
            "villages": [
                {
                    "code": v.code, "name": v.name, "rows": v.rows, "registered": v.registered,
                    "rejected": v.rejected, "warned": v.warned, "duplicates": v.duplicates,
                    "already_imported": v.already_imported, "error_rate": round(v.error_rate, 4),
                }
                for v in sorted(self.villages.values(), key=lambda v: v.code)
            ],
        }


@dataclass
class _Pending:
    """The aggregates, keys, blind-index rows and ledger rows of one batch."""

    aggregates: dict[UUID, Any] = field(default_factory=dict)
    new_subjects: list[UUID] = field(default_factory=list)
    blind_rows: list[tuple[Any, ...]] = field(default_factory=list)
    ledger_rows: list[tuple[Any, ...]] = field(default_factory=list)


# Called after each batch with the rows read so far and the estimated total, if known.
Progress = Callable[[int, int | None], None]
Authorise = Callable[[str], Problem | None]


class Importer:
    """One import run of one file by one authenticated clerk."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        authorise: Authorise,
        *,
        check_only: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self._services = services
        self._actor = actor
        self._authorise = authorise
        self._check_only = check_only
        self._progress = progress
        self._db = services.store.db
        self._app = services.store.app
        self._keys = services.store.keys
        self._blind = services.blind
        # Full (untruncated) digests of the people and households seen in this run,
        # so that a repeat inside the file is caught without another query.
        self._seen_people: set[bytes] = set()
        self._households: OrderedDict[bytes, UUID] = OrderedDict()
        self._household_cache: OrderedDict[UUID, Household] = OrderedDict()
        # Stored households of the current batch's household numbers, looked up in one
        # query per batch: household value -> id, or None when none is stored.
        self._stored_households: dict[str, UUID | None] = {}
        self._rejects: list[RejectEntry] = []
        self._batch_id = uuid4().hex
        self._headers: dict[str, dict[str, str]] = {}

    # -- the run -----------------------------------------------------------

    def run(
        self, path: Path, *, include_hidden: bool = False, rejects_path: Path | None = None
    ) -> ImportSummary:
        if rejects_path is not None:
            check_rejects_path(rejects_path, path)
        source = open_source(path, include_hidden=include_hidden)
        summary = ImportSummary(
            batch_id=self._batch_id, file_name=source.file_name, checked_only=self._check_only
        )
        summary.skipped = list(source.skipped)
        summary.collector = source.filing.collector
        summary.filing_unit = source.filing.unit
        context = RowContext(
            today=self._services.clock.today(),
            villages=load_village_table(self._db),
            counties=county_codes(),
            office=self._actor.office,
        )

        expected_rows = estimate_rows(path) if self._progress else None
        try:
            for batch in _batches(_rows(source, self._headers), BATCH_SIZE):
                self._import_batch(source, batch, context, summary)
                if self._progress:
                    self._progress(summary.rows, expected_rows)
        finally:
            source.close()
        if not self._check_only:
            # A run killed after its last save and before the view caught up leaves a
            # rerun with nothing to save, so the rerun catches up here.
            self._services.residents.catch_up()

        for tally in summary.villages.values():
            known = context.villages.by_code(tally.code)
            tally.name = known[-1].name if known else ""
        if self._rejects:
            summary.rejects_path = self._write_rejects(summary, rejects_path)
        self._audit(summary)
        return summary

    def _import_batch(
        self,
        source: FileSource,
        batch: list[SourceRow],
        context: RowContext,
        summary: ImportSummary,
    ) -> None:
        done = self._ledgered(source.content_sha256, batch)
        accepted: list[tuple[SourceRow, Accepted]] = []
        for row in batch:
            summary.rows += 1
            if (row.sheet, row.row_number) in done:
                village = done[(row.sheet, row.row_number)]
                summary.already_imported += 1
                self._tally(summary, village).already_imported += 1
                self._tally(summary, village).rows += 1
                continue
            result = validate_row(row.cells, context)
            if not isinstance(result, Accepted):
                self._reject(summary, row, result.problems, village=None)
                continue
            denial = self._authorise(result.registration.village_code)
            if denial is not None:
                self._reject(summary, row, [denial], village=result.registration.village_code)
                continue
            accepted.append((row, result))

        existing = self._existing_people([a.registration for _, a in accepted])
        self._find_stored_households([a.registration for _, a in accepted])
        pending = _Pending()
        for row, result in accepted:
            self._register(source, row, result, existing, pending, summary)

        if self._check_only:
            self._keys.discard_pending()
            for aggregate in pending.aggregates.values():
                aggregate.collect_events()
        elif pending.aggregates:
            self._keys.commit_pending()
            self._app.save_with_rows(
                *pending.aggregates.values(),
                rows=[(blind.INSERT, pending.blind_rows), (_INSERT_LEDGER, pending.ledger_rows)],
            )
            self._services.residents.catch_up()

    def _register(
        self,
        source: FileSource,
        row: SourceRow,
        result: Accepted,
        existing: set[bytes],
        pending: _Pending,
        summary: ImportSummary,
    ) -> None:
        registration = result.registration
        tally = self._tally(summary, registration.village_code)
        kind, value = person_key(registration)
        full = self._full_digest(kind, value)
        if full in self._seen_people or full in existing:
            self._reject(
                summary, row,
                [Problem("DUPLICATE_PERSON", kind if kind == ID_NUMBER else "name",
                         "该人员已登记，未重复登记。",
                         "This person is already registered and was not registered again.",
                         "warning")],
                village=registration.village_code, category=DUPLICATE,
            )
            return

        household = self._household_for(registration, source, row, pending, summary)
        person = Person(
            village_code=registration.village_code,
            sex=registration.sex,
            birth_year=registration.birth_year,
            resident_category=registration.resident_category,
            record_status=FLAGGED if registration.document is None else ACTIVE,
            household_id=household.id if household else None,
            actor=self._actor.as_dict(),
            source=self._source(source, row),
            pii=person_pii(registration),
        )
        if household is not None:
            try:
                household.add_member(
                    person.id, registration.relationship, self._actor.as_dict(),
                    self._source(source, row),
                )
            except SecondHead as error:
                self._reject(summary, row, [error.problem()], village=registration.village_code)
                return

        self._seen_people.add(full)
        pending.aggregates[person.id] = person
        if household is not None:
            pending.aggregates[household.id] = household
        pending.new_subjects.append(person.id)
        pending.blind_rows.append(self._blind_row(kind, value, person.id))
        # The person's key was prepared just above: reuse it, never prepare another.
        cipher = self._keys.cipher(person.id)
        name_village = f"{registration.name}\x1f{registration.village_code}"
        pending.blind_rows.append(self._blind.row(NAME_VILLAGE, name_village, person.id, cipher))
        if registration.phone:
            pending.blind_rows.append(self._blind.row(PHONE, registration.phone, person.id, cipher))
        pending.ledger_rows.append((
            source.content_sha256, row.sheet, row.row_number, summary.batch_id, str(person.id),
            str(household.id) if household else None, self._services.clock.now().isoformat(),
        ))
        summary.registered += 1
        tally.rows += 1
        tally.registered += 1
        warnings = [p for p in result.problems if p.severity == "warning"]
        if warnings:
            summary.warned += 1
            tally.warned += 1
            self._rejects.append(self._entry(row, warnings, WARNED))

    # -- households --------------------------------------------------------

    def _household_for(
        self,
        registration: Registration,
        source: FileSource,
        row: SourceRow,
        pending: _Pending,
        summary: ImportSummary,
    ) -> Household | None:
        number = registration.household_number
        if not number:
            return None
        value = f"{registration.village_code}\x1f{number}"
        full = self._full_digest(HOUSEHOLD_NUMBER, value)
        household_id = self._households.get(full)
        if household_id is None:
            household_id = self._stored_household(value)
        if household_id is not None:
            self._households[full] = household_id
            return self._load_household(household_id, pending)

        household = Household(
            village_code=registration.village_code,
            actor=self._actor.as_dict(),
            source=self._source(source, row),
            pii={"household_number": number, "household_address": registration.registered_address},
        )
        self._households[full] = household.id
        self._household_cache[household.id] = household
        pending.new_subjects.append(household.id)
        pending.blind_rows.append(self._blind_row(HOUSEHOLD_NUMBER, value, household.id))
        summary.households += 1
        return household

    def _load_household(self, household_id: UUID, pending: _Pending) -> Household:
        cached = pending.aggregates.get(household_id) or self._household_cache.get(household_id)
        if cached is None:
            cached = self._app.repository.get(household_id)
        self._household_cache[household_id] = cached
        self._household_cache.move_to_end(household_id)
        while len(self._household_cache) > 5000:
            self._household_cache.popitem(last=False)
        return cached

    def _stored_household(self, value: str) -> UUID | None:
        if value in self._stored_households:
            return self._stored_households[value]
        matches = self._blind.find(HOUSEHOLD_NUMBER, [value])
        return next(iter(matches.get(value, ())), None)

    def _find_stored_households(self, registrations: list[Registration]) -> None:
        # Nothing is saved while a batch registers its rows, so a look-up made before
        # the batch returns what a look-up per row would.
        values = {
            value
            for registration in registrations
            if registration.household_number
            for value in [f"{registration.village_code}\x1f{registration.household_number}"]
            if self._full_digest(HOUSEHOLD_NUMBER, value) not in self._households
        }
        found = self._blind.find(HOUSEHOLD_NUMBER, values) if values else {}
        self._stored_households = {
            value: next(iter(found.get(value, ())), None) for value in values
        }

    # -- blind index -------------------------------------------------------

    def _full_digest(self, kind: str, value: str) -> bytes:
        key = self._services.keyring.blind_index_key
        return hmac.new(key, f"{kind}\x1f{value}".encode(), sha256).digest()

    def _blind_row(self, kind: str, value: str, subject_id: UUID) -> tuple[Any, ...]:
        # The subject is new, so its key is made now and committed with the batch's
        # other keys before the batch's events are saved.
        return self._blind.row(kind, value, subject_id, self._keys.prepare(subject_id))

    def _existing_people(self, registrations: list[Registration]) -> set[bytes]:
        by_kind: dict[str, list[str]] = {}
        for registration in registrations:
            kind, value = person_key(registration)
            by_kind.setdefault(kind, []).append(value)
        found: set[bytes] = set()
        for kind, values in by_kind.items():
            for value in self._blind.find(kind, values):
                found.add(self._full_digest(kind, value))
        return found

    # -- ledger ------------------------------------------------------------

    def _ledgered(self, file_sha256: str, batch: list[SourceRow]) -> dict[tuple[str, int], str]:
        """Return (sheet, row) → village code for the batch rows the ledger already holds."""
        done: dict[tuple[str, int], str] = {}
        by_sheet: dict[str, list[int]] = {}
        for row in batch:
            by_sheet.setdefault(row.sheet, []).append(row.row_number)
        with self._db.transaction(commit=False) as tx:
            for sheet, numbers in by_sheet.items():
                rows = tx.execute(
                    "SELECT l.row_number, r.village_code FROM {import_ledger} l"
                    " LEFT JOIN {residents} r ON r.person_id = l.person_id"
                    " WHERE l.file_sha256 = ? AND l.sheet = ? AND l.row_number BETWEEN ? AND ?",
                    (file_sha256, sheet, min(numbers), max(numbers)),
                ).fetchall()
                for row in rows:
                    done[(sheet, int(row["row_number"]))] = row["village_code"] or ""
        return done

    # -- reporting ---------------------------------------------------------

    def _tally(self, summary: ImportSummary, village: str | None) -> VillageTally:
        code = village or ""
        tally = summary.villages.get(code)
        if tally is None:
            tally = summary.villages[code] = VillageTally(code)
        return tally

    def _reject(
        self,
        summary: ImportSummary,
        row: SourceRow,
        problems: list[Problem],
        *,
        village: str | None,
        category: Category = REJECTED,
    ) -> None:
        tally = self._tally(summary, village or _village_hint(row))
        tally.rows += 1
        if category == DUPLICATE:
            summary.duplicates += 1
            tally.duplicates += 1
        else:
            summary.rejected += 1
            tally.rejected += 1
        self._rejects.append(self._entry(row, problems, category))

    def _entry(self, row: SourceRow, problems: list[Problem], category: Category) -> RejectEntry:
        return RejectEntry(
            sheet=row.sheet, row_number=row.row_number, category=category,
            problems=list(problems), original=row.original,
            column_headers=self._headers.get(row.sheet, {}),
        )

    def _write_rejects(self, summary: ImportSummary, path: Path | None) -> Path:
        reports = self._services.config.reports_dir
        stamp = f"{self._services.clock.now():%Y%m%d-%H%M%S}"
        target = path or reports / f"rejects-{stamp}-{summary.batch_id[:8]}.xlsx"
        villages = [
            VillageSummary(
                village_code=v.code, village_name=v.name, rows=v.rows, registered=v.registered,
                rejected=v.rejected, warned=v.warned, duplicates=v.duplicates,
            )
            for v in sorted(summary.villages.values(), key=lambda v: v.code)
        ]
        written = write_rejects(target, self._rejects, villages=villages)
        # The rejects repeat personal data in clear: readable by the owner only.
        written.chmod(0o600)
        return written

    def _audit(self, summary: ImportSummary) -> None:
        self._services.audit.append(AuditRecord(
            action="person.check" if self._check_only else "person.import",
            outcome="ok",
            request_id=summary.batch_id,
            account_id=self._actor.account_id,
            role=self._actor.role,
            office=self._actor.office,
            reason=(f"rows={summary.rows} registered={summary.registered}"
                    f" rejected={summary.rejected} duplicates={summary.duplicates}"),
        ))

    def _source(self, source: FileSource, row: SourceRow) -> dict[str, Any]:
        # The same dict as Source.as_dict(), without the deep copy of dataclasses.asdict,
        # which cost about 3 % of the import's time. Every field of Source is flat.
        stamp = Source(self._batch_id, source.file_name, row.sheet, row.row_number)
        return {name: getattr(stamp, name) for name in _SOURCE_FIELDS}


def check_rejects_path(target: Path, source: Path) -> None:
    """Raise ``InvalidValue`` unless ``target`` is a new .xlsx file in an existing folder.

    The check runs before any row is registered, so a bad path never leaves an import
    half reported. The target is never the input file, which the registry does not
    change.
    """
    def refuse(code: str, zh: str, en: str) -> InvalidValue:
        return InvalidValue(zh, en, code=code, field="--rejects", value=str(target))

    if target.is_dir():
        raise refuse("REJECTS_PATH_IS_FOLDER", "--rejects 指向的是文件夹，请给出 .xlsx 文件名。",
                     "--rejects names a folder; give an .xlsx file name.")
    if target.suffix.lower() != ".xlsx":
        raise refuse("REJECTS_PATH_NOT_XLSX", "问题行工作簿的文件名必须以 .xlsx 结尾。",
                     "The rejects workbook's file name must end in .xlsx.")
    if target.exists() and target.resolve() == source.resolve():
        raise refuse("REJECTS_PATH_IS_INPUT", "问题行工作簿不能覆盖正在导入的文件，请换一个文件名。",
                     "The rejects workbook cannot replace the file being imported; choose"
                     " another name.")
    if target.exists():
        raise refuse("REJECTS_PATH_EXISTS", "该文件已存在，为免覆盖请换一个文件名。",
                     "The file already exists; choose another name so nothing is overwritten.")
    if not target.parent.is_dir():
        raise refuse("REJECTS_FOLDER_MISSING", "问题行工作簿所在的文件夹不存在，请先创建。",
                     "The folder for the rejects workbook does not exist; create it first.")


def _rows(source: FileSource, headers: dict[str, dict[str, str]]) -> Iterator[SourceRow]:
    for sheet in source.sheets():
        headers[sheet.name] = {c.key: c.header for c in sheet.columns if c.key}
        yield from sheet.rows()


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _village_hint(row: SourceRow) -> str | None:
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
