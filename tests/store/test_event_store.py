"""The encrypted event store on the backend under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

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
from vault.store.reader import FieldReader

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
