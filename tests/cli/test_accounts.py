"""Account administration from the command line: who may change accounts, and the audit of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.approvals.cli_harness import ADMIN, PASSWORD, Cli, cli_for
from vault.bootstrap import open_services
from vault.clock import FixedClock
from vault.store.config import StoreConfig

pytestmark = pytest.mark.storage


@pytest.fixture
def cli(store_config: StoreConfig, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clock: FixedClock) -> Cli:
    cli = cli_for(store_config, monkeypatch, capsys, clock)
    assert cli.add_user("clerk1", "clerk").code == 0
    return cli


def audit(cli: Cli, action: str) -> list[dict[str, Any]]:
    with open_services(cli.config) as services:
        return services.audit.records(action=action)


def accounts(cli: Cli) -> dict[str, dict[str, Any]]:
    listed = cli.run("user", "list", "--json", user=ADMIN)
    assert listed.code == 0, listed.err
    return {entry["name"]: entry for entry in json.loads(listed.out)}


# -- 三权分立 --------------------------------------------------------------------


def test_two_admin_roles_rejected(cli: Cli) -> None:
    added = cli.add_user("secadm1", "security-admin", "security-officer")

    assert added.code == 1
    assert "ADMIN_SEPARATION" in added.err
    assert "secadm1" not in accounts(cli)
    denied = [r for r in audit(cli, "account.create") if r["outcome"] == "denied"]
    assert [r["reason"] for r in denied] == ["ADMIN_SEPARATION"]


def test_set_roles_keeps_separation(cli: Cli) -> None:
    assert cli.add_user("secadm1", "security-admin", jurisdiction="").code == 0

    changed = cli.run("user", "set-roles", "secadm1", "--role", "security-admin",
                      "--role", "security-officer", user=ADMIN)

    assert changed.code == 1
    assert "ADMIN_SEPARATION" in changed.err
    assert accounts(cli)["secadm1"]["roles"] == ["security-admin"]
    denied = audit(cli, "account.set_roles")
    assert [(r["outcome"], r["reason"]) for r in denied] == [("denied", "ADMIN_SEPARATION")]


@pytest.mark.parametrize("roles", [("system-admin", "clerk"), ("security-admin", "reviewer")])
def test_admin_with_data_role_rejected(cli: Cli, roles: tuple[str, ...]) -> None:
    added = cli.add_user("mixed1", *roles)

    assert added.code == 1
    assert "ADMIN_WITH_DATA_ROLE" in added.err


def test_set_roles_adds_no_data_role(cli: Cli) -> None:
    changed = cli.run("user", "set-roles", ADMIN, "--role", "system-admin", "--role", "clerk",
                      user=ADMIN)

    assert changed.code == 1
    assert "ADMIN_WITH_DATA_ROLE" in changed.err
    assert accounts(cli)[ADMIN]["roles"] == ["system-admin"]


# -- only a system admin ---------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "action"),
    [
        (("user", "list"), "account.list"),
        (("user", "disable", "clerk1"), "account.disable"),
        (("user", "enable", "clerk1"), "account.enable"),
        (("user", "set-roles", "clerk1", "--role", "reviewer"), "account.set_roles"),
        (("user", "set-jurisdiction", "clerk1", "110101"), "account.set_jurisdiction"),
        (("user", "force-password-change", "clerk1"), "account.force_password_change"),
    ],
    ids=["list", "disable", "enable", "set-roles", "set-jurisdiction", "force-change"],
)
def test_non_admin_rejected(cli: Cli, command: tuple[str, ...], action: str) -> None:
    assert cli.add_user("secadm1", "security-admin", jurisdiction="").code == 0

    by_clerk = cli.run(*command, user="clerk1")
    by_security_admin = cli.run(*command, user="secadm1")

    assert by_clerk.code == 3
    assert "ROLE_REQUIRED" in by_clerk.err
    assert by_security_admin.code == 3
    clerk = accounts(cli)["clerk1"]
    assert clerk["roles"] == ["clerk"]
    assert clerk["jurisdiction"] == "331024"
    assert clerk["disabled"] is False
    assert clerk["must_change_password"] is False
    denied = [r for r in audit(cli, action) if r["outcome"] == "denied"]
    assert [(r["account_name"], r["reason"]) for r in denied] == [
        ("clerk1", "ROLE_REQUIRED"), ("secadm1", "ROLE_REQUIRED"),
    ]


def test_system_admin_reads_no_person(cli: Cli) -> None:
    found = cli.run("person", "find", "--json", user=ADMIN, stdin="331024199001010011\n")

    assert found.code == 4
    assert json.loads(found.out)[0]["outcome"] == "denied"


# -- each change, audited --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "action", "reason"),
    [
        (("user", "disable", "clerk1"), "account.disable", None),
        (("user", "enable", "clerk1"), "account.enable", None),
        (("user", "set-roles", "clerk1", "--role", "clerk", "--role", "reviewer"),
         "account.set_roles", "roles=clerk,reviewer"),
        (("user", "set-jurisdiction", "clerk1", "331024103"), "account.set_jurisdiction",
         "jurisdiction=331024103"),
        (("user", "force-password-change", "clerk1"), "account.force_password_change", None),
    ],
    ids=["disable", "enable", "set-roles", "set-jurisdiction", "force-change"],
)
def test_change_audited(cli: Cli, command: tuple[str, ...], action: str,
                        reason: str | None) -> None:
    clerk_id = accounts(cli)["clerk1"]["account_id"]

    changed = cli.run(*command, user=ADMIN)

    assert changed.code == 0, changed.err
    records = audit(cli, action)
    assert len(records) == 1
    assert records[0]["outcome"] == "ok"
    assert records[0]["account_name"] == ADMIN
    assert records[0]["subject_ids"] == [clerk_id]
    assert records[0]["reason"] == reason


def test_changes_take_effect(cli: Cli) -> None:
    cli.run("user", "set-roles", "clerk1", "--role", "clerk", "--role", "reviewer", user=ADMIN)
    cli.run("user", "set-jurisdiction", "clerk1", "331024103", user=ADMIN)

    clerk = accounts(cli)["clerk1"]

    assert clerk["roles"] == ["clerk", "reviewer"]
    assert clerk["jurisdiction"] == "331024103"


def test_invalid_jurisdiction_rejected(cli: Cli) -> None:
    changed = cli.run("user", "set-jurisdiction", "clerk1", "33A", user=ADMIN)

    assert changed.code == 1
    assert "JURISDICTION_INVALID" in changed.err
    assert accounts(cli)["clerk1"]["jurisdiction"] == "331024"


def test_unknown_account_rejected(cli: Cli) -> None:
    changed = cli.run("user", "disable", "nobody1", user=ADMIN)

    assert changed.code == 1
    assert "ACCOUNT_NOT_FOUND" in changed.err


# -- disabling and passwords -----------------------------------------------------


def test_disabled_account_cannot_log_in(cli: Cli) -> None:
    assert cli.run("user", "disable", "clerk1", user=ADMIN).code == 0

    rejected = cli.run("person", "find", user="clerk1", stdin="")
    assert cli.run("user", "enable", "clerk1", user=ADMIN).code == 0
    allowed = cli.run("person", "find", user="clerk1", stdin="")

    assert rejected.code == 3
    assert "ACCOUNT_DISABLED" in rejected.err
    assert allowed.code == 0, allowed.err
    logins = [(r["account_name"], r["outcome"], r["reason"]) for r in audit(cli, "login")]
    assert ("clerk1", "denied", "ACCOUNT_DISABLED") in logins


def test_last_system_admin_kept(cli: Cli) -> None:
    disabled = cli.run("user", "disable", ADMIN, user=ADMIN)
    demoted = cli.run("user", "set-roles", ADMIN, "--role", "security-admin", user=ADMIN)

    assert disabled.code == 1
    assert "LAST_SYSTEM_ADMIN" in disabled.err
    assert demoted.code == 1
    assert "LAST_SYSTEM_ADMIN" in demoted.err
    assert accounts(cli)[ADMIN]["disabled"] is False


def test_second_admin_may_disable_first(cli: Cli) -> None:
    assert cli.add_user("admin2", "system-admin", jurisdiction="").code == 0

    disabled = cli.run("user", "disable", ADMIN, user="admin2")

    assert disabled.code == 0, disabled.err


def test_force_password_change_flag(cli: Cli) -> None:
    forced = cli.run("user", "force-password-change", "clerk1", user=ADMIN)
    flagged = accounts(cli)["clerk1"]["must_change_password"]
    blocked = cli.run("person", "find", user="clerk1", stdin="")
    changed = cli.run("user", "passwd", "--password-stdin", user="clerk1",
                      stdin="another-long-passphrase\n")
    after = cli.run("person", "find", user="clerk1", password="another-long-passphrase",
                    stdin="")

    assert forced.code == 0, forced.err
    assert flagged is True
    assert blocked.code == 3
    assert "PASSWORD_CHANGE_REQUIRED" in blocked.err
    assert changed.code == 0, changed.err
    assert after.code == 0, after.err
    assert accounts(cli)["clerk1"]["must_change_password"] is False
    assert cli.run("person", "find", user="clerk1", password=PASSWORD, stdin="").code == 3


def test_new_totp_role_prints_secret(cli: Cli) -> None:
    """Giving an account a role that needs TOTP shows its new secret once."""
    changed = cli.run("user", "set-roles", "clerk1", "--role", "reviewer", user=ADMIN)

    assert changed.code == 0, changed.err
    assert "otpauth://" in changed.out + changed.err


def test_auditor_cannot_be_clerk(cli: Cli) -> None:
    """A security officer who is also a clerk would audit their own reads."""
    changed = cli.run("user", "set-roles", "clerk1", "--role", "clerk", "--role",
                      "security-officer", user=ADMIN)

    assert changed.code != 0
    assert "AUDITOR_WITH_DATA_ROLE" in changed.err


@pytest.mark.parametrize("code", ["3", "3310241", "33102410", "99", "000000"])
def test_jurisdiction_levels_only(cli: Cli, code: str) -> None:
    """A jurisdiction is a real province's prefix at one of the five division levels."""
    changed = cli.run("user", "set-jurisdiction", "clerk1", code, user=ADMIN)

    assert changed.code != 0
    assert "JURISDICTION_INVALID" in changed.err
