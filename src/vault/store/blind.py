"""Blind indexes: exact-match look-up of encrypted values by truncated keyed digest.

A digest is HMAC-SHA256 under the keyring's blind-index key, truncated so that each
digest value is shared by a few residents: the table alone cannot single anybody out.
Each row also contains the value itself, encrypted under the subject's key, so a look-up
decrypts the few candidates and compares exactly.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any
from uuid import UUID

from vault.crypto.blind_index import BlindIndexer
from vault.crypto.envelope import FieldCipher, decode_value
from vault.errors import KeysError
from vault.store.database import Database
from vault.store.keystore import KeyStore

INSERT = "INSERT INTO {blind_index} (kind, digest, subject_id, envelope) VALUES (?, ?, ?, ?)"
_CHUNK = 500


def _field(kind: str) -> str:
    return f"blind:{kind}"


def index_rows(
    indexer: BlindIndexer, values: dict[str, str], subject_id: UUID, cipher: FieldCipher
) -> list[tuple[Any, ...]]:
    """Return the ``INSERT`` parameters that index each kind's value for ``subject_id``.

    ``values`` maps blind-index kind to normalised value, and ``cipher`` has the
    subject's data key. The rows need no store, so an import builds them in the
    process that prepares rows.
    """
    # Version 0 marks the index entry: no event has version 0, so an index
    # envelope can never be taken for a field of an event, nor the reverse.
    envelopes = cipher.encrypt_fields(
        {_field(kind): value for kind, value in values.items()},
        subject_id=subject_id, originator_id=subject_id, originator_version=0,
    )
    subject = str(subject_id)
    return [(kind, indexer.digest(kind, value), subject, envelopes[_field(kind)])
            for kind, value in values.items()]


class BlindIndex:
    """Write and query the ``vault_blind_index`` table."""

    def __init__(self, db: Database, keys: KeyStore, indexer: BlindIndexer) -> None:
        self._db = db
        self._keys = keys
        self._indexer = indexer

    def row(self, kind: str, value: str, subject_id: UUID, cipher: FieldCipher) -> tuple[Any, ...]:
        """Return the row that indexes ``value`` for ``subject_id``, to insert with its events."""
        return index_rows(self._indexer, {kind: value}, subject_id, cipher)[0]

    def find(
        self, kind: str, values: Iterable[str], *, known_other: Container[int] = ()
    ) -> dict[str, list[UUID]]:
        """Return, for each of ``values`` that is stored, the subjects that hold it.

        ``known_other`` contains the ``UUID.int`` of subjects that have none of
        ``values``, as far as the caller has checked. Their rows are skipped without
        loading their keys. An import passes the subjects it registered itself, whose
        values it has already compared.
        """
        wanted: dict[int, set[str]] = {}
        for value in values:
            wanted.setdefault(self._indexer.digest(kind, value), set()).add(value)
        matches: dict[str, list[UUID]] = {}
        digests = list(wanted)
        for start in range(0, len(digests), _CHUNK):
            chunk = digests[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            with self._db.transaction(commit=False) as tx:
                rows = tx.execute(
                    "SELECT digest, subject_id, envelope FROM {blind_index}"  # noqa: S608  # only placeholders are interpolated
                    f" WHERE kind = ? AND digest IN ({marks})",
                    (kind, *chunk),
                ).fetchall()
            candidates = [(UUID(row["subject_id"]), row) for row in rows]
            if known_other:
                candidates = [(s, row) for s, row in candidates if s.int not in known_other]
            self._keys.load(subject_id for subject_id, _row in candidates)
            for subject_id, row in candidates:
                stored = self._open(kind, subject_id, bytes(row["envelope"]))
                if stored is not None and stored in wanted[int(row["digest"])]:
                    matches.setdefault(stored, []).append(subject_id)
        return matches

    def delete(self, subject_id: UUID) -> None:
        """Remove every index row of ``subject_id`` (erasure)."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {blind_index} WHERE subject_id = ?", (str(subject_id),))

    def _open(self, kind: str, subject_id: UUID, envelope: bytes) -> str | None:
        try:
            cipher = self._keys.cipher(subject_id)
        except KeysError:
            # An erased subject's row (or one whose key is gone) is not a match; the
            # candidates that can be read still are.
            return None
        plaintext = cipher.decrypt(
            envelope, subject_id=subject_id, field=_field(kind),
            originator_id=subject_id, originator_version=0,
        )
        return str(decode_value(plaintext))
