"""The enforcement point in use: decide, read only what is allowed, mask, audit.

Every read of personal data goes through a ``Gate``: it asks ``vault.policy.decide``
for a decision, decrypts only the fields the decision names, masks each as the
decision says, and appends exactly one audit record for the access, allowed or
denied. The CLI uses it now; the HTTP API, the web pages and extracts use the same
methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from vault.accounts import Account
from vault.audit import AuditRecord
from vault.bootstrap import Services
from vault.domain.fields import FIELDS, FIELDS_BY_KEY
from vault.domain.idnumbers import normalise_id_number
from vault.errors import InvalidValue, Problem
from vault.imports.service import ID_NUMBER
from vault.policy import Decision, MaskContext, PolicySet, Principal, Request, apply_mask, decide
from vault.reference import county_codes
from vault.store.reader import FieldReader

Outcome = Literal["found", "denied", "not_found", "invalid"]
# The audit action of a look-up by ID number, one record per number looked up.
LOOKUP = "person.lookup"


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


def _problem(code: str, zh: str, en: str, field_name: str | None = None) -> Problem:
    return Problem(code, field_name, zh, en)


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
        principal = principal_of(account)
        action = audit_action
        located = self._reader.read(person_id, ())
        if located is None or "village_code" not in located.clear:
            return self._finish(account, action, purpose, request_id, Access(
                "not_found",
                problem=_problem("PERSON_NOT_FOUND", "没有这个人员。", "No such person."),
            ), subject=person_id)
        village = str(located.clear["village_code"])
        minor = self._is_minor(person_id, located.clear.get("birth_year"))
        decision = decide(self._policy, principal, Request(
            "person.read", purpose=purpose, village_code=village, subject_is_minor=minor))
        if not decision.allowed:
            return self._finish(account, action, purpose, request_id, Access(
                "denied",
                problem=_problem(decision.reason_code, decision.reason_zh, decision.reason_en),
                decision=decision,
            ), subject=person_id)

        clear_keys = {"village_code", "sex", "birth_year", "resident_category", "record_status"}
        personal = [key for key in decision.fields if key not in clear_keys]
        read = self._reader.read(person_id, personal)
        assert read is not None  # it existed a moment ago and events are never deleted
        values = {**{k: v for k, v in read.clear.items() if k in clear_keys}, **read.fields}
        shown = {
            key: apply_mask(mask, _displayable(values.get(key)),
                            self._mask_context(key, values, village, person_id))
            for key, mask in _in_catalogue_order(decision.fields)
        }
        view = PersonView(person_id, village, shown, dict(_in_catalogue_order(decision.fields)))
        return self._finish(account, action, purpose, request_id,
                            Access("found", person=view, decision=decision), subject=person_id)

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
        # A boundary year: only the exact birth date tells, so decrypt just that.
        read = self._reader.read(person_id, ["birth_date"])
        born = read.fields.get("birth_date") if read else None
        if not isinstance(born, date):
            return None
        return (today.month, today.day) < (born.month, born.day)

    def _finish(
        self,
        account: Account,
        action: str,
        purpose: str | None,
        request_id: str,
        access: Access,
        subject: UUID | None = None,
    ) -> Access:
        decision = access.decision
        fields = sorted(access.person.fields) if access.person else []
        self._services.audit.append(AuditRecord(
            action=action,
            outcome=access.outcome,
            request_id=request_id,
            account_id=account.account_id,
            account_name=account.name,
            role=",".join(account.roles),
            office=account.jurisdiction,
            purpose=purpose,
            subject_ids=[str(subject)] if subject else [],
            fields=fields,
            reason=access.problem.code if access.problem else None,
            policy_version=decision.policy_version if decision else self._policy.version,
        ))
        return access


_ADDRESS_DIVISION = {"current_address": "current_county", "move_place": "move_county"}
_ORDER = {f.key: i for i, f in enumerate(FIELDS)}


def _in_catalogue_order(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """Return the person's own fields in catalogue order (household fields are not theirs)."""
    own = [(k, m) for k, m in fields.items() if k in _ORDER and FIELDS_BY_KEY[k].subject == "person"]
    return sorted(own, key=lambda item: _ORDER[item[0]])


def _displayable(value: object) -> str | date | None:
    if value is None or isinstance(value, (str, date)):
        return value
    return str(value)
