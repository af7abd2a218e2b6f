"""The ``vault request`` commands, run in-process on the configured storage backend."""

from __future__ import annotations

import json
import re
from uuid import UUID

import pytest

from tests.approvals.cli_harness import Cli, cli_for
from tests.approvals.conftest import NEW_NUMBER, OLD_NUMBER, register_person
from vault.bootstrap import open_services
from vault.clock import FixedClock
from vault.store.config import StoreConfig

pytestmark = pytest.mark.storage

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def cli(store_config: StoreConfig, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], clock: FixedClock) -> Cli:
    cli = cli_for(store_config, monkeypatch, capsys, clock)
    assert cli.add_user("clerk1", "clerk").code == 0
    assert cli.add_user("reviewer1", "reviewer").code == 0
    return cli


@pytest.fixture
def person_id(store_config: StoreConfig, cli: Cli) -> UUID:
    with open_services(store_config) as services:
        return register_person(services, OLD_NUMBER)


def ask(cli: Cli, person_id: UUID, user: str = "clerk1") -> UUID:
    submitted = cli.run("request", "correct-id", "--person", str(person_id), "--reason", "核对有误",
                    user=user, stdin=NEW_NUMBER + "\n")
    assert submitted.code == 0, submitted.err
    found = _UUID.search(submitted.out)
    assert found is not None
    return UUID(found.group(0))


def test_correction_round_trip(cli: Cli, person_id: UUID) -> None:
    request_id = ask(cli, person_id)

    listed = cli.run("request", "list", "--json", user="reviewer1")
    approved = cli.run("request", "approve", str(request_id), "--reason", "已核对",
                       user="reviewer1")
    by_new = cli.run("person", "find", "--json", user="clerk1", stdin=NEW_NUMBER + "\n")
    by_old = cli.run("person", "find", "--json", user="clerk1", stdin=OLD_NUMBER + "\n")

    views = json.loads(listed.out)
    assert [v["request_id"] for v in views] == [str(request_id)]
    assert views[0]["details"]["id_number"] == NEW_NUMBER[:6] + "********" + NEW_NUMBER[-4:]
    assert views[0]["requester"] == "clerk1"
    assert approved.code == 0, approved.err
    assert json.loads(by_new.out)[0]["person_id"] == str(person_id)
    assert json.loads(by_old.out)[0]["outcome"] == "not_found"


def test_number_never_echoed(cli: Cli, person_id: UUID) -> None:
    submitted = cli.run("request", "correct-id", "--person", str(person_id), "--reason", "核对有误",
                    user="clerk1", stdin=NEW_NUMBER + "\n")

    assert submitted.code == 0
    assert NEW_NUMBER not in submitted.out + submitted.err


def test_own_approval_exits_denied(cli: Cli, person_id: UUID) -> None:
    assert cli.add_user("both1", "clerk", "reviewer").code == 0
    request_id = ask(cli, person_id, user="both1")

    approved = cli.run("request", "approve", str(request_id), "--reason", "自批", user="both1")

    assert approved.code == 3
    assert "REQUEST_OWN_REVIEW" in approved.err


def test_reject_then_approve_fails(cli: Cli, person_id: UUID) -> None:
    request_id = ask(cli, person_id)
    assert cli.add_user("reviewer2", "reviewer").code == 0

    rejected = cli.run("request", "reject", str(request_id), "--reason", "材料不足",
                       user="reviewer1")
    approved = cli.run("request", "approve", str(request_id), "--reason", "批准",
                       user="reviewer2")
    listed = cli.run("request", "list", "--status", "rejected", "--json", user="reviewer2")

    assert rejected.code == 0, rejected.err
    assert approved.code == 1
    assert "REQUEST_NOT_PENDING" in approved.err
    assert [v["decision_reason"] for v in json.loads(listed.out)] == ["材料不足"]


def test_malformed_request_id_rejected(cli: Cli) -> None:
    approved = cli.run("request", "approve", "not-an-id", "--reason", "批准", user="reviewer1")

    assert approved.code == 1
    assert "ID_INVALID" in approved.err
