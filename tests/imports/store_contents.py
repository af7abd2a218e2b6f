"""Read a whole registry back by content, so that two stores can be compared.

Two imports of the same rows give different random ids and different keys, so the
comparison uses what the ids stand for. A person is their decrypted fields and
clear attributes. A household is its household number and the ID numbers of its
members. A ledger entry is (file hash, sheet, row) and the ID number it registered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from vault.bootstrap import Services
from vault.domain.household import Household
from vault.domain.person import Person

PERSON_TOPIC = get_topic(Person.Registered)
HOUSEHOLD_TOPIC = get_topic(Household.Established)
CLEAR = ("village_code", "sex", "birth_year", "resident_category", "record_status")


def person_key(person: Person) -> str:
    """Return the ID number, or name and birth date for a person registered without one."""
    number = person.pii.get("id_number")
    if number:
        return str(number)
    return f"{person.pii.get('name')}|{person.pii.get('birth_date')}"


@dataclass
class StoreContents:
    """Everything an import writes, keyed by content instead of ids."""

    persons: Counter[frozenset[tuple[str, Any]]] = field(default_factory=Counter)
    households: dict[str, frozenset[str]] = field(default_factory=dict)
    ledger: dict[tuple[str, str, int], str] = field(default_factory=dict)
    residents_view: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    households_view: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    blind_rows: Counter[str] = field(default_factory=Counter)
    # Consistency findings inside one store; an empty list means consistent.
    problems: list[str] = field(default_factory=list)


def read_store(services: Services) -> StoreContents:  # noqa: PLR0912  # one check per table
    """Decrypt every person and household of ``services`` and read the side tables."""
    app = services.store.app
    contents = StoreContents()
    person_ids: list[UUID] = []
    household_ids: list[UUID] = []
    for notification in app.recorder.select_notifications(start=None, limit=10**9):
        if notification.topic == PERSON_TOPIC:
            person_ids.append(notification.originator_id)
        elif notification.topic == HOUSEHOLD_TOPIC:
            household_ids.append(notification.originator_id)

    people: dict[UUID, Person] = {}
    for person_id in person_ids:
        person = app.repository.get(person_id)
        people[person_id] = person
        clear = tuple((name, getattr(person, name)) for name in CLEAR)
        contents.persons[frozenset(person.pii.items()) | frozenset(clear)] += 1
    keys = {person_id: person_key(person) for person_id, person in people.items()}

    numbers: dict[UUID, str] = {}
    for household_id in household_ids:
        household = app.repository.get(household_id)
        number = f"{household.village_code}/{household.pii['household_number']}"
        numbers[household_id] = number
        members = [keys.get(member, f"missing:{member}") for member in household.members]
        if len(set(members)) != len(members):
            contents.problems.append(f"household {household_id} lists a member twice")
        if number in contents.households:
            contents.problems.append(f"household number {number} is registered twice")
        contents.households[number] = frozenset(members)
    for person_id, person in people.items():
        if person.household_id is not None and person_id not in app.repository.get(
                person.household_id).members:
            contents.problems.append(f"person {person_id} is missing from their household")

    with services.store.db.transaction(commit=False) as tx:
        ledger = tx.execute(
            "SELECT file_sha256, sheet, row_number, person_id, household_id FROM {import_ledger}"
        ).fetchall()
        residents = tx.execute(
            "SELECT person_id, household_id, village_code, sex, birth_year, resident_category,"
            " record_status, version FROM {residents}"
        ).fetchall()
        households = tx.execute(
            "SELECT household_id, village_code, members, version FROM {households}"
        ).fetchall()
        blind = tx.execute("SELECT kind, subject_id FROM {blind_index}").fetchall()
        key_subjects = {
            row["subject_id"] for row in tx.execute("SELECT subject_id FROM {data_keys}").fetchall()
        }

    ledgered: Counter[UUID] = Counter()
    for row in ledger:
        person_id = UUID(row["person_id"])
        ledgered[person_id] += 1
        contents.ledger[(row["file_sha256"], row["sheet"], int(row["row_number"]))] = keys.get(
            person_id, f"missing:{person_id}")
        if person_id not in people:
            contents.problems.append(
                f"ledger row {row['row_number']} names a person with no events")
        person = people.get(person_id)
        household_id = UUID(row["household_id"]) if row["household_id"] else None
        if person is not None and person.household_id != household_id:
            contents.problems.append(f"ledger row {row['row_number']} names another household")
    for person_id in people:
        if ledgered[person_id] != 1:
            contents.problems.append(
                f"person {person_id} has {ledgered[person_id]} ledger rows, expected 1")

    for row in residents:
        person_id = UUID(row["person_id"])
        household = numbers.get(UUID(row["household_id"])) if row["household_id"] else None
        contents.residents_view[keys.get(person_id, f"missing:{person_id}")] = (
            household, row["village_code"], row["sex"], row["birth_year"],
            row["resident_category"], row["record_status"], row["version"],
        )
    for row in households:
        number = numbers.get(UUID(row["household_id"]), f"missing:{row['household_id']}")
        contents.households_view[number] = (row["village_code"], row["members"], row["version"])

    subjects = set(people) | set(numbers)
    for row in blind:
        contents.blind_rows[row["kind"]] += 1
        if UUID(row["subject_id"]) not in subjects:
            contents.problems.append(f"blind-index row of kind {row['kind']} names no subject")
    for subject_id in subjects:
        if str(subject_id) not in key_subjects:
            contents.problems.append(f"subject {subject_id} has no data key")
    return contents
