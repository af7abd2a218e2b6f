"""The enforcement point in use: decide, read only what is allowed, mask, audit.

Every read of personal data goes through a ``Gate``. It calls ``vault.policy.decide``,
decrypts only the fields the decision names, masks each as the decision requires,
and appends exactly one audit record for the access, allowed or denied. The CLI,
the HTTP API and the web pages all call these methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal
from uuid import UUID

from vault.accounts import Account
from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.domain.actor import Actor
from vault.domain.fields import FIELDS, FIELDS_BY_KEY
from vault.domain.idnumbers import normalise_id_number
from vault.domain.values import parse_name, parse_phone
from vault.errors import InvalidValue, Problem
from vault.imports.service import (
    ID_NUMBER,
    NAME_VILLAGE,
    PHONE,
    Importer,
    ImportSummary,
    Progress,
)
from vault.policy import (
    WHOLE_COUNTRY,
    Decision,
    MaskContext,
    PolicySet,
    Principal,
    Request,
    apply_mask,
    decide,
)
from vault.reference import county_codes
from vault.store.reader import FieldReader

Outcome = Literal["found", "denied", "not_found", "invalid"]
# The audit action of a look-up by ID number, one record per number looked up.
LOOKUP = "person.lookup"
SEARCH = "person.search"
LIST = "person.list"


@dataclass(frozen=True, slots=True)
class PersonView:
    """One person as an account may see them: masked values keyed by field."""

    person_id: UUID
    village_code: str
    fields: Mapping[str, str | None]
    masks: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Access:
    """The result of one access: a view, or why there is none."""

    outcome: Outcome
    person: PersonView | None = None
    problem: Problem | None = None
    decision: Decision | None = None
    extra: dict[str, str] = field(default_factory=dict)


def principal_of(account: Account) -> Principal:
    return Principal(
        account_id=account.account_id,
        roles=frozenset(account.roles),
        jurisdiction=account.jurisdiction,
        department=account.department,
    )


def import_authoriser(policy: PolicySet, account: Account) -> Callable[[str], Problem | None]:
    """Return the per-village write check an import applies to each row, cached by village."""
    principal = principal_of(account)
    cache: dict[str, Problem | None] = {}

    def authorise(village_code: str) -> Problem | None:
        if village_code not in cache:
            request = Request("person.import", village_code=village_code)
            decision = decide(policy, principal, request)
            cache[village_code] = None if decision.allowed else Problem(
                decision.reason_code, "village", decision.reason_zh, decision.reason_en,
                value=village_code,
            )
        return cache[village_code]

    return authorise


def _problem(code: str, zh: str, en: str, field_name: str | None = None) -> Problem:
    return Problem(code, field_name, zh, en)


@dataclass(frozen=True, slots=True)
class Listing:
    """The result of one search or list: the views returned, or why there are none.

    ``total`` is the number of records the list covers before paging. ``withheld``
    names the candidates a denied search was refused, for the audit record.
    """

    outcome: Outcome
    people: list[PersonView] = field(default_factory=list)
    problem: Problem | None = None
    decision: Decision | None = None
    total: int = 0
    withheld: list[UUID] = field(default_factory=list)


def _denied(decision: Decision) -> Listing:
    return Listing("denied", problem=_problem(decision.reason_code, decision.reason_zh,
                                              decision.reason_en), decision=decision)


class Gate:
    """Policy decisions, field reads and audit records for one set of services."""

    def __init__(self, services: Services, policy: PolicySet) -> None:
        self._services = services
        self._policy = policy
        self._reader = FieldReader(services.store)
        self._counties = county_codes()

    @property
    def policy(self) -> PolicySet:
        return self._policy

    def find_by_id_number(
        self, account: Account, raw: str, *, request_id: str, purpose: str | None = None
    ) -> Access:
        """Look a person up by ID number; append exactly one audit record."""
        principal = principal_of(account)
        action = LOOKUP

        # May this account search persons at all? Ask before touching the index, so a
        # denied account learns nothing, not even whether the number is registered.
        first = decide(self._policy, principal, Request(
            "person.search", purpose=purpose, village_code=principal.jurisdiction or None))
        if not first.allowed:
            return self._finish(account, action, purpose, request_id, Access(
                "denied", problem=_problem(first.reason_code, first.reason_zh, first.reason_en),
                decision=first,
            ))

        try:
            number = normalise_id_number(raw, self._services.clock.today())
        except InvalidValue as error:
            return self._finish(account, action, purpose, request_id, Access(
                "invalid", problem=error.problem(), decision=first))

        matches = self._services.blind.find(ID_NUMBER, [number]).get(number, [])
        if not matches:
            return self._finish(account, action, purpose, request_id, Access(
                "not_found",
                problem=_problem("PERSON_NOT_FOUND", "没有登记此证件号码的人员。",
                                 "No person is registered with this ID number.", "id_number"),
                decision=first,
            ))
        return self.read_person(account, matches[0], request_id=request_id, purpose=purpose,
                                audit_action=action)

    def read_person(
        self,
        account: Account,
        person_id: UUID,
        *,
        request_id: str,
        purpose: str | None = None,
        audit_action: str = "person.read",
    ) -> Access:
        """Read one person by id within the account's jurisdiction; audit it once."""
        access = self._view(account, person_id, purpose)
        return self._finish(account, audit_action, purpose, request_id, access, subject=person_id)

    def search_by_name(
        self, account: Account, name: str, village_code: str, *, request_id: str,
        purpose: str | None = None,
    ) -> Listing:
        """Find the persons of one village with exactly this name; audit once."""
        decision = decide(self._policy, principal_of(account), Request(
            "person.search", purpose=purpose, village_code=village_code))
        if not decision.allowed:
            return self._finish_listing(account, SEARCH, purpose, request_id, _denied(decision))
        try:
            cleaned = parse_name(name, "name").value
        except InvalidValue as error:
            return self._finish_listing(account, SEARCH, purpose, request_id,
                                        Listing("invalid", problem=error.problem()))
        value = f"{cleaned}\x1f{village_code}"
        matches = self._services.blind.find(NAME_VILLAGE, [value]).get(value, [])
        return self._finish_listing(account, SEARCH, purpose, request_id,
                                    self._views(account, matches, purpose))

    def search_by_phone(
        self, account: Account, raw: str, *, request_id: str, purpose: str | None = None
    ) -> Listing:
        """Find the persons registered with this phone number in the account's area; audit once."""
        principal = principal_of(account)
        decision = decide(self._policy, principal, Request(
            "person.search", purpose=purpose, village_code=principal.jurisdiction or None))
        if not decision.allowed:
            return self._finish_listing(account, SEARCH, purpose, request_id, _denied(decision))
        try:
            number = parse_phone(raw, "phone").number
        except InvalidValue as error:
            return self._finish_listing(account, SEARCH, purpose, request_id,
                                        Listing("invalid", problem=error.problem()))
        matches = self._services.blind.find(PHONE, [number]).get(number, [])
        return self._finish_listing(account, SEARCH, purpose, request_id,
                                    self._views(account, matches, purpose))

    def list_village(
        self, account: Account, village_code: str, *, page: int, page_size: int,
        request_id: str, purpose: str | None = None,
    ) -> Listing:
        """List one page of a village's residents, summary fields only; audit once.

        Children are left out of the page when the decision grants nothing of them.
        """
        decision = decide(self._policy, principal_of(account), Request(
            "person.list", purpose=purpose, village_code=village_code))
        if not decision.allowed:
            return self._finish_listing(account, LIST, purpose, request_id, _denied(decision))

        with self._services.store.db.transaction(commit=False) as tx:
            total = int(tx.scalar(
                "SELECT COUNT(*) FROM {residents} WHERE village_code = ?", (village_code,)))
            rows = tx.execute(
                "SELECT person_id, birth_year FROM {residents} WHERE village_code = ?"
                " ORDER BY registered_at, person_id LIMIT ? OFFSET ?",
                (village_code, page_size, (page - 1) * page_size),
            ).fetchall()
        people = []
        for row in rows:
            person_id = UUID(row["person_id"])
            minor = self._is_minor(person_id, row["birth_year"])
            granted = decision.fields_for(is_minor=bool(minor))
            fields = {k: m for k, m in granted.items() if k in LIST_FIELDS}
            if fields:
                people.append(self._render(person_id, village_code, fields))
        return self._finish_listing(account, LIST, purpose, request_id,
                                    Listing("found", people, decision=decision, total=total))

    def import_workbook(
        self, account: Account, path: Path, *, request_id: str, rejects_path: Path | None = None,
        check_only: bool = False, progress: Progress | None = None,
    ) -> ImportSummary | Problem:
        """Import a workbook as ``account``, row by row within its jurisdiction.

        A denied account gets the problem back and one denial record; an import
        that runs appends its own record (``Importer`` audits the batch).
        ``progress`` is called after each batch with the rows read and the
        estimated total.
        """
        decision = decide(self._policy, principal_of(account), Request(
            "person.import", village_code=account.jurisdiction or None))
        if not decision.allowed:
            problem = _problem(decision.reason_code, decision.reason_zh, decision.reason_en)
            self._finish_listing(account, "person.import", None, request_id,
                                 Listing("denied", problem=problem, decision=decision))
            return problem
        actor = Actor(account.account_id, "clerk", account.jurisdiction)
        importer = Importer(self._services, actor, import_authoriser(self._policy, account),
                            check_only=check_only, progress=progress)
        return importer.run(path, rejects_path=rejects_path)

    def authorise(
        self, account: Account, action: str, *, request_id: str, audit_action: str
    ) -> Problem | None:
        """Decide ``action`` over the account's whole jurisdiction; audit it once.

        For accesses that read no person record through this class (a rejects
        workbook, say): returns the problem when denied, else None.
        """
        decision = decide(self._policy, principal_of(account), Request(
            action, village_code=account.jurisdiction or None))
        listing = Listing("found", decision=decision) if decision.allowed else _denied(decision)
        self._finish_listing(account, audit_action, None, request_id, listing)
        return listing.problem

    def allows(self, account: Account, action: str) -> Problem | None:
        """Decide ``action`` over the account's whole jurisdiction without an audit record.

        Only for screens that show no personal data (menus, empty search forms), so
        that they offer what the policy permits. Every read still goes through the
        audited methods above. Returns the problem when denied, else None.
        """
        decision = decide(self._policy, principal_of(account), Request(
            action, village_code=account.jurisdiction or None))
        if decision.allowed:
            return None
        return _problem(decision.reason_code, decision.reason_zh, decision.reason_en)

    def villages(self, account: Account) -> list[tuple[str, int]]:
        """Return each village code in the account's jurisdiction with its resident count.

        Division codes and counts are clear values, so nothing is decrypted or
        audited; an account that may not list residents gets an empty list.
        """
        if self.allows(account, "person.list") is not None:
            return []
        scope = account.jurisdiction
        prefix = "" if scope == WHOLE_COUNTRY else scope
        with self._services.store.db.transaction(commit=False) as tx:
            rows = tx.execute(
                "SELECT village_code, COUNT(*) AS residents FROM {residents}"
                " WHERE village_code LIKE ? GROUP BY village_code ORDER BY village_code",
                (f"{prefix}%",),
            ).fetchall()
        return [(row["village_code"], int(row["residents"])) for row in rows]

    def read_with_household(
        self, account: Account, person_id: UUID, *, request_id: str, purpose: str | None = None,
    ) -> tuple[Access, list[PersonView]]:
        """Read one person and the other members of their household; audit it once.

        Each member is decided on its own, like a page of a village list, and shows
        only the list fields (``LIST_FIELDS``). Members the account may not see are
        left out. The one audit record names the person and every member shown.
        """
        access = self._view(account, person_id, purpose)
        members: list[PersonView] = []
        if access.person is not None:
            for member_id in self._household_members(person_id):
                member = self._member_view(account, member_id, purpose)
                if member is not None:
                    members.append(member)

        decision = access.decision
        shown = [access.person, *members] if access.person is not None else []
        self._services.audit.append(AuditRecord(
            action="person.read",
            outcome=access.outcome,
            request_id=request_id,
            account_id=account.account_id,
            account_name=account.name,
            role=",".join(account.roles),
            office=account.jurisdiction,
            purpose=purpose,
            subject_ids=[str(person_id)] + [str(m.person_id) for m in members],
            fields=sorted({key for view in shown for key in view.fields}),
            reason=access.problem.code if access.problem else None,
            policy_version=decision.policy_version if decision else self._policy.version,
        ))
        return access, members

    def _household_members(self, person_id: UUID) -> list[UUID]:
        with self._services.store.db.transaction(commit=False) as tx:
            rows = tx.execute(
                "SELECT m.person_id FROM {residents} p JOIN {residents} m"
                " ON m.household_id = p.household_id"
                " WHERE p.person_id = ? AND m.person_id <> p.person_id"
                " ORDER BY m.registered_at, m.person_id",
                (str(person_id),),
            ).fetchall()
        return [UUID(row["person_id"]) for row in rows]

    def _member_view(
        self, account: Account, person_id: UUID, purpose: str | None
    ) -> PersonView | None:
        """Decide one household member and render only the list fields; no audit record."""
        located = self._reader.read(person_id, ())
        if located is None or "village_code" not in located.clear:
            return None
        village = str(located.clear["village_code"])
        minor = self._is_minor(person_id, located.clear.get("birth_year"))
        decision = decide(self._policy, principal_of(account), Request(
            "person.read", purpose=purpose, village_code=village, subject_is_minor=minor))
        if not decision.allowed:
            return None
        fields = {k: m for k, m in decision.fields.items() if k in LIST_FIELDS}
        return self._render(person_id, village, fields) if fields else None

    def _views(self, account: Account, person_ids: list[UUID], purpose: str | None) -> Listing:
        """Read each candidate under its own decision; deny only when every one is denied."""
        accesses = [self._view(account, person_id, purpose) for person_id in person_ids]
        people = [a.person for a in accesses if a.person is not None]
        denied = [a for a in accesses if a.outcome == "denied"]
        if denied and not people:
            refused = [
                p for p, a in zip(person_ids, accesses, strict=True) if a.outcome == "denied"
            ]
            return Listing("denied", problem=denied[0].problem, decision=denied[0].decision,
                           withheld=refused)
        return Listing("found" if people else "not_found", people,
                       decision=accesses[0].decision if accesses else None, total=len(people))

    def _view(self, account: Account, person_id: UUID, purpose: str | None) -> Access:
        """Decide, decrypt and mask one person; append no audit record."""
        located = self._reader.read(person_id, ())
        if located is None or "village_code" not in located.clear:
            return Access("not_found",
                          problem=_problem("PERSON_NOT_FOUND", "没有这个人员。", "No such person."))
        village = str(located.clear["village_code"])
        minor = self._is_minor(person_id, located.clear.get("birth_year"))
        decision = decide(self._policy, principal_of(account), Request(
            "person.read", purpose=purpose, village_code=village, subject_is_minor=minor))
        if not decision.allowed:
            return Access(
                "denied",
                problem=_problem(decision.reason_code, decision.reason_zh, decision.reason_en),
                decision=decision,
            )
        return Access("found", person=self._render(person_id, village, decision.fields),
                      decision=decision)

    def _render(self, person_id: UUID, village: str, granted: Mapping[str, str]) -> PersonView:
        """Decrypt only the granted fields of one person and mask each as granted."""
        personal = [key for key in granted if key not in _CLEAR_KEYS]
        read = self._reader.read(person_id, personal)
        assert read is not None  # it existed a moment ago and events are never deleted
        values = {**{k: v for k, v in read.clear.items() if k in _CLEAR_KEYS}, **read.fields}
        ordered = _in_catalogue_order(granted)
        shown = {
            key: apply_mask(mask, _displayable(values.get(key)),
                            self._mask_context(key, values, village, person_id))
            for key, mask in ordered
        }
        return PersonView(person_id, village, shown, dict(ordered))

    def _mask_context(
        self, key: str, values: Mapping[str, object], village: str, person_id: UUID
    ) -> MaskContext:
        # An address that names no township is masked to its county, which is the
        # county of that address (a move place, say), not of the home village.
        division = values.get(_ADDRESS_DIVISION.get(key, "village_code")) or village
        return MaskContext(today=self._services.clock.today(), division_code=str(division),
                           county_name=self._counties.name, subject_id=person_id)

    def _is_minor(self, person_id: UUID, birth_year: object) -> bool | None:
        today = self._services.clock.today()
        if not isinstance(birth_year, int):
            return None
        age_by_year = today.year - birth_year
        if age_by_year > self._policy.minor_age:
            return False
        if age_by_year < self._policy.minor_age:
            return True
        # In a boundary year only the exact birth date decides, so decrypt just that field.
        read = self._reader.read(person_id, ["birth_date"])
        born = read.fields.get("birth_date") if read else None
        if not isinstance(born, date):
            return None
        return (today.month, today.day) < (born.month, born.day)

    def _finish_listing(
        self, account: Account, action: str, purpose: str | None, request_id: str,
        listing: Listing,
    ) -> Listing:
        # A list or search is one access: one record naming every subject returned,
        # or, when denied, every subject the account was refused.
        subjects = [p.person_id for p in listing.people] or listing.withheld
        fields = sorted({key for p in listing.people for key in p.fields})
        self._record(account, action, purpose, request_id, listing.outcome,
                     [str(s) for s in subjects], fields, listing.problem, listing.decision)
        return listing

    def _record(
        self, account: Account, action: str, purpose: str | None, request_id: str,
        outcome: str, subject_ids: list[str], fields: list[str], problem: Problem | None,
        decision: Decision | None,
    ) -> None:
        self._services.audit.append(AuditRecord(
            action=action,
            outcome=outcome,
            request_id=request_id,
            account_id=account.account_id,
            account_name=account.name,
            role=",".join(account.roles),
            office=account.jurisdiction,
            purpose=purpose,
            subject_ids=subject_ids,
            fields=fields,
            reason=problem.code if problem else None,
            policy_version=decision.policy_version if decision else self._policy.version,
        ))

    def _finish(
        self,
        account: Account,
        action: str,
        purpose: str | None,
        request_id: str,
        access: Access,
        subject: UUID | None = None,
    ) -> Access:
        fields = sorted(access.person.fields) if access.person else []
        self._record(account, action, purpose, request_id, access.outcome,
                     [str(subject)] if subject else [], fields, access.problem, access.decision)
        return access


_ADDRESS_DIVISION = {"current_address": "current_county", "move_place": "move_county"}
_CLEAR_KEYS = frozenset({"village_code", "sex", "birth_year", "resident_category", "record_status"})
# Fields a village list page displays per resident; a single read displays all allowed fields.
LIST_FIELDS = frozenset({"name", "sex", "birth_date", "id_number", "relationship",
                         "household_number", "record_status"})
_ORDER = {f.key: i for i, f in enumerate(FIELDS)}


def _in_catalogue_order(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return the person's own fields in catalogue order (household fields are not theirs)."""
    own = [
        (key, mask) for key, mask in fields.items()
        if key in _ORDER and FIELDS_BY_KEY[key].subject == "person"
    ]
    return sorted(own, key=lambda item: _ORDER[item[0]])


def _displayable(value: object) -> str | date | None:
    if value is None or isinstance(value, (str, date)):
        return value
    return str(value)
