"""The keyring file: development and sealed kinds, tampering, rotation, permissions."""

from __future__ import annotations

import base64
import json
import stat
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vault.clock import SHANGHAI, FixedClock
from vault.crypto import (
    DEFAULT_KDF_PARAMETERS,
    KdfParameters,
    Keyring,
    create_development_keyring,
    create_sealed_keyring,
    keyring_path,
    load_keyring,
)
from vault.crypto.keyring import DEVELOPMENT_LABEL
from vault.errors import KeyringInvalid, KeyringMissing

# Cheap Argon2id parameters so that these tests run in milliseconds.
# test_sealed_default_parameters_work uses the real defaults.
FAST_KDF = KdfParameters(time_cost=1, memory_cost=1024, parallelism=1)
PASSPHRASE = "清溪镇 correct horse battery staple"  # noqa: S105 - a test passphrase


def read_document(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(keyring_path(directory).read_text(encoding="utf-8"))
    return document


def write_document(directory: Path, document: dict[str, Any]) -> None:
    keyring_path(directory).write_text(json.dumps(document), encoding="utf-8")


def same_keys(first: Keyring, second: Keyring) -> bool:
    return [(k.kek_id, k.key, k.created_at, k.active) for k in first.keks] == [
        (k.kek_id, k.key, k.created_at, k.active) for k in second.keks
    ] and first.blind_index_key == second.blind_index_key


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- development keyring ----------------------------------------------------------


def test_development_round_trip(keys_dir: Path) -> None:
    created = create_development_keyring(keys_dir)

    loaded = load_keyring(keys_dir)

    assert same_keys(created, loaded)
    assert loaded.development
    assert all(kek.development for kek in loaded.keks)
    assert loaded.label == DEVELOPMENT_LABEL
    assert "DEVELOPMENT" in loaded.label
    assert "开发密钥环" in loaded.label


def test_development_file_marked(keys_dir: Path) -> None:
    create_development_keyring(keys_dir)

    document = read_document(keys_dir)

    assert document["development"] is True
    assert document["label"] == DEVELOPMENT_LABEL


def test_new_keyring_contents(keys_dir: Path) -> None:
    clock = FixedClock(datetime(2024, 3, 1, 10, 30, tzinfo=SHANGHAI))

    keyring = create_development_keyring(keys_dir, clock=clock)

    assert [kek.kek_id for kek in keyring.keks] == ["kek-1"]
    assert keyring.active_kek.kek_id == "kek-1"
    assert keyring.active_kek.created_at == clock.now()
    assert len(keyring.active_kek.key) == 32
    assert len(keyring.blind_index_key) == 32
    assert keyring.blind_index_key != keyring.active_kek.key


def test_two_keyrings_have_different_keys(tmp_path: Path) -> None:
    first = create_development_keyring(tmp_path / "a")
    second = create_development_keyring(tmp_path / "b")

    assert first.active_kek.key != second.active_kek.key
    assert first.blind_index_key != second.blind_index_key


def test_development_rejects_passphrase(keys_dir: Path) -> None:
    create_development_keyring(keys_dir)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir, PASSPHRASE)

    assert raised.value.code == "KEYRING_NOT_SEALED"


# -- sealed keyring ----------------------------------------------------------------


def test_sealed_round_trip(keys_dir: Path) -> None:
    created = create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)

    loaded = load_keyring(keys_dir, PASSPHRASE)

    assert same_keys(created, loaded)
    assert not loaded.development
    assert not any(kek.development for kek in loaded.keks)
    assert "DEVELOPMENT" not in loaded.label


def test_sealed_file_holds_no_key(keys_dir: Path) -> None:
    keyring = create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)

    text = keyring_path(keys_dir).read_text(encoding="utf-8")
    document = json.loads(text)

    assert base64.b64encode(keyring.active_kek.key).decode() not in text
    assert base64.b64encode(keyring.blind_index_key).decode() not in text
    assert "keys" not in document
    assert document["development"] is False
    assert document["kdf"]["algorithm"] == "argon2id"
    assert document["kdf"]["time_cost"] == FAST_KDF.time_cost
    assert len(base64.b64decode(document["kdf"]["salt"])) == 16


def test_sealed_default_parameters_work(keys_dir: Path) -> None:
    created = create_sealed_keyring(keys_dir, PASSPHRASE)

    loaded = load_keyring(keys_dir, PASSPHRASE)

    assert same_keys(created, loaded)
    assert read_document(keys_dir)["kdf"]["memory_cost"] == DEFAULT_KDF_PARAMETERS.memory_cost


def test_wrong_passphrase_rejected(keys_dir: Path) -> None:
    create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir, PASSPHRASE + "x")

    assert raised.value.code == "KEYRING_PASSPHRASE_WRONG"
    assert "passphrase" in raised.value.message_en
    assert "口令" in raised.value.message_zh


def test_missing_passphrase_rejected(keys_dir: Path) -> None:
    create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir)

    assert raised.value.code == "KEYRING_PASSPHRASE_REQUIRED"


def test_empty_passphrase_rejected(keys_dir: Path) -> None:
    with pytest.raises(KeyringInvalid) as raised:
        create_sealed_keyring(keys_dir, "", kdf_parameters=FAST_KDF)

    assert raised.value.code == "KEYRING_PASSPHRASE_EMPTY"
    assert not keyring_path(keys_dir).exists()


def test_passphrase_normalised_to_nfc(keys_dir: Path) -> None:
    composed = unicodedata.normalize("NFC", "Café")
    decomposed = unicodedata.normalize("NFD", "Café")
    assert composed != decomposed
    create_sealed_keyring(keys_dir, composed, kdf_parameters=FAST_KDF)

    loaded = load_keyring(keys_dir, decomposed)

    assert not loaded.development


def test_invalid_kdf_parameters_rejected(keys_dir: Path) -> None:
    # Argon2 needs at least 8 KiB of memory per lane.
    too_little_memory = KdfParameters(time_cost=1, memory_cost=8, parallelism=4)

    with pytest.raises(KeyringInvalid) as raised:
        create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=too_little_memory)

    assert raised.value.code == "KEYRING_KDF_INVALID"


# -- tampering and corruption ----------------------------------------------------------


def flip_base64(text: str) -> str:
    data = bytearray(base64.b64decode(text))
    data[len(data) // 2] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda d: d.update(sealed=flip_base64(d["sealed"])), "KEYRING_TAMPERED"),
        (lambda d: d["cipher"].update(nonce=flip_base64(d["cipher"]["nonce"])), "KEYRING_TAMPERED"),
        (lambda d: d.update(label="edited"), "KEYRING_TAMPERED"),
        (lambda d: d.update(extra="member"), "KEYRING_TAMPERED"),
        (lambda d: d["kdf"].update(salt=flip_base64(d["kdf"]["salt"])), "KEYRING_PASSPHRASE_WRONG"),
        (lambda d: d["kdf"].update(time_cost=2), "KEYRING_PASSPHRASE_WRONG"),
        (lambda d: d["kdf"].update(memory_cost=2**40), "KEYRING_INVALID"),
        (lambda d: d["kdf"].update(parallelism=0), "KEYRING_INVALID"),
        (lambda d: d["kdf"].update(algorithm="scrypt"), "KEYRING_INVALID"),
        (lambda d: d["cipher"].update(nonce="AAAA"), "KEYRING_INVALID"),
        (lambda d: d.update(sealed="not base64!"), "KEYRING_INVALID"),
        (lambda d: d.update(development=True), "KEYRING_INVALID"),
        (lambda d: d.pop("passphrase_check"), "KEYRING_INVALID"),
    ],
)
def test_tampered_sealed_keyring_rejected(keys_dir: Path, edit: Any, code: str) -> None:
    create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)
    document = read_document(keys_dir)
    edit(document)
    write_document(keys_dir, document)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir, None if document["development"] is True else PASSPHRASE)

    assert raised.value.code == code


def two_active(document: dict[str, Any]) -> None:
    kek = dict(document["keys"]["keks"][0])
    kek["kek_id"] = "kek-2"
    document["keys"]["keks"].append(kek)


def duplicate_kek(document: dict[str, Any]) -> None:
    kek = dict(document["keys"]["keks"][0], active=False)
    document["keys"]["keks"].append(kek)


@pytest.mark.parametrize(
    "edit",
    [
        two_active,
        duplicate_kek,
        lambda d: d["keys"]["keks"][0].update(active=False),
        lambda d: d["keys"].update(keks=[]),
        lambda d: d["keys"]["keks"][0].update(key=base64.b64encode(bytes(16)).decode()),
        lambda d: d["keys"]["keks"][0].update(key="***"),
        lambda d: d["keys"]["keks"][0].update(kek_id="key-1"),
        lambda d: d["keys"]["keks"][0].update(created_at="yesterday"),
        lambda d: d["keys"]["keks"][0].update(active="yes"),
        lambda d: d["keys"].pop("blind_index_key"),
        lambda d: d.update(format="something-else"),
        lambda d: d.update(format_version=2),
        lambda d: d.pop("development"),
        lambda d: d.pop("keys"),
    ],
)
def test_corrupted_development_keyring_rejected(keys_dir: Path, edit: Any) -> None:
    create_development_keyring(keys_dir)
    document = read_document(keys_dir)
    edit(document)
    write_document(keys_dir, document)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir)

    assert raised.value.code == "KEYRING_INVALID"
    assert str(keyring_path(keys_dir)) in raised.value.message_en


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe", b"null"])
def test_unreadable_file_rejected(keys_dir: Path, content: bytes) -> None:
    create_development_keyring(keys_dir)
    keyring_path(keys_dir).write_bytes(content)

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir)

    assert raised.value.code == "KEYRING_INVALID"
    assert raised.value.__cause__ is None


def test_truncated_file_rejected(keys_dir: Path) -> None:
    create_development_keyring(keys_dir)
    path = keyring_path(keys_dir)
    path.write_bytes(path.read_bytes()[:-40])

    with pytest.raises(KeyringInvalid):
        load_keyring(keys_dir)


def test_errors_omit_key_material(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    key_text = base64.b64encode(keyring.active_kek.key).decode()
    path = keyring_path(keys_dir)
    path.write_text(path.read_text(encoding="utf-8")[:-30], encoding="utf-8")

    with pytest.raises(KeyringInvalid) as raised:
        load_keyring(keys_dir)

    assert key_text not in str(raised.value)
    assert key_text[:8] not in raised.value.message_zh


# -- missing and existing files ----------------------------------------------------------


def test_missing_keyring_raises(keys_dir: Path) -> None:
    with pytest.raises(KeyringMissing) as raised:
        load_keyring(keys_dir)

    error = raised.value
    assert error.code == "KEYRING_MISSING"
    assert "vault init" in error.message_en
    assert "--keys" in error.message_en
    assert "vault init" in error.message_zh
    assert "--keys" in error.message_zh
    assert error.value == str(keyring_path(keys_dir))


@pytest.mark.parametrize("sealed", [False, True])
def test_create_refuses_overwrite(keys_dir: Path, sealed: bool) -> None:
    create_development_keyring(keys_dir)
    before = keyring_path(keys_dir).read_bytes()

    with pytest.raises(KeyringInvalid) as raised:
        if sealed:
            create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)
        else:
            create_development_keyring(keys_dir)

    assert raised.value.code == "KEYRING_EXISTS"
    assert keyring_path(keys_dir).read_bytes() == before


def test_create_into_file_path_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")

    with pytest.raises(KeyringInvalid) as raised:
        create_development_keyring(blocker)

    assert raised.value.code == "KEYRING_WRITE_FAILED"


# -- rotation ----------------------------------------------------------------------------


def test_rotate_adds_active_version(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    first = keyring.active_kek

    second = keyring.rotate()
    third = keyring.rotate()

    assert [kek.kek_id for kek in keyring.keks] == ["kek-1", "kek-2", "kek-3"]
    assert keyring.active_kek == third
    assert [kek.active for kek in keyring.keks] == [False, False, True]
    assert keyring.kek("kek-1").key == first.key
    assert keyring.kek("kek-2").key == second.key
    assert len({kek.key for kek in keyring.keks}) == 3


def test_rotate_saves_to_disk(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    blind_index_key = keyring.blind_index_key

    keyring.rotate()
    reloaded = load_keyring(keys_dir)

    assert same_keys(keyring, reloaded)
    assert reloaded.active_kek.kek_id == "kek-2"
    assert reloaded.blind_index_key == blind_index_key


def test_rotate_sealed_keyring(keys_dir: Path) -> None:
    keyring = create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)
    nonce_before = read_document(keys_dir)["cipher"]["nonce"]

    keyring.rotate()
    reloaded = load_keyring(keys_dir, PASSPHRASE)

    assert same_keys(keyring, reloaded)
    assert reloaded.active_kek.kek_id == "kek-2"
    assert read_document(keys_dir)["cipher"]["nonce"] != nonce_before
    with pytest.raises(KeyringInvalid):
        load_keyring(keys_dir, "wrong")


def test_rotate_rejects_changed_file(keys_dir: Path) -> None:
    first_handle = create_development_keyring(keys_dir)
    second_handle = load_keyring(keys_dir)
    second_handle.rotate()

    with pytest.raises(KeyringInvalid) as raised:
        first_handle.rotate()

    assert raised.value.code == "KEYRING_CHANGED"
    assert [kek.kek_id for kek in load_keyring(keys_dir).keks] == ["kek-1", "kek-2"]


# -- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sealed", [False, True])
def test_file_mode_0600(keys_dir: Path, sealed: bool) -> None:
    if sealed:
        keyring = create_sealed_keyring(keys_dir, PASSPHRASE, kdf_parameters=FAST_KDF)
    else:
        keyring = create_development_keyring(keys_dir)
    assert file_mode(keyring_path(keys_dir)) == 0o600

    keyring.rotate()

    assert file_mode(keyring_path(keys_dir)) == 0o600


def test_no_temporary_files_left(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    keyring.rotate()

    names = sorted(path.name for path in keys_dir.iterdir())

    assert names == ["keyring.json", "keyring.json.lock"]


def test_repr_omits_key_material(keys_dir: Path) -> None:
    keyring = create_development_keyring(keys_dir)
    kek = keyring.active_kek

    for text in (repr(keyring), repr(kek)):
        assert kek.key.hex() not in text
        assert repr(kek.key) not in text
        assert repr(keyring.blind_index_key) not in text
