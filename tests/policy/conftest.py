"""Fixtures shared by the policy tests: the shipped policy, loaded once."""

from __future__ import annotations

import pytest

from vault.policy import PolicySet, load_policies, packaged_policy_directory


@pytest.fixture(scope="session")
def shipped_policy() -> PolicySet:
    """The packaged default policy, as an installed registry would load it."""
    return load_policies(packaged_policy_directory())
