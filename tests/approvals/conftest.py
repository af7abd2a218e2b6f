"""Fixtures for the approval tests: a registry, accounts and residents registered as import does.

ID numbers are synthetic: county 331024, an invented birth date and sequence, and a
computed check character.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from tests.strategies import with_check
from vault.accounts import Account
from vault.approvals import Approvals
from vault.bootstrap import Services, open_services
from vault.clock import FixedClock
from vault.crypto.keyring import create_development_keyring
from vault.domain.actor import Actor, Source
from vault.domain.idnumbers import IdNumberValid, check_id_number
from vault.domain.person import ACTIVE, Person
from vault.imports.service import ID_NUMBER
from vault.policy import PolicySet, load_policies, packaged_policy_directory
from vault.store import blind
from vault.store.config import StoreConfig

PASSWORD = "correct-horse-battery"  # noqa: S105  # a test account's password
COUNTY = "331024"
VILLAGE = "331024103201"
# Male, born 1990-01-01.
OLD_NUMBER = with_check("33102419900101001")
# Female, born 1992-03-15.
NEW_NUMBER = with_check("33102419920315002")
OTHER_NUMBER = with_check("33102419850620013")


@dataclass
class Registry:
    """Open services with the accounts and the resident most tests need."""

    services: Services
    clock: FixedClock
    policy: PolicySet
    approvals: Approvals
    clerk: Account
    reviewer: Account
    person_id: UUID

    def account(self, name: str, *roles: str, jurisdiction: str = COUNTY) -> Account:
        return self.services.accounts.create(name, PASSWORD, roles, jurisdiction)

    def register(self, number: str, village: str = VILLAGE) -> UUID:
        return register_person(self.services, number, village)


def register_person(services: Services, number: str, village: str = VILLAGE) -> UUID:
    """Register a resident with ``number`` the way the importer does: event, key, index row."""
    check = check_id_number(number, services.clock.today())
    assert isinstance(check, IdNumberValid)
    assert check.birth_date is not None
    assert check.sex is not None
    person = Person(
        village_code=village,
        sex=check.sex,
        birth_year=check.birth_date.year,
        resident_category="1",
        record_status=ACTIVE,
        household_id=None,
        actor=Actor(uuid4(), "clerk", COUNTY).as_dict(),
        source=Source(uuid4().hex).as_dict(),
        pii={"name": "测试一", "id_type": check.type.value, "id_number": check.number,
             "birth_date": check.birth_date},
    )
    cipher = services.store.keys.prepare(person.id)
    row = services.blind.row(ID_NUMBER, check.number, person.id, cipher)
    services.store.keys.commit_pending()
    services.store.app.save_with_rows(person, rows=[(blind.INSERT, [row])])
    services.residents.catch_up()
    return person.id


@pytest.fixture(scope="session")
def policy() -> PolicySet:
    return load_policies(packaged_policy_directory())


@pytest.fixture
def services(store_config: StoreConfig, clock: FixedClock) -> Iterator[Services]:
    keyring = create_development_keyring(store_config.keys_dir)
    opened = open_services(store_config, clock, keyring=keyring, create=True)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def registry(services: Services, clock: FixedClock, policy: PolicySet) -> Registry:
    return Registry(
        services=services,
        clock=clock,
        policy=policy,
        approvals=Approvals(services, policy),
        clerk=services.accounts.create("clerk1", PASSWORD, ("clerk",), COUNTY),
        reviewer=services.accounts.create("reviewer1", PASSWORD, ("reviewer",), COUNTY),
        person_id=register_person(services, OLD_NUMBER),
    )
