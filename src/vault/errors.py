"""The exception tree of the registry.

Every error carries a stable machine code, a Chinese and an English message, the
field it concerns and, only when the value is not secret, the value itself. The
messages are written for the person in front of the screen; the code is for
programs and for support. Entry points (CLI, HTTP) translate these into output in
exactly one place each; nothing below them prints or logs an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one value: an error, a warning or a note.

    ``value`` is set only when it is safe to show (a code table entry, a column
    name), never for a name, an ID number, a phone or an address.
    """

    code: str
    field: str | None
    message_zh: str
    message_en: str
    severity: Literal["error", "warning", "note"] = "error"
    value: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Cheaper than the dataclass default; imports send problems between processes.
        return (Problem, (self.code, self.field, self.message_zh, self.message_en,
                          self.severity, self.value))

    def message(self, language: Language = "zh") -> str:
        """Return the message in ``language``."""
        return self.message_zh if language == "zh" else self.message_en

    def as_dict(self, language: Language = "zh") -> dict[str, Any]:
        """Return the problem as a JSON-ready mapping."""
        return {
            "code": self.code,
            "field": self.field,
            "severity": self.severity,
            "message": self.message(language),
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "value": self.value,
        }


class VaultError(Exception):
    """Root of every error the registry raises on purpose."""

    default_code = "VAULT_ERROR"

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        code: str | None = None,
        field: str | None = None,
        value: str | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.value = value
        super().__init__(f"[{self.code}] {message_en}")

    @classmethod
    def from_problem(cls, problem: Problem) -> VaultError:
        """Build an error of this class from a ``Problem``."""
        return cls(
            problem.message_zh,
            problem.message_en,
            code=problem.code,
            field=problem.field,
            value=problem.value,
        )

    def problem(self) -> Problem:
        """Return this error as a ``Problem`` record."""
        return Problem(self.code, self.field, self.message_zh, self.message_en, "error", self.value)

    def message(self, language: Language = "zh") -> str:
        """Return the message in ``language``."""
        return self.message_zh if language == "zh" else self.message_en


# -- domain ---------------------------------------------------------------


class DomainError(VaultError):
    """A broken domain rule or an invalid value."""

    default_code = "DOMAIN_ERROR"


class InvalidValue(DomainError):
    """A value that fails validation; ``field`` names where it came from."""

    default_code = "INVALID_VALUE"


# -- storage --------------------------------------------------------------


class StorageError(VaultError):
    """The event store, a projection or another table could not be used."""

    default_code = "STORAGE_ERROR"


class DataFolderMissing(StorageError):
    default_code = "DATA_FOLDER_MISSING"


class DataFolderExists(StorageError):
    default_code = "DATA_FOLDER_EXISTS"


class StaleVersion(StorageError):
    default_code = "STALE_VERSION"


# -- keys -----------------------------------------------------------------


class KeysError(VaultError):
    """A keyring, a key-encryption key or a data key is missing or unusable."""

    default_code = "KEYS_ERROR"


class KeyringMissing(KeysError):
    default_code = "KEYRING_MISSING"


class KeyringInvalid(KeysError):
    default_code = "KEYRING_INVALID"


class DataKeyMissing(KeysError):
    default_code = "DATA_KEY_MISSING"


class KeyShredded(KeysError):
    default_code = "KEY_SHREDDED"


class DecryptionFailed(KeysError):
    """An envelope failed authentication: moved, altered or under another key."""

    default_code = "DECRYPTION_FAILED"


# -- access ---------------------------------------------------------------


class AccessError(VaultError):
    """Authentication or authorisation failed."""

    default_code = "ACCESS_ERROR"


class AuthenticationFailed(AccessError):
    default_code = "AUTHENTICATION_FAILED"


class AccessDenied(AccessError):
    default_code = "ACCESS_DENIED"


class PolicyError(VaultError):
    """A policy file is invalid or a policy decision cannot be made."""

    default_code = "POLICY_ERROR"


# -- imports --------------------------------------------------------------


class WorkbookError(VaultError):
    """A whole input file is unusable; nothing from it was registered."""

    default_code = "WORKBOOK_ERROR"


class ImportFailed(VaultError):
    """An import stopped part-way; every batch saved before the stop stays saved."""

    default_code = "IMPORT_FAILED"
