"""Run ``vault`` in-process against a fresh registry on the backend under test.

The commands open their services with the system clock; here that clock is a
``FixedClock`` that moves 31 seconds before each command. Reviewers and the
administrators log in with a TOTP code, each 30-second step is accepted once, so
every command gets the code of its own new step.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from vault.accounts import totp_code
from vault.bootstrap import open_services
from vault.cli import main
from vault.clock import FixedClock
from vault.store.config import StoreConfig

PASSWORD = "correct-horse-battery"  # noqa: S105  # a test account's password
ADMIN = "admin1"


@dataclass(frozen=True, slots=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """The ``vault`` command with the registry's location and a password in the environment."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    config: StoreConfig
    clock: FixedClock

    def run(self, *argv: str, user: str | None = None, password: str = PASSWORD,
            stdin: str = "") -> Result:
        self.clock.advance(seconds=31)
        code = self._totp(user) if user else None
        if code is None:
            self.monkeypatch.delenv("VAULT_TOTP", raising=False)
        else:
            self.monkeypatch.setenv("VAULT_TOTP", code)
        self.monkeypatch.setenv("VAULT_PASSWORD", password)
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        arguments = [*argv, "--user", user] if user else list(argv)
        status = main(arguments)
        captured = self.capsys.readouterr()
        return Result(status, captured.out, captured.err)

    def add_user(self, name: str, *roles: str, jurisdiction: str = "331024") -> Result:
        role_args = [arg for role in roles for arg in ("--role", role)]
        return self.run("user", "add", name, *role_args, "--jurisdiction", jurisdiction,
                        "--password-stdin", user=ADMIN, stdin=PASSWORD + "\n")


    def _totp(self, name: str) -> str | None:
        """Return the current TOTP code of ``name``, or None for an account without a secret."""
        if not self.config.data_dir.is_dir():
            return None
        with open_services(self.config, self.clock) as services:
            secret = services.accounts.totp_secret(name) if services.accounts.find(name) else None
        return totp_code(secret, at=self.clock.now()) if secret else None


def cli_for(config: StoreConfig, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str], clock: FixedClock) -> Cli:
    """Point ``vault`` at ``config`` and create the registry with a development keyring."""
    monkeypatch.setattr("vault.bootstrap.SystemClock", lambda: clock)
    monkeypatch.setenv("VAULT_DATA", str(config.data_dir))
    monkeypatch.setenv("VAULT_KEYS", str(config.keys_dir))
    monkeypatch.setenv("VAULT_LANG", "en")
    monkeypatch.delenv("VAULT_POLICIES", raising=False)
    monkeypatch.delenv("VAULT_KEYRING_PASSPHRASE", raising=False)
    if config.postgres is None:
        monkeypatch.delenv("VAULT_DATABASE_URL", raising=False)
        monkeypatch.delenv("VAULT_DATABASE_SCHEMA", raising=False)
    else:
        pg = config.postgres
        login = f"{pg.user}:{pg.password}" if pg.password else pg.user
        monkeypatch.setenv("VAULT_DATABASE_URL",
                           f"postgresql://{login}@{pg.host}:{pg.port}/{pg.dbname}")
        monkeypatch.setenv("VAULT_DATABASE_SCHEMA", pg.schema)
    cli = Cli(monkeypatch, capsys, config, clock)
    created = cli.run("init", "--admin", ADMIN, "--password-stdin", "--dev",
                      stdin=PASSWORD + "\n")
    assert created.code == 0, created.err
    return cli
