"""Argon2id password hashing with documented parameters.

Production parameters follow RFC 9106's second recommended option, scaled to an
office machine: Argon2id, 64 MiB of memory, 3 passes, 4 lanes, a 16-byte salt and a
32-byte hash (about 0.1–0.3 s on a 2-core machine). A cheap profile exists for tests
only: it refuses to run unless pytest is loaded and ``VAULT_TEST_PASSWORD_PROFILE=cheap``
is set, so that a misconfigured server can never fall back to weak hashes.
"""

from __future__ import annotations

import os
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vault.errors import AuthenticationFailed, VaultError

PRODUCTION = {
    "time_cost": 3, "memory_cost": 65536, "parallelism": 4, "hash_len": 32, "salt_len": 16,
}
CHEAP = {"time_cost": 1, "memory_cost": 8, "parallelism": 1, "hash_len": 32, "salt_len": 16}


def _hasher() -> PasswordHasher:
    if os.environ.get("VAULT_TEST_PASSWORD_PROFILE") == "cheap":
        if "pytest" not in sys.modules:
            raise VaultError(
                "测试用的低强度口令哈希参数只能在测试中使用。",
                "The cheap password-hash profile may only be used by the test suite.",
                code="PASSWORD_PROFILE_FORBIDDEN",
                field="VAULT_TEST_PASSWORD_PROFILE",
            )
        return PasswordHasher(**CHEAP)
    return PasswordHasher(**PRODUCTION)


def hash_password(password: str) -> str:
    """Return the Argon2id hash (PHC string) of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash``.

    A mismatch, or a stored hash that is not a valid Argon2 string, returns ``False``.
    """
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verified against when an account does not exist, so that an unknown name costs the
# same time as a wrong password and the two cannot be distinguished.
_DUMMY_HASH: dict[str, str] = {}


def burn_time(password: str) -> None:
    """Spend as long as a real verification, for an account that does not exist."""
    profile = os.environ.get("VAULT_TEST_PASSWORD_PROFILE", "production")
    if profile not in _DUMMY_HASH:
        _DUMMY_HASH[profile] = hash_password("vault-dummy-password-for-timing")
    verify_password(_DUMMY_HASH[profile], password)


MIN_LENGTH = 12
# The most common passwords seen in leaked lists, Chinese favourites included. A
# longer list ships with the package data.
_COMMON = {
    "123456789012", "password1234", "qwertyuiop12", "111111111111", "1qaz2wsx3edc",
    "abc123456789", "woaini520131", "passw0rd1234", "admin1234567", "000000000000",
    "iloveyou1234", "123123123123", "asdfghjkl123", "zxcvbnm12345", "qwer1234qwer",
}


def check_new_password(password: str) -> None:
    """Raise ``AuthenticationFailed`` with a clear message if ``password`` is too weak."""
    if len(password) < MIN_LENGTH:
        raise AuthenticationFailed(
            f"口令太短：至少需要 {MIN_LENGTH} 个字符。",
            f"The password is too short: use at least {MIN_LENGTH} characters.",
            code="PASSWORD_TOO_SHORT",
            field="password",
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) <= 2:
        raise AuthenticationFailed(
            "口令过于常见，容易被猜中，请换一个。",
            "The password is too common and easy to guess; choose another.",
            code="PASSWORD_TOO_COMMON",
            field="password",
        )
