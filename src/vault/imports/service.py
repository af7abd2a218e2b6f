"""Import a registration workbook: validate rows, register persons and households.

The import streams the file in batches. Each row is first prepared (validated, and a
valid row's new person encrypted and indexed; see ``vault.imports.prepare``), for a
large file in a second process. For each batch the importer then

1. skips rows already in the import ledger (from an earlier run of the same file),
2. checks every valid row against the clerk's jurisdiction,
3. finds duplicates by blind index (in the store) and by full digest (in this run),
4. commits a data key for each new person and household (the key store),
5. saves the batch's events together with their blind-index and ledger rows in one
   transaction, then brings the resident view up to date.

A crash between batches loses nothing already saved, and a rerun of the same command
skips what the ledger holds, so it ends with the same store as one uninterrupted run.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import structlog

from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.crypto.wrap import WrappedKey
from vault.domain.actor import Actor, Source
from vault.domain.household import HEAD, Household, second_head
from vault.domain.person import Person
from vault.domain.registration import RowContext
from vault.errors import InvalidValue, Problem, VaultError
from vault.imports.prepare import (
    HOUSEHOLD_NUMBER,
    ID_NUMBER,
    NAME_BIRTH_VILLAGE,
    NAME_VILLAGE,
    PHONE,
    PersonDraft,
    PreparedRow,
    Preparer,
    SourceInfo,
    fewer_collections,
    full_digest,
    open_prepared,
    person_key,
    person_pii,
)
from vault.imports.readers import Skipped, estimate_rows
from vault.imports.rejects import Category, RejectEntry, VillageSummary, write_rejects
from vault.reference import county_codes
from vault.store import blind
from vault.store.database import Tx
from vault.store.locks import import_lock
from vault.store.mapper import SealedFields
from vault.villages import load_village_table

log = structlog.get_logger("vault.imports")

__all__ = [
    "BATCH_SIZE",
    "HOUSEHOLD_NUMBER",
    "ID_NUMBER",
    "NAME_BIRTH_VILLAGE",
    "NAME_VILLAGE",
    "PHONE",
    "ImportSummary",
    "Importer",
    "check_rejects_path",
    "person_key",
    "person_pii",
]

# Rows per batch, one transaction each. Larger batches spread a commit's fixed cost
# over more rows. A batch's rows, events and view rows stay in memory until it
# commits, a few megabytes at 1,000 rows (an estimate).
BATCH_SIZE = 1000
# The resident view is brought up to date in each batch's own transaction. When that
# cannot be done (another process saved events in between), it catches up from the
# log once this many events are behind, and at the end of the run, because a
# catch-up is a transaction of its own.
_PROJECT_EVERY = 5000

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
class _Join:
    """The members a batch adds to one household, and the head among them."""

    household: Household
    # The first member's row, for the event's source.
    source: dict[str, Any]
    members: list[UUID] = field(default_factory=list)
    head: UUID | None = None


@dataclass
class _Pending:
    """The aggregates, keys, blind-index rows and ledger rows of one batch."""

    # The time the batch's ledger rows record.
    recorded_at: str
    aggregates: dict[UUID, Any] = field(default_factory=dict)
    joins: dict[UUID, _Join] = field(default_factory=dict)
    # New persons' Registered events, saved without their aggregates.
    events: list[Any] = field(default_factory=list)
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
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self._services = services
        self._actor = actor
        self._authorise = authorise
        self._check_only = check_only
        self._progress = progress
        # Called when another import holds the registry's import lock, before waiting.
        self._on_wait = on_wait
        self._db = services.store.db
        self._app = services.store.app
        self._keys = services.store.keys
        self._blind = services.blind
        # Full (untruncated) digests of the people and households seen in this run,
        # so that a repeat inside the file is caught without another query.
        self._seen_people: set[bytes] = set()
        # The persons and households registered by this run (UUID.int). Their values
        # are in the digests above, so a store look-up passes over their index rows,
        # which in a large import are most of the candidates.
        self._registered: set[int] = set()
        self._households: OrderedDict[bytes, UUID] = OrderedDict()
        self._household_cache: OrderedDict[UUID, Household] = OrderedDict()
        # Stored households of the current batch's household numbers, looked up in one
        # query per batch: household value -> id, or None when none is stored.
        self._stored_households: dict[str, UUID | None] = {}
        self._rejects: list[RejectEntry] = []
        self._batch_id = uuid4().hex
        self._headers: dict[str, dict[str, str]] = {}
        # Events saved and not yet in the resident view.
        self._unprojected = 0

    # -- the run -----------------------------------------------------------

    def run(
        self,
        path: Path,
        *,
        include_hidden: bool = False,
        rejects_path: Path | None = None,
        parallel: bool | None = None,
    ) -> ImportSummary:
        """Import ``path``; ``parallel`` as in ``vault.imports.prepare.open_prepared``."""
        if rejects_path is not None:
            check_rejects_path(rejects_path, path)
        context = RowContext(
            today=self._services.clock.today(),
            villages=load_village_table(self._db),
            counties=county_codes(),
            office=self._actor.office,
        )
        preparer = Preparer(context, self._services.keyring, self._services.blind_index)
        expected_rows = estimate_rows(path) if self._progress else None
        with ExitStack() as stack:
            if not self._check_only:
                # One import writes at a time; see vault.store.locks.
                stack.enter_context(import_lock(self._services.config, self._on_wait))
                self._audit_start()
                # A killed run may have left the view behind its last save; the
                # ledger's village tallies below read the view.
                self._services.residents.catch_up()
            summary = self._run_batches(path, preparer, include_hidden, parallel,
                                        expected_rows)
            if not self._check_only:
                # A run killed after its last save and before the view caught up
                # leaves a rerun with nothing to save, so the rerun catches up here.
                self._services.residents.catch_up()

        for tally in summary.villages.values():
            known = context.villages.by_code(tally.code)
            tally.name = known[-1].name if known else ""
        if self._rejects:
            summary.rejects_path = self._write_rejects(summary, rejects_path)
        self._audit(summary)
        return summary

    def _run_batches(
        self,
        path: Path,
        preparer: Preparer,
        include_hidden: bool,
        parallel: bool | None,
        expected_rows: int | None,
    ) -> ImportSummary:
        summary = ImportSummary(batch_id=self._batch_id, file_name=path.name,
                                checked_only=self._check_only)
        try:
            with fewer_collections(), open_prepared(
                path, preparer, include_hidden=include_hidden, batch_size=BATCH_SIZE,
                parallel=parallel,
            ) as prepared:
                info = prepared.info
                self._headers = info.headers
                summary.file_name = info.file_name
                summary.skipped = list(info.skipped)
                summary.collector = info.collector
                summary.filing_unit = info.filing_unit
                for batch in prepared.batches():
                    self._import_batch(info, batch, summary)
                    if self._progress:
                        self._progress(summary.rows, expected_rows)
        except BaseException as error:
            if not self._check_only:
                # Every batch saved so far stays, and the record gives the counts so far.
                code = error.code if isinstance(error, VaultError) else type(error).__name__
                self._audit_failure(summary, code)
            raise
        return summary

    def _import_batch(
        self, info: SourceInfo, batch: list[PreparedRow], summary: ImportSummary
    ) -> None:
        done = self._ledgered(info.content_sha256, batch)
        accepted: list[tuple[PreparedRow, PersonDraft]] = []
        for row in batch:
            summary.rows += 1
            if (row.sheet, row.row_number) in done:
                village = done[(row.sheet, row.row_number)]
                summary.already_imported += 1
                self._tally(summary, village).already_imported += 1
                self._tally(summary, village).rows += 1
                continue
            person = row.person
            if person is None:
                self._reject(summary, row, list(row.problems), village=None)
                continue
            denial = self._authorise(person.village_code)
            if denial is not None:
                self._reject(summary, row, [denial], village=person.village_code)
                continue
            accepted.append((row, person))

        existing = self._existing_people([person for _, person in accepted])
        self._find_stored_households([person for _, person in accepted])
        pending = _Pending(recorded_at=self._services.clock.now().isoformat())
        for row, person in accepted:
            self._register(info, row, person, existing, pending, summary)
        for join in pending.joins.values():
            # One event per household and batch, however many of its members the
            # batch has. The checks in _register keep a second head out.
            join.household.add_members(join.members, join.head, self._actor.as_dict(),
                                       join.source)
            pending.aggregates[join.household.id] = join.household

        if self._check_only or not (pending.aggregates or pending.events):
            # Nothing to save, or every prepared key belonged to a repeat or a refused row.
            self._keys.discard_pending()
            for aggregate in pending.aggregates.values():
                aggregate.collect_events()
            return
        # The keys go in the events' own transaction, and so does the resident view
        # when it is up to date: a crash keeps all of them or none. Key and index
        # rows go in primary-key order, so that each index page is visited once.
        self._app.save_with_rows(
            *pending.aggregates.values(),
            events=pending.events,
            rows=[_sorted(self._keys.take_pending()),
                  (blind.INSERT, sorted(pending.blind_rows, key=_index_order)),
                  (_INSERT_LEDGER, pending.ledger_rows)],
            after_insert=self._project,
        )
        if self._unprojected >= _PROJECT_EVERY:
            self._services.residents.catch_up()
            self._unprojected = 0

    def _project(self, tx: Tx, saved: list[tuple[int, Any]]) -> None:
        if not self._services.residents.apply_saved(tx, saved):
            # Another writer came in between: the view catches up from the log.
            self._unprojected += len(saved)

    def _register(
        self,
        info: SourceInfo,
        row: PreparedRow,
        draft: PersonDraft,
        existing: set[bytes],
        pending: _Pending,
        summary: ImportSummary,
    ) -> None:
        tally = self._tally(summary, draft.village_code)
        if draft.key_digest in self._seen_people or draft.key_digest in existing:
            self._reject(
                summary, row,
                [Problem("DUPLICATE_PERSON", ID_NUMBER if draft.key_kind == ID_NUMBER else "name",
                         "该人员已登记，未重复登记。",
                         "This person is already registered and was not registered again.",
                         "warning")],
                village=draft.village_code, category=DUPLICATE,
            )
            return

        person_id = draft.person_id
        household = self._household_for(draft, info, row, pending, summary)
        if household is not None:
            join = pending.joins.get(household.id)
            if draft.relationship == HEAD and (
                    household.head is not None or (join is not None and join.head is not None)):
                self._reject(summary, row, [second_head().problem()], village=draft.village_code)
                return
            if join is None:
                join = pending.joins[household.id] = _Join(household, self._source(info, row))
            join.members.append(person_id)
            if draft.relationship == HEAD:
                join.head = person_id
        # Committed with the batch's events.
        self._keys.adopt(person_id, WrappedKey(draft.wrapped_kek_id, draft.wrapped_key))
        registered = Person.registered_event(
            person_id,
            village_code=draft.village_code,
            sex=draft.sex,
            birth_year=draft.birth_year,
            resident_category=draft.resident_category,
            record_status=draft.record_status,
            household_id=household.id if household else None,
            actor=self._actor.as_dict(),
            source=self._source(info, row),
            pii=SealedFields(draft.pii, subject_id=person_id, originator_id=person_id,
                             originator_version=Person.INITIAL_VERSION),
        )

        self._seen_people.add(draft.key_digest)
        self._registered.add(person_id.int)
        pending.events.append(registered)
        pending.blind_rows.extend(draft.blind_rows)
        pending.ledger_rows.append((
            info.content_sha256, row.sheet, row.row_number, summary.batch_id, str(person_id),
            str(household.id) if household else None, pending.recorded_at,
        ))
        summary.registered += 1
        tally.rows += 1
        tally.registered += 1
        if draft.warnings:
            summary.warned += 1
            tally.warned += 1
            self._rejects.append(self._entry(row, list(draft.warnings), WARNED))

    # -- households --------------------------------------------------------

    def _household_for(
        self,
        draft: PersonDraft,
        info: SourceInfo,
        row: PreparedRow,
        pending: _Pending,
        summary: ImportSummary,
    ) -> Household | None:
        number = draft.household_number
        value = draft.household_key
        full = draft.household_digest
        if not number or value is None or full is None:
            return None
        household_id = self._households.get(full)
        if household_id is None:
            household_id = self._stored_household(value)
        if household_id is not None:
            self._households[full] = household_id
            return self._load_household(household_id, pending)

        household = Household.establish(
            village_code=draft.village_code,
            actor=self._actor.as_dict(),
            source=self._source(info, row),
            pii={"household_number": number, "household_address": draft.registered_address},
        )
        self._households[full] = household.id
        self._registered.add(household.id.int)
        self._household_cache[household.id] = household
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
        matches = self._blind.find(HOUSEHOLD_NUMBER, [value], known_other=self._registered)
        return next(iter(matches.get(value, ())), None)

    def _find_stored_households(self, drafts: list[PersonDraft]) -> None:
        # Nothing is saved while a batch registers its rows, so a look-up made before
        # the batch returns what a look-up per row would.
        values = {
            draft.household_key
            for draft in drafts
            if draft.household_key and draft.household_digest not in self._households
        }
        found = (self._blind.find(HOUSEHOLD_NUMBER, values, known_other=self._registered)
                 if values else {})
        self._stored_households = {
            value: next(iter(found.get(value, ())), None) for value in values
        }

    # -- blind index -------------------------------------------------------

    def _full_digest(self, kind: str, value: str) -> bytes:
        return full_digest(self._services.keyring, kind, value)

    def _blind_row(self, kind: str, value: str, subject_id: UUID) -> tuple[Any, ...]:
        # The subject is new, so its key is made now and committed with the batch's
        # other keys before the batch's events are saved.
        return self._blind.row(kind, value, subject_id, self._keys.prepare(subject_id))

    def _existing_people(self, drafts: list[PersonDraft]) -> set[bytes]:
        by_kind: dict[str, list[str]] = {}
        for draft in drafts:
            by_kind.setdefault(draft.key_kind, []).append(draft.key_value)
        found: set[bytes] = set()
        for kind, values in by_kind.items():
            for value in self._blind.find(kind, values, known_other=self._registered):
                found.add(self._full_digest(kind, value))
        return found

    # -- ledger ------------------------------------------------------------

    def _ledgered(self, file_sha256: str, batch: list[PreparedRow]) -> dict[tuple[str, int], str]:
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
        row: PreparedRow,
        problems: list[Problem],
        *,
        village: str | None,
        category: Category = REJECTED,
    ) -> None:
        tally = self._tally(summary, village or row.village_hint)
        tally.rows += 1
        if category == DUPLICATE:
            summary.duplicates += 1
            tally.duplicates += 1
        else:
            summary.rejected += 1
            tally.rejected += 1
        self._rejects.append(self._entry(row, problems, category))

    def _entry(self, row: PreparedRow, problems: list[Problem], category: Category) -> RejectEntry:
        return RejectEntry(
            sheet=row.sheet, row_number=row.row_number, category=category,
            problems=list(problems), original=row.original.cells(),
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

    def _audit_start(self) -> None:
        # Written before the first batch, so that a run killed part-way (by SIGKILL or
        # a power cut, which leave no "failed" record) still shows in the audit.
        self._services.audit.append(AuditRecord(
            action="person.import", outcome="started", request_id=self._batch_id,
            account_id=self._actor.account_id, role=self._actor.role,
            office=self._actor.office,
        ))

    def _audit_failure(self, summary: ImportSummary, code: str) -> None:
        try:
            self._audit(summary, outcome="failed", error=code)
        except Exception as failure:
            # The store may be what failed. The import's error matters more than this
            # record, so it is logged here and the import's error is raised.
            log.error("import_audit_failed", batch_id=summary.batch_id, error_code=code,
                      audit_error_type=type(failure).__name__)

    def _audit(
        self, summary: ImportSummary, *, outcome: str = "ok", error: str | None = None
    ) -> None:
        registered = "would_register" if self._check_only else "registered"
        reason = (f"rows={summary.rows} {registered}={summary.registered}"
                  f" rejected={summary.rejected} duplicates={summary.duplicates}"
                  f" already_imported={summary.already_imported}")
        self._services.audit.append(AuditRecord(
            action="person.check" if self._check_only else "person.import",
            outcome=outcome,
            request_id=summary.batch_id,
            account_id=self._actor.account_id,
            role=self._actor.role,
            office=self._actor.office,
            reason=f"{reason} error={error}" if error else reason,
        ))

    def _source(self, info: SourceInfo, row: PreparedRow) -> dict[str, Any]:
        # The same dict as Source.as_dict(), without the deep copy of dataclasses.asdict,
        # which cost about 3 % of the import's time. Every field of Source is flat.
        stamp = Source(self._batch_id, info.file_name, row.sheet, row.row_number)
        return {name: getattr(stamp, name) for name in _SOURCE_FIELDS}


def _index_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The blind index's primary key: kind, digest, subject.
    return row[:3]


def _sorted(insert: tuple[str, list[tuple[Any, ...]]]) -> tuple[str, list[tuple[Any, ...]]]:
    sql, rows = insert
    return sql, sorted(rows)


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
        raise refuse("REJECTS_PATH_IS_INPUT",
                     "问题行工作簿不能覆盖正在导入的文件，请换一个文件名。",
                     "The rejects workbook cannot replace the file being imported; choose"
                     " another name.")
    if target.exists():
        raise refuse("REJECTS_PATH_EXISTS", "该文件已存在，为免覆盖请换一个文件名。",
                     "The file already exists; choose another name so nothing is overwritten.")
    if not target.parent.is_dir():
        raise refuse("REJECTS_FOLDER_MISSING", "问题行工作簿所在的文件夹不存在，请先创建。",
                     "The folder for the rejects workbook does not exist; create it first.")

