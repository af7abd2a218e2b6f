"""The one place that wires real adapters into the services the entry points use."""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from vault.accounts import Accounts
from vault.audit import AuditLog
from vault.clock import Clock, SystemClock
from vault.crypto.blind_index import BlindIndexer
from vault.crypto.keyring import Keyring, load_keyring
from vault.errors import KeyringInvalid
from vault.policy import default_policy_directory
from vault.projections.residents import ResidentProjection
from vault.store.blind import BlindIndex
from vault.store.config import StoreConfig
from vault.store.registry import Store, open_store

BLIND_INDEX_BITS_SETTING = "blind_index_bits"
# A county of 500,000 residents over 2**17 buckets gives about four residents per
# digest value, so that a digest alone does not single out a person.
DEFAULT_BLIND_INDEX_BITS = 17


@dataclass
class Services:
    """Everything an entry point needs, opened together and closed together."""

    config: StoreConfig
    clock: Clock
    keyring: Keyring
    store: Store
    accounts: Accounts
    audit: AuditLog
    residents: ResidentProjection
    blind_index: BlindIndexer
    blind: BlindIndex

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_keyring(config: StoreConfig, clock: Clock) -> Keyring:
    """Load the keyring, unsealing it with ``VAULT_KEYRING_PASSPHRASE`` when it is sealed."""
    passphrase = os.environ.get("VAULT_KEYRING_PASSPHRASE")
    try:
        return load_keyring(config.keys_dir, passphrase, clock=clock)
    except KeyringInvalid as error:
        # The same environment can serve a development registry and a sealed one, so
        # a passphrase offered to a development keyring is simply not used.
        if error.code != "KEYRING_NOT_SEALED":
            raise
        return load_keyring(config.keys_dir, None, clock=clock)


def open_services(
    config: StoreConfig,
    clock: Clock | None = None,
    *,
    keyring: Keyring | None = None,
    create: bool = False,
) -> Services:
    """Open the store and build the services on it; the caller closes them."""
    clock = clock or SystemClock()
    keyring = keyring or open_keyring(config, clock)
    store = open_store(config, keyring, clock, create=create)
    try:
        _check_keyring(store, keyring)
        bits = _blind_index_bits(store)
        indexer = BlindIndexer(keyring.blind_index_key, bits)
        return Services(
            config=config,
            clock=clock,
            keyring=keyring,
            store=store,
            accounts=Accounts(store.db, clock, keyring),
            audit=AuditLog(store.db, clock),
            residents=ResidentProjection(store),
            blind_index=indexer,
            blind=BlindIndex(store.db, store.keys, indexer),
        )
    except BaseException:
        store.close()
        raise


KEYRING_CHECK_SETTING = "keyring_check"


def _key_check_value(key: bytes, purpose: bytes) -> str:
    # An HMAC of a fixed label: equal for the same key, and it reveals nothing of it.
    return hmac.new(key, b"vault.key-check.v1\x1f" + purpose, sha256).hexdigest()[:32]


def _check_keyring(store: Store, keyring: Keyring) -> None:
    """Refuse a keyring that is not this registry's own, before anything is written.

    The registry remembers a check value of its blind-index key and of every
    key-encryption key it has seen. Another registry's keyring, or one with a damaged
    key, would otherwise write records that the right keyring cannot read and miss
    every duplicate. A key-encryption key added by rotation is remembered on first use.
    """
    current = {kek.kek_id: _key_check_value(kek.key, b"kek") for kek in keyring.keks}
    current["blind_index"] = _key_check_value(keyring.blind_index_key, b"blind-index")
    with store.db.transaction() as tx:
        stored_text = tx.scalar(
            "SELECT value FROM {settings} WHERE key = ?", (KEYRING_CHECK_SETTING,))
        stored: dict[str, str] = json.loads(stored_text) if stored_text else {}
        mismatched = sorted(k for k, v in stored.items() if current.get(k, v) != v)
        missing = sorted(k for k in stored if k not in current)
        if mismatched or missing:
            names = "、".join(mismatched + missing)
            raise KeyringInvalid(
                f"密钥环与本数据库不匹配（{names}）：请用创建本数据库时的密钥环（--keys）。"
                "未做任何改动。",
                f"The keyring does not belong to this registry ({', '.join(mismatched + missing)}):"
                " use the keyring the registry was created with (--keys). Nothing was changed.",
                code="KEYRING_MISMATCH", field="--keys",
            )
        if stored != {**stored, **current}:
            merged = json.dumps({**stored, **current}, sort_keys=True)
            if stored_text is None:
                tx.execute("INSERT INTO {settings} (key, value) VALUES (?, ?)",
                           (KEYRING_CHECK_SETTING, merged))
            else:
                tx.execute("UPDATE {settings} SET value = ? WHERE key = ?",
                           (merged, KEYRING_CHECK_SETTING))


def _blind_index_bits(store: Store) -> int:
    # The width is fixed when the registry is created, because every stored digest
    # was truncated to it; changing it later would need a re-index.
    with store.db.transaction() as tx:
        value = tx.scalar("SELECT value FROM {settings} WHERE key = ?", (BLIND_INDEX_BITS_SETTING,))
        if value is None:
            value = str(DEFAULT_BLIND_INDEX_BITS)
            tx.execute(
                "INSERT INTO {settings} (key, value) VALUES (?, ?)",
                (BLIND_INDEX_BITS_SETTING, value),
            )
    return int(value)


def policies_dir() -> Path:
    """Return the policy folder: ``VAULT_POLICIES``, else ``./policies``, else the packaged copy."""
    configured = os.environ.get("VAULT_POLICIES")
    return Path(configured) if configured else default_policy_directory()
