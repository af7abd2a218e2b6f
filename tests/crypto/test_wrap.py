"""Data keys wrapped under the keyring's KEKs, bound to their subject."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vault.crypto import (
    Keyring,
    WrappedKey,
    create_development_keyring,
    load_keyring,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from vault.crypto.wrap import WRAPPED_BLOB_BYTES
from vault.errors import DecryptionFailed, KeyringInvalid

from .strategies import data_keys, subject_ids


@given(data_keys, subject_ids)
def test_unwrap_inverts_wrap(module_keyring: Keyring, data_key: bytes, subject_id: UUID) -> None:
    wrapped = wrap_data_key(module_keyring, data_key, subject_id=subject_id)

    assert unwrap_data_key(module_keyring, wrapped, subject_id=subject_id) == data_key
    assert wrapped.kek_id == module_keyring.active_kek.kek_id
    assert len(wrapped.blob) == WRAPPED_BLOB_BYTES


@given(data_keys, subject_ids, subject_ids)
def test_unwrap_fails_for_other_subject(
    module_keyring: Keyring, data_key: bytes, subject_id: UUID, other_subject_id: UUID
) -> None:
    assume(subject_id != other_subject_id)
    wrapped = wrap_data_key(module_keyring, data_key, subject_id=subject_id)

    with pytest.raises(DecryptionFailed) as raised:
        unwrap_data_key(module_keyring, wrapped, subject_id=other_subject_id)

    assert raised.value.code == "DATA_KEY_UNWRAP_FAILED"


@given(data_keys, subject_ids)
def test_unwrap_fails_with_other_keyring(
    module_keyring: Keyring, other_module_keyring: Keyring, data_key: bytes, subject_id: UUID
) -> None:
    wrapped = wrap_data_key(module_keyring, data_key, subject_id=subject_id)
    assert other_module_keyring.active_kek.kek_id == wrapped.kek_id

    with pytest.raises(DecryptionFailed):
        unwrap_data_key(other_module_keyring, wrapped, subject_id=subject_id)


def test_every_bit_flip_fails(module_keyring: Keyring) -> None:
    subject_id = uuid4()
    wrapped = wrap_data_key(module_keyring, new_data_key(), subject_id=subject_id)

    for bit in range(len(wrapped.blob) * 8):
        blob = bytearray(wrapped.blob)
        blob[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(DecryptionFailed):
            unwrap_data_key(
                module_keyring, WrappedKey(wrapped.kek_id, bytes(blob)), subject_id=subject_id
            )


@pytest.mark.parametrize("length", [0, 1, 13, WRAPPED_BLOB_BYTES - 1, WRAPPED_BLOB_BYTES + 1])
def test_wrong_blob_length_fails(module_keyring: Keyring, length: int) -> None:
    subject_id = uuid4()
    wrapped = wrap_data_key(module_keyring, new_data_key(), subject_id=subject_id)
    blob = (wrapped.blob + b"\x00")[:length]

    with pytest.raises(DecryptionFailed):
        unwrap_data_key(module_keyring, WrappedKey(wrapped.kek_id, blob), subject_id=subject_id)


def test_unknown_kek_id_raises_not_found(module_keyring: Keyring) -> None:
    subject_id = uuid4()
    wrapped = wrap_data_key(module_keyring, new_data_key(), subject_id=subject_id)

    with pytest.raises(KeyringInvalid) as raised:
        unwrap_data_key(module_keyring, WrappedKey("kek-99", wrapped.blob), subject_id=subject_id)

    assert raised.value.code == "KEK_NOT_FOUND"
    assert raised.value.value == "kek-99"
    assert "kek-99" in raised.value.message_en


def test_relabelled_kek_id_fails(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    subject_id = uuid4()
    wrapped = wrap_data_key(keyring, new_data_key(), subject_id=subject_id)
    keyring.rotate()

    with pytest.raises(DecryptionFailed):
        unwrap_data_key(keyring, WrappedKey("kek-2", wrapped.blob), subject_id=subject_id)


def test_rotation_keeps_old_keys_unwrappable(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    subject_id = uuid4()
    data_key = new_data_key()
    old_wrapped = wrap_data_key(keyring, data_key, subject_id=subject_id)

    keyring.rotate()
    new_wrapped = wrap_data_key(keyring, data_key, subject_id=subject_id)
    reloaded = load_keyring(keys_dir)

    assert old_wrapped.kek_id == "kek-1"
    assert new_wrapped.kek_id == "kek-2"
    assert unwrap_data_key(keyring, old_wrapped, subject_id=subject_id) == data_key
    assert unwrap_data_key(reloaded, old_wrapped, subject_id=subject_id) == data_key
    assert unwrap_data_key(reloaded, new_wrapped, subject_id=subject_id) == data_key


def test_new_data_keys_random() -> None:
    keys = {new_data_key() for _ in range(100)}

    assert len(keys) == 100
    assert all(len(key) == 32 for key in keys)


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_wrap_rejects_bad_key_length(module_keyring: Keyring, length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_data_key(module_keyring, bytes(length), subject_id=uuid4())


@given(st.data())
def test_wraps_of_same_key_differ(module_keyring: Keyring, data: st.DataObject) -> None:
    data_key = data.draw(data_keys)
    subject_id = data.draw(subject_ids)

    first = wrap_data_key(module_keyring, data_key, subject_id=subject_id)
    second = wrap_data_key(module_keyring, data_key, subject_id=subject_id)

    assert first.blob != second.blob
