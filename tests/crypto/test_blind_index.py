"""Blind indexes: truncated keyed HMAC-SHA256 digests."""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault.crypto import KINDS, BlindIndexer, recommended_bits

from .strategies import index_values

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

bits_values = st.integers(min_value=8, max_value=64)
kinds = st.sampled_from(sorted(KINDS))


def test_kinds_are_the_five_searches() -> None:
    assert {
        "id_number", "name_birth_village", "name_village", "phone", "household_number"
    } == KINDS


@given(kinds, index_values, bits_values)
def test_same_input_same_digest(kind: str, value: str, bits: int) -> None:
    assert BlindIndexer(KEY, bits).digest(kind, value) == BlindIndexer(KEY, bits).digest(
        kind, value
    )


@given(kinds, index_values, bits_values)
def test_digest_within_bits(kind: str, value: str, bits: int) -> None:
    digest = BlindIndexer(KEY, bits).digest(kind, value)

    assert 0 <= digest < 2**bits


@given(st.lists(kinds, min_size=2, max_size=2, unique=True), index_values)
def test_kinds_give_different_digests(pair: list[str], value: str) -> None:
    # 64 bits, so that a chance coincidence (probability 2**-64) cannot fail the test.
    indexer = BlindIndexer(KEY, 64)

    assert indexer.digest(pair[0], value) != indexer.digest(pair[1], value)


@given(kinds, index_values)
def test_keys_give_different_digests(kind: str, value: str) -> None:
    assert BlindIndexer(KEY, 64).digest(kind, value) != BlindIndexer(OTHER_KEY, 64).digest(
        kind, value
    )


@given(kinds, index_values, bits_values)
def test_shorter_digest_is_prefix(kind: str, value: str, bits: int) -> None:
    full = BlindIndexer(KEY, 64).digest(kind, value)

    assert BlindIndexer(KEY, bits).digest(kind, value) == full >> (64 - bits)


def test_digest_matches_documented_construction() -> None:
    """Stored index rows depend on this exact construction, so it must not drift."""
    value = "33010219900101123X"
    message = (
        struct.pack(">I", len(b"id_number"))
        + b"id_number"
        + struct.pack(">I", len(value.encode()))
        + value.encode()
    )
    mac = hmac.new(KEY, message, hashlib.sha256).digest()

    assert BlindIndexer(KEY, 20).digest("id_number", value) == int.from_bytes(mac, "big") >> 236


def test_digests_spread_over_buckets() -> None:
    indexer = BlindIndexer(KEY, 8)

    counts = Counter(indexer.digest("phone", f"138{number:08d}") for number in range(10_000))

    # 10,000 values in 256 buckets: about 39 each. Bounds far outside Poisson noise.
    assert len(counts) == 256
    assert min(counts.values()) >= 10
    assert max(counts.values()) <= 80


@pytest.mark.parametrize("bits", [0, 7, 65, 128])
def test_rejects_bits_out_of_range(bits: int) -> None:
    with pytest.raises(ValueError, match="bits"):
        BlindIndexer(KEY, bits)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_rejects_bad_key_length(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        BlindIndexer(bytes(length), 16)


def test_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown blind-index kind"):
        BlindIndexer(KEY, 16).digest("name", "张三")


def test_repr_omits_key() -> None:
    text = repr(BlindIndexer(KEY, 16))

    assert KEY.hex() not in text
    assert "bits=16" in text


@pytest.mark.parametrize(
    ("population", "coincidences", "bits"),
    [
        (50_000, 4, 13),
        (500_000, 4, 16),
        (27_000_000, 4, 22),
        (1024, 4, 8),
        (2**20, 4, 18),
        (2**20 - 1, 4, 17),
        (2**20, 1, 20),
        (1, 4, 8),
        (2**80, 1, 64),
    ],
)
def test_recommended_bits_examples(population: int, coincidences: int, bits: int) -> None:
    assert recommended_bits(population, coincidences) == bits


@given(st.integers(min_value=2**10, max_value=2**60), st.integers(min_value=1, max_value=16))
def test_recommended_bits_gives_coincidences(population: int, coincidences: int) -> None:
    bits = recommended_bits(population, coincidences)
    per_bucket = population / 2**bits

    if bits > 8:
        assert per_bucket >= coincidences
        assert per_bucket < 2 * coincidences + 1


@pytest.mark.parametrize(("population", "coincidences"), [(0, 4), (-5, 4), (100, 0)])
def test_recommended_bits_rejects_bad_input(population: int, coincidences: int) -> None:
    with pytest.raises(ValueError):
        recommended_bits(population, coincidences)
