"""Field envelopes: round trips, binding to subject, field and event, and tampering."""

from __future__ import annotations

import struct
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from vault.crypto import FieldCipher, decode_value, encode_value, envelope_key_version
from vault.crypto.envelope import HEADER_BYTES, MIN_ENVELOPE_BYTES, join_length_prefixed
from vault.errors import DecryptionFailed

from .strategies import (
    changed_contexts,
    data_keys,
    field_contexts,
    field_values,
    key_versions,
    plaintexts,
)

KEY = bytes(range(32))
CONTEXT: dict[str, Any] = {
    "subject_id": UUID("6f1c1d0e-8d4a-4f5e-9a51-0c6a3a2f9b11"),
    "field": "id_number",
    "originator_id": UUID("0b3e9f0c-33c2-4f6b-8a8e-52a1f0d4c7e2"),
    "originator_version": 3,
}


@given(data_keys, key_versions, plaintexts, field_contexts())
def test_decrypt_inverts_encrypt(
    key: bytes, key_version: int, plaintext: bytes, context: dict[str, Any]
) -> None:
    cipher = FieldCipher(key, key_version)

    envelope = cipher.encrypt(plaintext, **context)

    assert cipher.decrypt(envelope, **context) == plaintext


@given(field_values, field_contexts())
def test_typed_value_round_trip(value: Any, context: dict[str, Any]) -> None:
    cipher = FieldCipher(KEY, 1)

    envelope = cipher.encrypt_value(value, **context)
    decrypted = cipher.decrypt_value(envelope, **context)

    assert decrypted == value
    assert type(decrypted) is type(value)


@given(plaintexts, field_contexts().flatmap(lambda c: st.tuples(st.just(c), changed_contexts(c))))
def test_envelope_fails_in_other_context(
    plaintext: bytes, contexts: tuple[dict[str, Any], tuple[str, dict[str, Any]]]
) -> None:
    context, (changed_part, other_context) = contexts
    cipher = FieldCipher(KEY, 1)
    envelope = cipher.encrypt(plaintext, **context)

    with pytest.raises(DecryptionFailed) as raised:
        cipher.decrypt(envelope, **other_context)

    assert raised.value.code == "DECRYPTION_FAILED", changed_part


@pytest.mark.parametrize(
    ("part", "other"),
    [
        ("subject_id", uuid4()),
        ("field", "name"),
        ("originator_id", uuid4()),
        ("originator_version", 4),
    ],
)
def test_envelope_bound_to_each_part(part: str, other: Any) -> None:
    cipher = FieldCipher(KEY, 1)
    envelope = cipher.encrypt(b"330102199001011234", **CONTEXT)

    with pytest.raises(DecryptionFailed):
        cipher.decrypt(envelope, **{**CONTEXT, part: other})


@given(plaintexts, st.data())
def test_any_bit_flip_fails(plaintext: bytes, data: st.DataObject) -> None:
    cipher = FieldCipher(KEY, 7)
    envelope = cipher.encrypt(plaintext, **CONTEXT)
    bit = data.draw(st.integers(min_value=0, max_value=len(envelope) * 8 - 1), label="bit")

    tampered = bytearray(envelope)
    tampered[bit // 8] ^= 1 << (bit % 8)

    with pytest.raises(DecryptionFailed):
        cipher.decrypt(bytes(tampered), **CONTEXT)


def test_every_bit_flip_fails() -> None:
    cipher = FieldCipher(KEY, 7)
    envelope = cipher.encrypt("张三".encode(), **CONTEXT)

    for bit in range(len(envelope) * 8):
        tampered = bytearray(envelope)
        tampered[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(bytes(tampered), **CONTEXT)


def test_every_truncation_fails() -> None:
    cipher = FieldCipher(KEY, 1)
    envelope = cipher.encrypt(b"13812345678", **CONTEXT)

    for length in range(len(envelope)):
        with pytest.raises(DecryptionFailed):
            cipher.decrypt(envelope[:length], **CONTEXT)


def test_short_envelope_code_is_truncated() -> None:
    cipher = FieldCipher(KEY, 1)

    with pytest.raises(DecryptionFailed) as raised:
        cipher.decrypt(b"\x01\x01\x00\x00\x00\x01", **CONTEXT)

    assert raised.value.code == "ENVELOPE_TRUNCATED"


def test_appended_byte_fails() -> None:
    cipher = FieldCipher(KEY, 1)
    envelope = cipher.encrypt(b"value", **CONTEXT)

    with pytest.raises(DecryptionFailed):
        cipher.decrypt(envelope + b"\x00", **CONTEXT)


@pytest.mark.parametrize(
    ("offset", "byte", "code"),
    [
        (0, 0, "ENVELOPE_VERSION_UNKNOWN"),
        (0, 2, "ENVELOPE_VERSION_UNKNOWN"),
        (1, 0, "ENVELOPE_ALGORITHM_UNKNOWN"),
        (1, 2, "ENVELOPE_ALGORITHM_UNKNOWN"),
    ],
)
def test_unknown_header_rejected(offset: int, byte: int, code: str) -> None:
    cipher = FieldCipher(KEY, 1)
    envelope = bytearray(cipher.encrypt(b"value", **CONTEXT))
    envelope[offset] = byte

    with pytest.raises(DecryptionFailed) as raised:
        cipher.decrypt(bytes(envelope), **CONTEXT)
    assert raised.value.code == code

    with pytest.raises(DecryptionFailed):
        envelope_key_version(bytes(envelope))


def test_other_key_fails() -> None:
    envelope = FieldCipher(KEY, 1).encrypt(b"value", **CONTEXT)

    with pytest.raises(DecryptionFailed) as raised:
        FieldCipher(bytes(32), 1).decrypt(envelope, **CONTEXT)

    assert raised.value.code == "DECRYPTION_FAILED"


def test_other_key_version_fails() -> None:
    envelope = FieldCipher(KEY, 1).encrypt(b"value", **CONTEXT)

    with pytest.raises(DecryptionFailed) as raised:
        FieldCipher(KEY, 2).decrypt(envelope, **CONTEXT)

    assert raised.value.code == "ENVELOPE_KEY_VERSION_MISMATCH"
    assert raised.value.value == "1"


@given(key_versions)
def test_key_version_readable_without_key(key_version: int) -> None:
    envelope = FieldCipher(KEY, key_version).encrypt(b"", **CONTEXT)

    assert envelope_key_version(envelope) == key_version


@given(plaintexts)
def test_same_value_encrypts_differently(plaintext: bytes) -> None:
    cipher = FieldCipher(KEY, 1)

    first = cipher.encrypt(plaintext, **CONTEXT)
    second = cipher.encrypt(plaintext, **CONTEXT)

    assert first != second
    assert first[6:HEADER_BYTES] != second[6:HEADER_BYTES]


def test_layout_matches_documentation() -> None:
    plaintext = "浙江省台州市仙居县".encode()

    envelope = FieldCipher(KEY, 0x01020304).encrypt(plaintext, **CONTEXT)

    assert envelope[0] == 1
    assert envelope[1] == 1
    assert envelope[2:6] == bytes([1, 2, 3, 4])
    assert len(envelope) == HEADER_BYTES + len(plaintext) + 16
    assert HEADER_BYTES == 18
    assert MIN_ENVELOPE_BYTES == 34


def test_decrypts_envelope_built_by_hand() -> None:
    """An envelope assembled from the documented layout, with AESGCM directly, decrypts."""
    nonce = bytes(range(100, 112))
    header = bytes([1, 1]) + struct.pack(">I", 9) + nonce

    def part(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    associated_data = (
        part(b"vault.field-envelope.v1")
        + part(header)
        + part(CONTEXT["subject_id"].bytes)
        + part(b"id_number")
        + part(CONTEXT["originator_id"].bytes)
        + part(struct.pack(">Q", 3))
    )
    envelope = header + AESGCM(KEY).encrypt(nonce, b"hand-made", associated_data)

    assert FieldCipher(KEY, 9).decrypt(envelope, **CONTEXT) == b"hand-made"


def test_error_omits_plaintext_and_cause() -> None:
    id_number = "330102199001011234"
    cipher = FieldCipher(KEY, 1)
    envelope = cipher.encrypt(id_number.encode(), **CONTEXT)

    with pytest.raises(DecryptionFailed) as raised:
        cipher.decrypt(envelope, **{**CONTEXT, "originator_version": 4})

    error = raised.value
    assert id_number not in str(error)
    assert id_number not in error.message_zh
    assert error.value is None
    assert error.field == "id_number"
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_cipher_rejects_bad_key_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher(bytes(16), 1)


@pytest.mark.parametrize("key_version", [-1, 2**32])
def test_cipher_rejects_bad_key_version(key_version: int) -> None:
    with pytest.raises(ValueError, match="key_version"):
        FieldCipher(KEY, key_version)


@pytest.mark.parametrize("originator_version", [-1, 2**64])
def test_encrypt_rejects_bad_originator_version(originator_version: int) -> None:
    with pytest.raises(ValueError, match="originator_version"):
        FieldCipher(KEY, 1).encrypt(b"", **{**CONTEXT, "originator_version": originator_version})


def test_cipher_repr_omits_key() -> None:
    text = repr(FieldCipher(KEY, 5))

    assert KEY.hex() not in text
    assert "key_version=5" in text


# -- length-prefixed parts -------------------------------------------------------


@given(st.lists(st.binary(max_size=8), max_size=5), st.lists(st.binary(max_size=8), max_size=5))
def test_length_prefixed_join_injective(first: list[bytes], second: list[bytes]) -> None:
    if first != second:
        assert join_length_prefixed(*first) != join_length_prefixed(*second)


def test_length_prefix_separates_boundaries() -> None:
    assert join_length_prefixed(b"ab", b"c") != join_length_prefixed(b"a", b"bc")
    assert join_length_prefixed(b"", b"a") != join_length_prefixed(b"a", b"")


# -- value codec -------------------------------------------------------------------


@given(field_values)
def test_value_codec_round_trip(value: Any) -> None:
    decoded = decode_value(encode_value(value))

    assert decoded == value
    assert type(decoded) is type(value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (None, b"\x00"),
        ("张三", b"\x01" + "张三".encode()),
        ("", b"\x01"),
        (date(1990, 1, 2), b"\x021990-01-02"),
        (-42, b"\x03-42"),
    ],
)
def test_value_encoding_layout(value: Any, encoded: bytes) -> None:
    assert encode_value(value) == encoded


@pytest.mark.parametrize("value", [True, datetime(2024, 1, 1, 8, 0), 1.5, b"bytes"])
def test_encode_rejects_other_types(value: Any) -> None:
    with pytest.raises(TypeError):
        encode_value(value)


@pytest.mark.parametrize(
    "encoded",
    [
        b"",
        b"\x00extra",
        b"\x04text",
        b"\x01\xff\xfe",
        b"\x0220240101",
        b"\x022024-02-30",
        b"\x03+1",
        b"\x03007",
        b"\x031_000",
        b"\x03 5",
        b"\x03",
        b"\x03abc",
    ],
)
def test_decode_rejects_noncanonical(encoded: bytes) -> None:
    with pytest.raises(DecryptionFailed) as raised:
        decode_value(encoded, field="birth_date")

    assert raised.value.code == "VALUE_DECODING_FAILED"
    assert raised.value.field == "birth_date"
    assert raised.value.__cause__ is None


@given(st.dictionaries(st.text(min_size=1, max_size=30), field_values, max_size=25),
       field_contexts())
def test_encrypt_fields_makes_the_envelopes_of_encrypt_value(
    values: dict[str, Any], context: dict[str, Any]
) -> None:
    cipher = FieldCipher(KEY, 7)
    event = {key: context[key] for key in ("subject_id", "originator_id", "originator_version")}

    sealed = cipher.encrypt_fields(values, **event)

    assert set(sealed) == {field for field, value in values.items() if value is not None}
    for field, envelope in sealed.items():
        # Each envelope opens as if encrypt_value had made it for that field, and
        # for no other field of the same event.
        assert cipher.decrypt_value(envelope, field=field, **event) == values[field]
        with pytest.raises(DecryptionFailed):
            cipher.decrypt_value(envelope, field=field + "x", **event)


def test_encrypt_fields_refuses_a_version_out_of_range() -> None:
    cipher = FieldCipher(KEY, 1)

    with pytest.raises(ValueError, match="originator_version"):
        cipher.encrypt_fields({"name": "x"}, subject_id=uuid4(), originator_id=uuid4(),
                              originator_version=2**64)
