"""The encrypted event store on the backend under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from tests.conftest import TODAY
from tests.support import registry
from vault.bootstrap import Services
from vault.clock import FixedClock
from vault.domain.household import Household, SecondHead
from vault.domain.person import ACTIVE, Person
from vault.bootstrap import open_services
from vault.crypto.keyring import create_development_keyring
from vault.errors import DataKeyMissing, DecryptionFailed, KeyringInvalid
from vault.projections.residents import ResidentProjection, _Overtaken
from vault.store.config import StoreConfig
from vault.imports.service import _INSERT_LEDGER as LEDGER_INSERT
from vault.store.blind import INSERT as BLIND_INSERT
from vault.store.mapper import SealedFields, seal_fields
from vault.store.reader import FieldReader
from vault.store.recorders import _PLAIN_INSERT

PII = {"name": "测试甲", "birth_date": date(1980, 3, 15), "id_number": "331024198003152315"}


@pytest.fixture
def services(store_config: StoreConfig) -> Iterator[Services]:
    with registry(store_config, FixedClock(TODAY)) as opened:
        yield opened


def _person(pii: dict[str, object] | None = None) -> Person:
    return Person(
        village_code="331024103201", sex="1", birth_year=1980, resident_category="1",
        record_status=ACTIVE, household_id=None, actor={"account_id": str(uuid4())},
        source={"batch_id": "test"}, pii=dict(pii or PII),
    )


def _save(services: Services, *aggregates: Person | Household) -> None:
    services.store.keys.create_keys(a.id for a in aggregates)
    services.store.app.save(*aggregates)


def test_fields_round_trip(services: Services) -> None:
    """A saved person reads back with every personal field as it was."""
    person = _person()
    _save(services, person)
    services.store.keys.forget_cache()

    loaded = services.store.app.repository.get(person.id)

    assert loaded.pii == PII
    assert loaded.village_code == "331024103201"


def test_stored_state_holds_envelopes(services: Services) -> None:
    """The stored event keeps clear metadata and one opaque envelope per personal field."""
    person = _person()
    _save(services, person)

    stored = services.store.app.recorder.select_events(person.id)[0]
    state = json.loads(stored.state)

    assert state["village_code"] == "331024103201"
    assert sorted(state["pii"]) == sorted(PII)
    assert all(value not in stored.state.decode("utf-8") for value in ("测试甲", PII["id_number"]))


def test_missing_key_saves_nothing(services: Services) -> None:
    """Saving an event whose subject has no data key fails closed and stores nothing."""
    person = _person()

    with pytest.raises(DataKeyMissing):
        services.store.app.save(person)

    assert services.store.app.recorder.select_events(person.id) == []


def test_envelope_moved_between_people_fails(services: Services) -> None:
    """Copying one person's sealed field into another person's event fails to decrypt."""
    first, second = _person(), _person({"name": "测试乙"})
    _save(services, first, second)
    recorder = services.store.app.recorder
    stolen = json.loads(recorder.select_events(first.id)[0].state)["pii"]["name"]
    target = recorder.select_events(second.id)[0]
    state = json.loads(target.state)
    state["pii"]["name"] = stolen
    tampered = type(target)(target.originator_id, target.originator_version, target.topic,
                            json.dumps(state, ensure_ascii=False).encode("utf-8"))

    with pytest.raises(DecryptionFailed):
        services.store.app.mapper.to_domain_event(tampered)


def test_shredded_subject_reads_erased(services: Services) -> None:
    """After its key is destroyed a person's events remain but their fields read as erased."""
    person = _person()
    _save(services, person)

    services.store.keys.shred(person.id)
    read = FieldReader(services.store).read(person.id, ["name"])

    assert read is not None
    assert read.erased
    assert read.fields == {}
    assert services.store.app.recorder.select_events(person.id) != []


def test_reader_decrypts_only_asked_fields(services: Services) -> None:
    """The field reader returns just the requested personal fields."""
    person = _person()
    _save(services, person)

    read = FieldReader(services.store).read(person.id, ["name"])

    assert read is not None
    assert read.fields == {"name": "测试甲"}
    assert read.clear["village_code"] == "331024103201"


def test_household_refuses_second_head(services: Services) -> None:
    """A household with a head rejects a second head."""
    household = Household(village_code="331024103201", actor={}, source={}, pii={})
    household.add_member(uuid4(), "02", {}, {})

    with pytest.raises(SecondHead):
        household.add_member(uuid4(), "02", {}, {})


def test_projection_applies_each_event_once(services: Services) -> None:
    """Two projection runners catching up in turn never count an event twice."""
    household = Household(village_code="331024103201", actor={}, source={}, pii={})
    people = [_person() for _ in range(3)]
    for person in people:
        household.add_member(person.id, None, {}, {})
    _save(services, household, *people)
    first = ResidentProjection(services.store, batch_size=2)
    second = ResidentProjection(services.store, batch_size=2)

    applied = first.catch_up() + second.catch_up() + first.catch_up()

    with services.store.db.transaction(commit=False) as tx:
        members = tx.scalar("SELECT members FROM {households} WHERE household_id = ?",
                            (str(household.id),))
        persons = tx.scalar("SELECT COUNT(*) FROM {residents}")
    assert applied == 7  # one Established, three MemberJoined, three Registered
    assert members == 3
    assert persons == 3


def test_projection_overtaken_rolls_back(services: Services) -> None:
    """A runner whose position moved under it applies nothing and starts again."""
    people = [_person() for _ in range(2)]
    _save(services, *people)
    slow = ResidentProjection(services.store)
    fast = ResidentProjection(services.store)
    notifications = services.store.app.recorder.select_notifications(start=None, limit=10)
    fast.catch_up()

    with pytest.raises(_Overtaken):
        slow._apply(0, notifications)  # noqa: SLF001  # the race is what is under test

    with services.store.db.transaction(commit=False) as tx:
        assert tx.scalar("SELECT COUNT(*) FROM {residents}") == 2


def test_ids_are_random(services: Services) -> None:
    """Aggregate ids are random UUIDs (version 4), never derived from a number."""
    person = _person()

    assert isinstance(person.id, UUID)
    assert person.id.version == 4


def test_foreign_keyring_refused(store_config: StoreConfig, tmp_path: Path) -> None:
    """Opening a registry with another registry's keyring fails before anything is written."""
    with registry(store_config, FixedClock(TODAY)):
        pass
    foreign = create_development_keyring(tmp_path / "other-keys")

    with pytest.raises(KeyringInvalid) as raised:
        open_services(store_config, FixedClock(TODAY), keyring=foreign)

    assert raised.value.code == "KEYRING_MISMATCH"


def test_own_keyring_reopens(store_config: StoreConfig) -> None:
    """The keyring the registry was created with opens it again, also after a rotation."""
    with registry(store_config, FixedClock(TODAY)) as services:
        keyring = services.keyring
    keyring.rotate()

    with open_services(store_config, FixedClock(TODAY), keyring=keyring) as reopened:
        assert reopened.keyring.active_kek.kek_id == "kek-2"


def test_household_members_join_in_one_event(services: Services) -> None:
    """add_members records several members and their head; a replay gives them back."""
    household = Household(village_code="331024103201", actor={}, source={}, pii={})
    people = [_person() for _ in range(3)]
    household.add_members([p.id for p in people], people[1].id, {}, {"batch_id": "test"})
    _save(services, household, *people)
    services.store.keys.forget_cache()

    loaded = services.store.app.repository.get(household.id)

    assert loaded.members == [p.id for p in people]
    assert loaded.head == people[1].id
    assert loaded.version == 2
    # The head's id is the household's personal data: sealed, not in the clear.
    stored = services.store.app.recorder.select_events(household.id)[-1].state
    assert str(people[1].id).encode() not in stored
    with pytest.raises(SecondHead):
        loaded.add_member(uuid4(), "02", {}, {})
    with pytest.raises(SecondHead):
        new = uuid4()
        loaded.add_members([new], new, {}, {})


def test_household_head_must_be_a_new_member() -> None:
    household = Household(village_code="331024103201", actor={}, source={}, pii={})

    with pytest.raises(ValueError, match="head"):
        household.add_members([uuid4()], uuid4(), {}, {})


def test_projection_counts_batch_joins(services: Services) -> None:
    """The household view counts every member of a MembersJoined event."""
    household = Household(village_code="331024103201", actor={}, source={}, pii={})
    people = [_person() for _ in range(4)]
    household.add_members([p.id for p in people[:3]], None, {}, {})
    household.add_member(people[3].id, None, {}, {})
    _save(services, household, *people)

    ResidentProjection(services.store).catch_up()

    with services.store.db.transaction(commit=False) as tx:
        members = tx.scalar("SELECT members FROM {households} WHERE household_id = ?",
                            (str(household.id),))
    assert members == 4


def test_sealed_fields_bound_to_their_event(services: Services) -> None:
    """Fields sealed for one event are refused on another subject or version."""
    person_id = uuid4()
    services.store.keys.create_keys([person_id])
    cipher = services.store.keys.cipher(person_id)
    sealed = seal_fields(cipher, {"name": "测试乙"}, subject_id=person_id,
                         originator_id=person_id, originator_version=1)
    attributes = {
        "village_code": "331024103201", "sex": "2", "birth_year": 1990,
        "resident_category": "1", "record_status": ACTIVE, "household_id": None,
        "actor": {}, "source": {},
    }
    wrong = SealedFields(sealed, subject_id=person_id, originator_id=person_id,
                         originator_version=2)
    with pytest.raises(ValueError, match="another subject or event"):
        services.store.app.save_with_rows(
            events=[Person.registered_event(person_id, pii=wrong, **attributes)])

    right = SealedFields(sealed, subject_id=person_id, originator_id=person_id,
                         originator_version=1)
    services.store.app.save_with_rows(
        events=[Person.registered_event(person_id, pii=right, **attributes)])
    services.store.keys.forget_cache()
    assert services.store.app.repository.get(person_id).pii == {"name": "测试乙"}


def test_keys_roll_back_with_failed_save(services: Services) -> None:
    """Keys inserted in the events' transaction roll back with them."""
    person = _person()
    services.store.keys.prepare(person.id)

    def fail(_tx: object, _saved: object) -> None:
        raise RuntimeError("stop before commit")

    with pytest.raises(RuntimeError, match="stop before commit"):
        services.store.app.save_with_rows(
            person, rows=[services.store.keys.take_pending()], after_insert=fail)

    with services.store.db.transaction(commit=False) as tx:
        assert tx.scalar("SELECT COUNT(*) FROM {data_keys}") == 0
    assert services.store.app.recorder.select_events(person.id) == []


def test_view_applies_saved_events_in_order(services: Services) -> None:
    """apply_saved moves the view in the save's transaction only from the position before."""
    projection = ResidentProjection(services.store)
    first, second = _person(), _person()
    applied: list[bool] = []

    def project(tx: Any, saved: Any) -> None:
        applied.append(projection.apply_saved(tx, saved))

    services.store.keys.create_keys([first.id, second.id])
    services.store.app.save_with_rows(first, after_insert=project)
    # An event saved without the view leaves it behind: the next one cannot jump it.
    services.store.app.save(second)
    third = _person()
    services.store.keys.create_keys([third.id])
    services.store.app.save_with_rows(third, after_insert=project)

    assert applied == [True, False]
    assert projection.position() == 1
    assert projection.catch_up() == 2
    with services.store.db.transaction(commit=False) as tx:
        assert tx.scalar("SELECT COUNT(*) FROM {residents}") == 3


@pytest.mark.parametrize(("sql", "plain"), [
    ('INSERT INTO "s"."vault_blind_index" (kind, digest, subject_id, envelope)'
     " VALUES (%s, %s, %s, %s)", True),
    ('INSERT INTO "s"."vault_households" (household_id, members) VALUES (%s, 0)', False),
    ('INSERT INTO "s"."vault_settings" (key, value) VALUES (%s, %s)'
     " ON CONFLICT (key) DO NOTHING", False),
])
def test_copy_only_plain_inserts(sql: str, plain: bool) -> None:
    """COPY replaces only an INSERT of one placeholder per column, nothing else."""
    assert (_PLAIN_INSERT.fullmatch(sql) is not None) is plain


def test_blind_find_skips_known_subjects(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """find() skips the rows of subjects in known_other without loading their keys."""
    mine, theirs = uuid4(), uuid4()
    services.store.keys.create_keys([mine, theirs])
    rows = [services.blind.row("id_number", "331024199001011234", subject,
                               services.store.keys.cipher(subject)) for subject in (mine, theirs)]
    services.store.app.save_with_rows(rows=[(BLIND_INSERT, rows)])
    services.store.keys.forget_cache()
    loaded: list[UUID] = []
    load = services.store.keys.load

    def recording_load(subject_ids: Any) -> None:
        requested = list(subject_ids)
        loaded.extend(requested)
        load(requested)

    monkeypatch.setattr(services.store.keys, "load", recording_load)

    found = services.blind.find("id_number", ["331024199001011234"], known_other={mine.int})

    assert found == {"331024199001011234": [theirs]}
    assert loaded == [theirs]


def test_save_conflict_keeps_no_rows(services: Services) -> None:
    """A version conflict rolls back the whole save, its extra rows included."""
    person = _person()
    _save(services, person)
    stale = services.store.app.repository.get(person.id)
    again = services.store.app.repository.get(person.id)
    for loaded in (stale, again):
        loaded.correct_id_number("1", 1980, {}, {}, {"id_number": "331024198001011236"})
    services.store.app.save(again)
    ledger_row = ("f" * 64, "sheet", 1, "batch", str(person.id), None, "2026-12-04")

    with pytest.raises(IntegrityError):
        services.store.app.save_with_rows(
            stale, rows=[(LEDGER_INSERT, [ledger_row])],
            after_insert=lambda tx, saved: ResidentProjection(services.store).apply_saved(
                tx, saved))

    with services.store.db.transaction(commit=False) as tx:
        assert tx.scalar("SELECT COUNT(*) FROM {import_ledger}") == 0
        assert tx.scalar("SELECT COUNT(*) FROM {projection_tracking}") == 0
