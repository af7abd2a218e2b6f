"""Helpers that set up a registry for tests: services, accounts, imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vault.access import import_authoriser
from vault.accounts import Account
from vault.bootstrap import Services, open_services, policies_dir
from vault.clock import Clock
from vault.crypto.keyring import create_development_keyring
from vault.domain.actor import Actor
from vault.imports.service import Importer, ImportSummary
from vault.policy import load_policies
from vault.store.config import StoreConfig

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "qingxi-registration.xlsx"
QUIRKS = SAMPLE.with_name("qingxi-registration.quirks.json")
PASSWORD = "correct-horse-battery"
COUNTY = "331024"


@contextmanager
def registry(config: StoreConfig, clock: Clock) -> Iterator[Services]:
    """Create a registry with a development keyring, and close it afterwards."""
    keyring = create_development_keyring(config.keys_dir)
    services = open_services(config, clock, keyring=keyring, create=True)
    try:
        yield services
    finally:
        services.close()


def account(
    services: Services, name: str, *roles: str, jurisdiction: str = COUNTY,
    department: str | None = None,
) -> Account:
    created = services.accounts.create(name, PASSWORD, roles, jurisdiction, department)
    return created if not isinstance(created, tuple) else created[0]


def run_import(
    services: Services, clerk: Account, path: Path, *, check_only: bool = False,
    rejects: Path | None = None, parallel: bool | None = None,
) -> ImportSummary:
    """Import ``path`` as ``clerk`` the way ``vault import`` does."""
    authorise = import_authoriser(load_policies(policies_dir()), clerk)
    actor = Actor(clerk.account_id, "clerk", clerk.jurisdiction)
    importer = Importer(services, actor, authorise, check_only=check_only)
    return importer.run(path, rejects_path=rejects, parallel=parallel)
