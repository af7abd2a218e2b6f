"""Fixtures for the crypto tests: keyrings in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.crypto import Keyring, create_development_keyring


@pytest.fixture(scope="module")
def module_keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    """A development keyring shared by the property tests of one module."""
    return create_development_keyring(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def other_module_keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    """A second, unrelated development keyring; its first KEK is also ``kek-1``."""
    return create_development_keyring(tmp_path_factory.mktemp("other-keys"))


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    """A keyring folder that does not exist yet."""
    return tmp_path / "keys"
