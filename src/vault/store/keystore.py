"""The key store: each data subject's own data key, wrapped by a key-encryption key.

The store is a table apart from the event tables. A data key is committed before any
event that uses it, or in the same transaction (``take_pending``), so that no stored
event can exist without the key that reads it. A crash between a key's own commit
and its events leaves an unused key behind, which costs a row and reveals nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from vault.clock import Clock
from vault.crypto.envelope import FieldCipher
from vault.crypto.keyring import Keyring
from vault.crypto.wrap import WrappedKey, new_data_key, unwrap_data_key, wrap_data_key
from vault.errors import DataKeyMissing, KeyShredded
from vault.store.database import Database

DATA_KEY_VERSION = 1
# A shredded subject keeps a tombstone row so that a read reports "erased" rather
# than "missing". The tombstone contains no key material.
_SHREDDED = "shredded"
_LOAD_CHUNK = 500
_INSERT_KEY = (
    "INSERT INTO {data_keys} (subject_id, key_version, kek_id, wrapped, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


class KeyStore:
    """Create, cache, look up and destroy per-subject data keys."""

    def __init__(self, db: Database, keyring: Keyring, clock: Clock, cache_size: int = 50_000):
        self._db = db
        self._keyring = keyring
        self._clock = clock
        self._cache: OrderedDict[UUID, FieldCipher] = OrderedDict()
        self._cache_size = cache_size
        self._pending: dict[UUID, WrappedKey] = {}

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def prepare(self, subject_id: UUID) -> FieldCipher:
        """Make a data key for a new subject, held in memory until it is committed.

        Callers commit the key before the events that use it (``commit_pending``) or
        with them (``take_pending``); the mapper finds the key here in the meantime.
        """
        data_key = new_data_key()
        wrapped = wrap_data_key(self._keyring, data_key, subject_id=subject_id)
        self._pending[subject_id] = wrapped
        cipher = FieldCipher(data_key, DATA_KEY_VERSION)
        self._remember(subject_id, cipher)
        return cipher

    def adopt(self, subject_id: UUID, wrapped: WrappedKey) -> None:
        """Hold a key wrapped elsewhere (an import's preparing process) until it is committed.

        The key is unwrapped only when ``cipher`` needs it before the commit.
        """
        self._pending[subject_id] = wrapped

    def commit_pending(self) -> None:
        """Commit every prepared key in one transaction."""
        sql, rows = self.take_pending()
        if rows:
            with self._db.transaction() as tx:
                tx.executemany(sql, rows)

    def take_pending(self) -> tuple[str, list[tuple[Any, ...]]]:
        """Return the portable ``INSERT`` and the rows of every prepared key, and forget them.

        The caller inserts the rows in the same transaction as the events that use
        the keys (``Registry.save_with_rows``), so that a crash keeps both or
        neither. The keys stay in the cache, where the mapper finds them.
        """
        now = self._clock.now().isoformat()
        rows = [
            (str(subject_id), DATA_KEY_VERSION, wrapped.kek_id, wrapped.blob, now)
            for subject_id, wrapped in self._pending.items()
        ]
        self._pending.clear()
        return _INSERT_KEY, rows

    def discard_pending(self) -> None:
        """Forget prepared keys that will never be used (a check-only run)."""
        for subject_id in self._pending:
            self._cache.pop(subject_id, None)
        self._pending.clear()

    def create_keys(self, subject_ids: Iterable[UUID]) -> None:
        """Generate a data key for each subject and commit them all in one transaction."""
        for subject_id in subject_ids:
            self.prepare(subject_id)
        self.commit_pending()

    def load(self, subject_ids: Iterable[UUID]) -> None:
        """Unwrap and cache the keys of ``subject_ids`` with one query per 500 subjects.

        A blind-index look-up opens candidates of many subjects at once, and their
        number grows with the store, so one query per candidate cost a round trip
        each. Subjects without a usable key are skipped here, so that ``cipher``
        raises for them as before.
        """
        wanted = list(dict.fromkeys(s for s in subject_ids if s not in self._cache))
        for start in range(0, len(wanted), _LOAD_CHUNK):
            chunk = wanted[start:start + _LOAD_CHUNK]
            marks = ", ".join("?" * len(chunk))
            with self._db.transaction(commit=False) as tx:
                rows = tx.execute(
                    "SELECT subject_id, kek_id, wrapped FROM {data_keys}"  # noqa: S608  # only placeholders are interpolated
                    f" WHERE key_version = ? AND subject_id IN ({marks})",
                    (DATA_KEY_VERSION, *(str(subject_id) for subject_id in chunk)),
                ).fetchall()
            for row in rows:
                if row["kek_id"] == _SHREDDED:
                    continue
                subject_id = UUID(row["subject_id"])
                wrapped = WrappedKey(kek_id=row["kek_id"], blob=bytes(row["wrapped"]))
                data_key = unwrap_data_key(self._keyring, wrapped, subject_id=subject_id)
                self._remember(subject_id, FieldCipher(data_key, DATA_KEY_VERSION))

    def cipher(self, subject_id: UUID) -> FieldCipher:
        """Return the cipher of ``subject_id``'s data key; fail closed if there is none."""
        cached = self._cache.get(subject_id)
        if cached is not None:
            self._cache.move_to_end(subject_id)
            return cached
        adopted = self._pending.get(subject_id)
        if adopted is not None:
            data_key = unwrap_data_key(self._keyring, adopted, subject_id=subject_id)
            cipher = FieldCipher(data_key, DATA_KEY_VERSION)
            self._remember(subject_id, cipher)
            return cipher

        with self._db.transaction(commit=False) as tx:
            row = tx.execute(
                "SELECT kek_id, wrapped FROM {data_keys} WHERE subject_id = ? AND key_version = ?",
                (str(subject_id), DATA_KEY_VERSION),
            ).fetchone()
        if row is None:
            raise DataKeyMissing(
                f"数据主体 {subject_id} 的数据密钥不存在，无法解密。",
                f"No data key exists for subject {subject_id}; nothing can be decrypted.",
            )
        if row["kek_id"] == _SHREDDED:
            raise KeyShredded(
                f"数据主体 {subject_id} 的数据已被删除（密钥已销毁）。",
                f"The data of subject {subject_id} was erased (its key was destroyed).",
            )

        wrapped = WrappedKey(kek_id=row["kek_id"], blob=bytes(row["wrapped"]))
        data_key = unwrap_data_key(self._keyring, wrapped, subject_id=subject_id)
        cipher = FieldCipher(data_key, DATA_KEY_VERSION)
        self._remember(subject_id, cipher)
        return cipher

    def shred(self, subject_id: UUID) -> None:
        """Destroy ``subject_id``'s data key, leaving a tombstone without key material."""
        self._cache.pop(subject_id, None)
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {data_keys} WHERE subject_id = ?", (str(subject_id),))
            tx.execute(
                "INSERT INTO {data_keys} (subject_id, key_version, kek_id, wrapped, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (str(subject_id), DATA_KEY_VERSION, _SHREDDED, b"", self._clock.now().isoformat()),
            )

    def forget_cache(self) -> None:
        """Drop every unwrapped key held in memory."""
        self._cache.clear()

    def _remember(self, subject_id: UUID, cipher: FieldCipher) -> None:
        self._cache[subject_id] = cipher
        self._cache.move_to_end(subject_id)
        while len(self._cache) > self._cache_size:
            oldest, _ = next(iter(self._cache.items()))
            if oldest in self._pending:
                # A prepared key must stay reachable until it is committed.
                self._cache.move_to_end(oldest)
                break
            self._cache.popitem(last=False)
