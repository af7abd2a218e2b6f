"""Blind indexes: truncated keyed HMAC-SHA256 digests for exact-match search.

A digest is HMAC-SHA256 under the keyring's blind-index key over the length-prefixed
parts (kind, normalised value), cut to its first ``bits`` bits. The kind is part of
the message, so one value gives unrelated digests under different kinds.

Choosing ``bits``: with N distinct indexed values and 2**bits buckets, each bucket
contains about N / 2**bits values. The digest is kept short on purpose, so that each
bucket contains a few values (k) and a stolen index table cannot confirm a guessed ID
number or phone by itself. A lookup decrypts the k or so candidates and compares.
That gives bits = log2(N / k), rounded down, which ``recommended_bits`` computes.
Size N for the largest population the index will serve: growth only adds
candidates per lookup, while an index sized too large stops hiding values. For
k = 4, a township of 50,000 gives 13 bits, a county of 500,000 gives 16 and a
province of 27 million gives 22.
"""

from __future__ import annotations

import hmac
import struct
from functools import lru_cache
from typing import Final

from vault.crypto.envelope import join_length_prefixed

MIN_BITS: Final = 8
MAX_BITS: Final = 64
KEY_BYTES: Final = 32

KINDS: Final = frozenset(
    {"id_number", "name_birth_village", "name_village", "phone", "household_number"}
)


class BlindIndexer:
    """Computes blind-index digests under one key, truncated to ``bits`` bits.

    NOTE: with ``bits`` = 64 a digest can exceed 2**63 - 1, the maximum of a signed
    64-bit column (SQLite INTEGER, PostgreSQL bigint). Use at most 63 bits there.
    """

    __slots__ = ("_bits", "_key")

    def __init__(self, key: bytes, bits: int) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a blind-index key must be {KEY_BYTES} bytes, got {len(key)}")
        if isinstance(bits, bool) or not MIN_BITS <= bits <= MAX_BITS:
            raise ValueError(f"bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}")
        self._key = key
        self._bits = bits

    @property
    def bits(self) -> int:
        """Number of bits kept of each digest."""
        return self._bits

    def __repr__(self) -> str:
        return f"BlindIndexer(bits={self._bits})"

    def digest(self, kind: str, normalised_value: str) -> int:
        """Return the digest of ``normalised_value`` under ``kind``, in ``range(2**bits)``.

        The caller normalises the value first (upper-case check letter of an ID
        number, digits of a phone), because the digest matches only exact bytes.
        Raises ``ValueError`` for a kind not in ``KINDS``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown blind-index kind {kind!r}; expected one of {sorted(KINDS)}")

        # Step 1: HMAC-SHA256 over the length-prefixed kind and value, so that no
        # (kind, value) pair can produce the message of another pair. The kind's
        # part is the same for every value and is cached.
        value = normalised_value.encode("utf-8")
        message = b"".join((_kind_part(kind), _LENGTH.pack(len(value)), value))
        mac = hmac.digest(self._key, message, "sha256")

        # Step 2: keep the first ``bits`` bits as an unsigned integer.
        return int.from_bytes(mac[:8], "big") >> (64 - self._bits)


_LENGTH = struct.Struct(">I")


@lru_cache(maxsize=len(KINDS))
def _kind_part(kind: str) -> bytes:
    # The first part of join_length_prefixed(kind, value), for one kind.
    return join_length_prefixed(kind.encode("utf-8"))


def recommended_bits(population: int, coincidences: int = 4) -> int:
    """Return the digest length at which a bucket contains about ``coincidences`` values.

    This is floor(log2(population / coincidences)), clamped to ``MIN_BITS``..``MAX_BITS``,
    so buckets contain at least ``coincidences`` values on average unless the clamp applies.
    """
    if population < 1:
        raise ValueError(f"population must be at least 1, got {population}")
    if coincidences < 1:
        raise ValueError(f"coincidences must be at least 1, got {coincidences}")
    # Integer arithmetic: bit_length() - 1 is floor(log2(n)) for n >= 1, with no
    # floating-point rounding at powers of two.
    bucket_count = population // coincidences
    bits = bucket_count.bit_length() - 1 if bucket_count else 0
    return max(MIN_BITS, min(MAX_BITS, bits))
