"""The keyring file: versioned key-encryption keys (KEKs) and the blind-index key.

A keyring is one JSON file, ``keyring.json``, in the ``keys/`` folder or the folder
given with ``--keys``. It comes in two kinds:

* a *development* keyring stores its keys unsealed (base64 in the JSON). The file,
  the ``Keyring`` and every ``KeyEncryptionKey`` loaded from it carry
  ``development: true``, so that callers can refuse to put real data under it;
* a *sealed* keyring stores its keys encrypted with AES-256-GCM under a key derived
  from a passphrase with Argon2id. The file's header (every top-level member except
  ``sealed``) is the associated data, so the KDF parameters, salt and nonce cannot be
  changed unnoticed.

Content of both kinds: KEKs ``kek-1``, ``kek-2``, ... (256-bit random, creation time,
active flag, exactly one active) and a separate 256-bit random blind-index key. The
blind-index key is generated independently, not derived from a KEK, so that rotating
or destroying a KEK does not change the blind indexes and the reverse.

Files are written with mode 0600 through a temporary file, fsync and rename, so a
crash leaves either the old or the new keyring, never a partial one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hmac
import json
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from argon2.exceptions import HashingError
from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.clock import Clock, SystemClock
from vault.errors import KeyringInvalid, KeyringMissing

KEYRING_FILE_NAME: Final = "keyring.json"
KEYRING_FORMAT: Final = "vault-keyring"
KEYRING_FORMAT_VERSION: Final = 1
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12

DEVELOPMENT_LABEL: Final = (
    "开发密钥环（仅供开发和测试，不得用于真实数据）/ DEVELOPMENT keyring — not for real data"
)
SEALED_LABEL: Final = "密封密钥环 / sealed keyring"

_KEK_ID = re.compile(r"kek-([1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class KdfParameters:
    """Argon2id parameters: ``memory_cost`` in KiB, ``salt_bytes`` in bytes."""

    time_cost: int
    memory_cost: int
    parallelism: int
    salt_bytes: int = 16


# The second recommended option of RFC 9106: t=3, 64 MiB, p=4, 128-bit salt. The
# first option needs 2 GiB, too much for the small machine a county runs on.
DEFAULT_KDF_PARAMETERS: Final = KdfParameters(time_cost=3, memory_cost=65536, parallelism=4)

# Upper limits for parameters read from a file. An edited file could otherwise make
# loading allocate many GiB or run for hours before the passphrase check fails.
_MAX_TIME_COST: Final = 64
_MAX_MEMORY_COST: Final = 4 * 1024 * 1024
_MAX_PARALLELISM: Final = 64


@dataclass(frozen=True, slots=True)
class KeyEncryptionKey:
    """One KEK version: ``kek_id`` such as ``kek-1``, 32 key bytes, creation time, active flag."""

    kek_id: str
    key: bytes = field(repr=False)
    created_at: datetime
    active: bool
    development: bool
    # One AESGCM object per key, reused for every wrap and unwrap.
    aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "aead", AESGCM(self.key))

    @property
    def version(self) -> int:
        """The number in ``kek_id``: 1 for ``kek-1``."""
        match = _KEK_ID.fullmatch(self.kek_id)
        if match is None:
            raise ValueError(f"invalid KEK id {self.kek_id!r}")
        return int(match.group(1))


@dataclass(frozen=True, slots=True)
class _Seal:
    """Sealing state kept in memory: the derived key and the KDF header, not the passphrase."""

    key: bytes = field(repr=False)
    kdf: dict[str, Any]
    passphrase_check: str


class Keyring:
    """The KEKs and the blind-index key of one keyring file.

    ``rotate`` is the only method that writes. Everything else reads what was loaded.
    """

    def __init__(
        self,
        path: Path,
        *,
        keks: tuple[KeyEncryptionKey, ...],
        blind_index_key: bytes,
        development: bool,
        seal: _Seal | None,
        file_bytes: bytes,
        clock: Clock,
    ) -> None:
        self._path = path
        self._keks = keks
        self._blind_index_key = blind_index_key
        self._development = development
        self._seal = seal
        self._file_bytes = file_bytes
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"Keyring(path={str(self._path)!r}, development={self._development}, "
            f"keks={[kek.kek_id for kek in self._keks]}, active={self.active_kek.kek_id!r})"
        )

    @property
    def path(self) -> Path:
        """Path of the keyring file."""
        return self._path

    @property
    def development(self) -> bool:
        """Whether the keys are stored unsealed, for development and tests only."""
        return self._development

    @property
    def label(self) -> str:
        """A bilingual label to show wherever the keyring is named."""
        return DEVELOPMENT_LABEL if self._development else SEALED_LABEL

    @property
    def keks(self) -> tuple[KeyEncryptionKey, ...]:
        """Every KEK version, oldest first. Old versions stay to unwrap old data keys."""
        return self._keks

    @property
    def active_kek(self) -> KeyEncryptionKey:
        """The one KEK that wraps new data keys."""
        return next(kek for kek in self._keks if kek.active)

    @property
    def blind_index_key(self) -> bytes:
        """The 32-byte key for blind indexes, independent of every KEK."""
        return self._blind_index_key

    def kek(self, kek_id: str) -> KeyEncryptionKey:
        """Return the KEK ``kek_id``, or raise ``KeyringInvalid`` with code ``KEK_NOT_FOUND``."""
        for kek in self._keks:
            if kek.kek_id == kek_id:
                return kek
        known = ", ".join(kek.kek_id for kek in self._keks)
        raise KeyringInvalid(
            f"密钥环 {self._path} 中没有密钥加密密钥 {kek_id}（现有：{known}）。"
            "可能使用了错误的或过旧的密钥环副本。",
            f"Key-encryption key {kek_id} is not in the keyring {self._path} "
            f"(it has {known}). The keyring may be the wrong one or an old copy.",
            code="KEK_NOT_FOUND",
            value=kek_id,
        )

    def rotate(self) -> KeyEncryptionKey:
        """Add a new active KEK version, keep the old ones inactive, save, and return the new one.

        Existing data keys stay wrapped under their old KEK until they are re-wrapped.
        Raises ``KeyringInvalid`` (``KEYRING_CHANGED``) when the file on disk is no
        longer the one this object was loaded from, because saving over it could drop
        a KEK that another process added and make its data keys unrecoverable.
        """
        new_kek = KeyEncryptionKey(
            kek_id=f"kek-{max(kek.version for kek in self._keks) + 1}",
            key=secrets.token_bytes(KEY_BYTES),
            created_at=self._clock.now(),
            active=True,
            development=self._development,
        )
        keks = (
            *(
                KeyEncryptionKey(
                    kek.kek_id, kek.key, kek.created_at, active=False, development=kek.development
                )
                for kek in self._keks
            ),
            new_kek,
        )
        document = _build_document(keks, self._blind_index_key, self._development, self._seal)
        file_bytes = _serialise(document)

        with _locked(self._path):
            if _read_bytes(self._path) != self._file_bytes:
                raise KeyringInvalid(
                    f"密钥环 {self._path} 在载入后已被其他进程修改。请重新载入后再轮换。",
                    f"The keyring {self._path} changed on disk after it was loaded. "
                    "Load it again, then rotate.",
                    code="KEYRING_CHANGED",
                )
            _write_atomically(self._path, file_bytes, replace=True)

        self._keks = keks
        self._file_bytes = file_bytes
        return new_kek


# -- creating and loading -----------------------------------------------------


def keyring_path(directory: str | os.PathLike[str]) -> Path:
    """Return the path of the keyring file in ``directory``."""
    return Path(directory) / KEYRING_FILE_NAME


def create_development_keyring(
    directory: str | os.PathLike[str], *, clock: Clock | None = None
) -> Keyring:
    """Create an unsealed development keyring in ``directory`` and return it.

    Raises ``KeyringInvalid`` (``KEYRING_EXISTS``) if the directory already has one.
    """
    return _create(Path(directory), passphrase=None, kdf_parameters=None, clock=clock)


def create_sealed_keyring(
    directory: str | os.PathLike[str],
    passphrase: str,
    *,
    kdf_parameters: KdfParameters = DEFAULT_KDF_PARAMETERS,
    clock: Clock | None = None,
) -> Keyring:
    """Create a keyring sealed under ``passphrase`` in ``directory`` and return it.

    Raises ``KeyringInvalid`` with ``KEYRING_EXISTS`` if the directory already has a
    keyring, ``KEYRING_PASSPHRASE_EMPTY`` for an empty passphrase and
    ``KEYRING_KDF_INVALID`` for parameters that Argon2 rejects.
    """
    return _create(
        Path(directory), passphrase=passphrase, kdf_parameters=kdf_parameters, clock=clock
    )


def load_keyring(
    directory: str | os.PathLike[str],
    passphrase: str | None = None,
    *,
    clock: Clock | None = None,
) -> Keyring:
    """Load the keyring in ``directory``, unsealing it with ``passphrase`` when it is sealed.

    Raises ``KeyringMissing`` when there is no keyring file. Raises ``KeyringInvalid``
    when the file cannot be used, with one of these codes:

    * ``KEYRING_INVALID``: the file is unreadable or malformed;
    * ``KEYRING_PASSPHRASE_REQUIRED``: the keyring is sealed and no passphrase was given;
    * ``KEYRING_PASSPHRASE_WRONG``: the passphrase does not match;
    * ``KEYRING_TAMPERED``: the sealed payload or its header failed authentication;
    * ``KEYRING_NOT_SEALED``: a passphrase was given for a development keyring.
    """
    path = keyring_path(directory)
    try:
        file_bytes = _read_bytes(path)
    except FileNotFoundError:
        raise KeyringMissing(
            f"未找到密钥环文件 {path}。请先运行 `vault init` 创建密钥环，"
            "或用 `--keys` 指定密钥环所在的目录。",
            f"No keyring file at {path}. Run `vault init` to create one, "
            "or pass `--keys` with the folder that contains it.",
            value=str(path),
        ) from None
    except OSError as error:
        raise _invalid(
            path, f"cannot be read ({error.strerror})", f"无法读取（{error.strerror}）"
        ) from None

    document = _parse_json(path, file_bytes)
    _check_format(path, document)
    development = _require(document, "development", bool, path)

    if development:
        if passphrase is not None:
            raise KeyringInvalid(
                f"密钥环 {path} 是未密封的开发密钥环，却提供了口令。"
                "若要保护真实数据，请创建密封密钥环。",
                f"A passphrase was given, but {path} is an unsealed development keyring. "
                "Create a sealed keyring for real data.",
                code="KEYRING_NOT_SEALED",
                value=str(path),
            )
        content = _require(document, "keys", dict, path)
        seal = None
    else:
        content, seal = _unseal(path, document, passphrase)

    keks, blind_index_key = _parse_content(path, content, development)
    return Keyring(
        path,
        keks=keks,
        blind_index_key=blind_index_key,
        development=development,
        seal=seal,
        file_bytes=file_bytes,
        clock=clock or SystemClock(),
    )


def _create(
    directory: Path,
    *,
    passphrase: str | None,
    kdf_parameters: KdfParameters | None,
    clock: Clock | None,
) -> Keyring:
    clock = clock or SystemClock()
    path = keyring_path(directory)
    if path.exists():
        raise _exists(path)

    # Step 1: fresh random keys. The blind-index key is drawn separately, not derived.
    development = passphrase is None
    first_kek = KeyEncryptionKey(
        kek_id="kek-1",
        key=secrets.token_bytes(KEY_BYTES),
        created_at=clock.now(),
        active=True,
        development=development,
    )
    blind_index_key = secrets.token_bytes(KEY_BYTES)

    # Step 2: for a sealed keyring, derive the sealing key from the passphrase.
    seal = None
    if passphrase is not None:
        seal = _new_seal(path, passphrase, kdf_parameters or DEFAULT_KDF_PARAMETERS)

    # Step 3: write without replacing. An existing keyring is never overwritten,
    # because its KEKs may be the only way to unwrap stored data keys.
    document = _build_document((first_kek,), blind_index_key, development, seal)
    file_bytes = _serialise(document)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise _write_failed(path, error) from None
    _write_atomically(path, file_bytes, replace=False)

    return Keyring(
        path,
        keks=(first_kek,),
        blind_index_key=blind_index_key,
        development=development,
        seal=seal,
        file_bytes=file_bytes,
        clock=clock,
    )


# -- sealing --------------------------------------------------------------------


def _normalise_passphrase(passphrase: str) -> bytes:
    # NFC, so a passphrase typed with composed or decomposed characters gives one key.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _derive(passphrase: str, salt: bytes, parameters: KdfParameters) -> tuple[bytes, bytes]:
    """Derive the 32-byte sealing key and the 32-byte passphrase check value."""
    output = hash_secret_raw(
        secret=_normalise_passphrase(passphrase),
        salt=salt,
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_cost,
        parallelism=parameters.parallelism,
        hash_len=2 * KEY_BYTES,
        type=Type.ID,
        version=ARGON2_VERSION,
    )
    # The check value lets a wrong passphrase be told apart from an altered file. It
    # gives an attacker nothing new: the GCM tag already lets them test guesses offline.
    return output[:KEY_BYTES], output[KEY_BYTES:]


def _new_seal(path: Path, passphrase: str, parameters: KdfParameters) -> _Seal:
    if not passphrase:
        raise KeyringInvalid(
            "密钥环口令不能为空。",
            "The keyring passphrase must not be empty.",
            code="KEYRING_PASSPHRASE_EMPTY",
        )

    salt = secrets.token_bytes(parameters.salt_bytes)
    try:
        key, check = _derive(passphrase, salt, parameters)
    except HashingError:
        raise _kdf_invalid(path) from None

    kdf = {
        "algorithm": "argon2id",
        "version": ARGON2_VERSION,
        "time_cost": parameters.time_cost,
        "memory_cost": parameters.memory_cost,
        "parallelism": parameters.parallelism,
        "salt": _b64encode(salt),
    }
    return _Seal(key=key, kdf=kdf, passphrase_check=_b64encode(check))


def _header_bytes(header: Mapping[str, Any]) -> bytes:
    # Canonical JSON, so the associated data does not depend on how the file was formatted.
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _seal_content(seal: _Seal, content: dict[str, Any], header: dict[str, Any]) -> str:
    # Step 1: a fresh random nonce for every save. The sealing key stays the same
    # across saves, and a nonce must never repeat under one key.
    nonce = secrets.token_bytes(NONCE_BYTES)
    header["cipher"] = {"algorithm": "AES-256-GCM", "nonce": _b64encode(nonce)}

    # Step 2: encrypt the key content with the whole header as associated data.
    plaintext = json.dumps(content, sort_keys=True).encode("utf-8")
    return _b64encode(AESGCM(seal.key).encrypt(nonce, plaintext, _header_bytes(header)))


def _unseal(
    path: Path, document: dict[str, Any], passphrase: str | None
) -> tuple[dict[str, Any], _Seal]:
    if passphrase is None:
        raise KeyringInvalid(
            f"密钥环 {path} 已用口令密封，请提供口令。",
            f"The keyring {path} is sealed, so a passphrase is required.",
            code="KEYRING_PASSPHRASE_REQUIRED",
            value=str(path),
        )

    # Step 1: read the header and the parameters it names.
    header = {name: value for name, value in document.items() if name != "sealed"}
    kdf = _require(header, "kdf", dict, path)
    cipher = _require(header, "cipher", dict, path)
    if kdf.get("algorithm") != "argon2id" or kdf.get("version") != ARGON2_VERSION:
        raise _invalid(path, "names an unknown key-derivation function", "使用了未知的密钥派生函数")
    if cipher.get("algorithm") != "AES-256-GCM":
        raise _invalid(path, "names an unknown cipher", "使用了未知的加密算法")
    parameters = KdfParameters(
        time_cost=_bounded(kdf, "time_cost", _MAX_TIME_COST, path),
        memory_cost=_bounded(kdf, "memory_cost", _MAX_MEMORY_COST, path),
        parallelism=_bounded(kdf, "parallelism", _MAX_PARALLELISM, path),
    )
    salt = _b64decode(_require(kdf, "salt", str, path), path)
    nonce = _b64decode(_require(cipher, "nonce", str, path), path)
    expected_check = _b64decode(_require(header, "passphrase_check", str, path), path)
    sealed = _b64decode(_require(document, "sealed", str, path), path)
    if len(nonce) != NONCE_BYTES:
        raise _invalid(path, "has a nonce of the wrong length", "的随机数长度不正确")

    # Step 2: derive the key and compare the check value in constant time.
    try:
        key, check = _derive(passphrase, salt, parameters)
    except HashingError:
        raise _kdf_invalid(path) from None
    if not hmac.compare_digest(check, expected_check):
        raise KeyringInvalid(
            f"密钥环 {path} 的口令不正确。请核对口令后重试。",
            f"The passphrase for the keyring {path} is wrong. Check it and try again.",
            code="KEYRING_PASSPHRASE_WRONG",
            value=str(path),
        )

    # Step 3: decrypt. With the right passphrase, a failure means the file was altered.
    try:
        plaintext = AESGCM(key).decrypt(nonce, sealed, _header_bytes(header))
    except InvalidTag:
        raise KeyringInvalid(
            f"密钥环 {path} 未通过完整性校验，文件已被改动或损坏。请从备份恢复。",
            f"The keyring {path} failed authentication: the file was altered or "
            "corrupted. Restore it from a backup.",
            code="KEYRING_TAMPERED",
            value=str(path),
        ) from None

    content = _parse_json(path, plaintext)
    seal_kdf = {
        name: kdf[name]
        for name in ("algorithm", "version", "time_cost", "memory_cost", "parallelism", "salt")
    }
    seal = _Seal(key=key, kdf=seal_kdf, passphrase_check=_b64encode(check))
    return content, seal


# -- the document -------------------------------------------------------------


def _build_document(
    keks: tuple[KeyEncryptionKey, ...],
    blind_index_key: bytes,
    development: bool,
    seal: _Seal | None,
) -> dict[str, Any]:
    content = {
        "keks": [
            {
                "kek_id": kek.kek_id,
                "key": _b64encode(kek.key),
                "created_at": kek.created_at.isoformat(),
                "active": kek.active,
            }
            for kek in keks
        ],
        "blind_index_key": _b64encode(blind_index_key),
    }
    header: dict[str, Any] = {
        "format": KEYRING_FORMAT,
        "format_version": KEYRING_FORMAT_VERSION,
        "development": development,
        "label": DEVELOPMENT_LABEL if development else SEALED_LABEL,
    }
    if seal is None:
        return {**header, "keys": content}

    header["kdf"] = dict(seal.kdf)
    header["passphrase_check"] = seal.passphrase_check
    sealed = _seal_content(seal, content, header)
    return {**header, "sealed": sealed}


def _parse_content(
    path: Path, content: dict[str, Any], development: bool
) -> tuple[tuple[KeyEncryptionKey, ...], bytes]:
    entries = _require(content, "keks", list, path)
    keks: list[KeyEncryptionKey] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise _invalid(path, "has a KEK entry that is not an object", "中有一项密钥不是对象")
        kek_id = _require(entry, "kek_id", str, path)
        if _KEK_ID.fullmatch(kek_id) is None:
            raise _invalid(
                path, f"has an invalid KEK id {kek_id!r}", f"中的密钥编号 {kek_id!r} 无效"
            )
        try:
            created_at = datetime.fromisoformat(_require(entry, "created_at", str, path))
        except ValueError:
            raise _invalid(
                path, f"has an invalid creation time for {kek_id}", f"中 {kek_id} 的创建时间无效"
            ) from None
        keks.append(
            KeyEncryptionKey(
                kek_id=kek_id,
                key=_key_bytes(_require(entry, "key", str, path), path),
                created_at=created_at,
                active=_require(entry, "active", bool, path),
                development=development,
            )
        )

    if not keks:
        raise _invalid(path, "contains no KEK", "中没有任何密钥加密密钥")
    if len({kek.kek_id for kek in keks}) != len(keks):
        raise _invalid(path, "contains a KEK id twice", "中有重复的密钥编号")
    if sum(kek.active for kek in keks) != 1:
        raise _invalid(path, "must have exactly one active KEK", "必须恰有一个启用的密钥加密密钥")

    blind_index_key = _key_bytes(_require(content, "blind_index_key", str, path), path)
    return tuple(sorted(keks, key=lambda kek: kek.version)), blind_index_key


def _parse_json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # The decoder's message quotes the text around the error, which may be key bytes.
        raise _invalid(path, "is not valid JSON", "不是有效的 JSON") from None
    if not isinstance(document, dict):
        raise _invalid(path, "is not a JSON object", "不是 JSON 对象")
    return document


def _check_format(path: Path, document: Mapping[str, Any]) -> None:
    if (
        document.get("format") != KEYRING_FORMAT
        or document.get("format_version") != KEYRING_FORMAT_VERSION
    ):
        raise _invalid(path, "is not a keyring of a supported format", "不是受支持格式的密钥环")


def _require(mapping: Mapping[str, Any], name: str, kind: type[Any], path: Path) -> Any:
    value = mapping.get(name)
    if not isinstance(value, kind):
        raise _invalid(path, f"lacks a valid {name!r} member", f"缺少有效的 {name!r} 项")
    return value


def _bounded(mapping: Mapping[str, Any], name: str, maximum: int, path: Path) -> int:
    value = _require(mapping, name, int, path)
    if isinstance(value, bool) or not 1 <= value <= maximum:
        raise _invalid(
            path, f"has {name} outside 1..{maximum}", f"的 {name} 不在 1..{maximum} 范围内"
        )
    return int(value)


def _key_bytes(text: str, path: Path) -> bytes:
    key = _b64decode(text, path)
    if len(key) != KEY_BYTES:
        raise _invalid(
            path, f"has a key that is not {KEY_BYTES} bytes", f"中有长度不是 {KEY_BYTES} 字节的密钥"
        )
    return key


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, path: Path) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            path, "has a value that is not valid base64", "中有无效的 base64 值"
        ) from None


def _serialise(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- errors ----------------------------------------------------------------------


def _invalid(path: Path, problem_en: str, problem_zh: str) -> KeyringInvalid:
    return KeyringInvalid(
        f"密钥环 {path} {problem_zh}。请从备份恢复，或用 `--keys` 指定正确的目录。",
        f"The keyring {path} {problem_en}. Restore it from a backup or pass `--keys` "
        "with the right folder.",
        value=str(path),
    )


def _exists(path: Path) -> KeyringInvalid:
    return KeyringInvalid(
        f"密钥环 {path} 已存在，不会覆盖：其中的密钥可能是解开已存数据的唯一途径。",
        f"The keyring {path} already exists and is not overwritten, because its keys "
        "may be the only way to unwrap stored data keys.",
        code="KEYRING_EXISTS",
        value=str(path),
    )


def _write_failed(path: Path, error: OSError) -> KeyringInvalid:
    return KeyringInvalid(
        f"无法写入密钥环 {path}（{error.strerror}）。请检查目录是否存在且可写。",
        f"Writing the keyring {path} failed ({error.strerror}). Check that the folder "
        "exists and is writable.",
        code="KEYRING_WRITE_FAILED",
        value=str(path),
    )


def _kdf_invalid(path: Path) -> KeyringInvalid:
    return KeyringInvalid(
        f"密钥环 {path} 的 Argon2id 参数无效。",
        f"The Argon2id parameters of the keyring {path} are invalid.",
        code="KEYRING_KDF_INVALID",
        value=str(path),
    )


# -- files -------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` while saving."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise _write_failed(path, error) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write_atomically(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` with mode 0600 through a temporary file, fsync and rename.

    With ``replace=False`` the rename is a hard link, which fails if ``path`` exists,
    so two processes creating a keyring at once cannot overwrite each other.
    """
    # mkstemp creates the file with mode 0600, whatever the umask.
    try:
        descriptor, temporary_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise _write_failed(path, error) from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary_name, path)
        else:
            try:
                os.link(temporary_name, path)
            except FileExistsError:
                raise _exists(path) from None
            os.unlink(temporary_name)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary_name)
        if isinstance(error, OSError):
            raise _write_failed(path, error) from None
        raise

    # fsync the directory so the rename itself survives a crash.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
