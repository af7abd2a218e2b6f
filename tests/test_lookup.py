"""Looking residents up by ID number: masking and denial by role, one audit record each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import TODAY
from tests.strategies import with_check
from tests.support import account, registry, run_import
from vault.access import LOOKUP, Gate
from vault.accounts import Account
from vault.bootstrap import Services, policies_dir
from vault.clock import FixedClock
from vault.policy import load_policies
from vault.store.config import StoreConfig

VILLAGE_A = "331024103201"
VILLAGE_B = "331024103202"
ADULT_A = with_check("33102419800315231")   # male, born 1980
CHILD_A = with_check("33102420160607232")   # female, born 2016: under 14
ADULT_B = with_check("33102419751120451")   # male, born 1975
HEADER = ["户编号", "姓名", "性别", "民族", "出生日期", "公民身份号码", "与户主关系",
          "联系电话", "户籍地址"]
ROWS = [
    [f"{VILLAGE_A}010001", "欧阳明远", "男", "汉族", "1980-03-15", ADULT_A, "户主",
     "13812345678", "浙江省台州市仙居县清溪镇上塘村1组3号"],
    [f"{VILLAGE_A}010001", "欧阳小雨", "女", "汉族", "2016-06-07", CHILD_A, "女",
     None, "浙江省台州市仙居县清溪镇上塘村1组3号"],
    [f"{VILLAGE_B}020001", "买买提·艾力", "男", "维吾尔族", "1975-11-20", ADULT_B, "户主",
     "0576-87654321", "浙江省台州市仙居县清溪镇下塘村2组8号"],
]


@dataclass
class World:
    services: Services
    gate: Gate
    accounts: dict[str, Account]


@pytest.fixture
def world(store_config: StoreConfig, tmp_path: Path) -> Iterator[World]:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["清溪镇全员人口信息登记表"])
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    path = tmp_path / "lookup.xlsx"
    workbook.save(path)

    with registry(store_config, FixedClock(TODAY)) as services:
        accounts = {
            "clerk_a": account(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A),
            "clerk_b": account(services, "clerk-b", "clerk", jurisdiction=VILLAGE_B),
            "reviewer": account(services, "reviewer", "reviewer"),
            "officer": account(services, "officer", "security-officer"),
            "department": account(services, "health", "department", department="health"),
            "system_admin": account(services, "sysadmin", "system-admin", jurisdiction=""),
            "security_admin": account(services, "secadmin", "security-admin", jurisdiction=""),
        }
        clerk = account(services, "clerk-county", "clerk")
        assert run_import(services, clerk, path).registered == 3
        yield World(services, Gate(services, load_policies(policies_dir())), accounts)





def _lookups(world: World) -> int:
    return world.services.audit.count(LOOKUP)


def test_clerk_sees_own_village_in_full(world: World) -> None:
    """A clerk sees an adult of their own village with every field unmasked."""
    access = world.gate.find_by_id_number(world.accounts["clerk_a"], ADULT_A, request_id="t")

    assert access.outcome == "found"
    assert access.person is not None
    assert access.person.fields["name"] == "欧阳明远"
    assert access.person.fields["id_number"] == ADULT_A
    assert access.person.fields["phone"] == "13812345678"
    assert access.person.fields["ethnicity"] == "01"


def test_clerk_denied_other_village(world: World) -> None:
    """A clerk of village A asking for a person of village B is denied."""
    access = world.gate.find_by_id_number(world.accounts["clerk_a"], ADULT_B, request_id="t")

    assert access.outcome == "denied"
    assert access.person is None
    assert access.problem is not None
    assert access.problem.code == "OUTSIDE_JURISDICTION"


def test_denial_is_audited(world: World) -> None:
    """The denied look-up leaves one audit record naming the person and the outcome."""
    world.gate.find_by_id_number(world.accounts["clerk_a"], ADULT_B, request_id="denied-1")

    records = world.services.audit.records(action=LOOKUP)
    assert len(records) == 1
    assert records[0]["outcome"] == "denied"
    assert records[0]["reason"] == "OUTSIDE_JURISDICTION"
    assert len(records[0]["subject_ids"]) == 1
    assert records[0]["fields"] == []


@pytest.mark.parametrize("role", ["reviewer", "officer"])
def test_reviewers_see_masked_forms(world: World, role: str) -> None:
    """Reviewers and security officers see masked names, numbers and phones, no sensitive field."""
    access = world.gate.find_by_id_number(world.accounts[role], ADULT_B, request_id="t")

    assert access.person is not None
    fields = access.person.fields
    assert fields["name"] == "买*"
    assert fields["id_number"] == ADULT_B[:6] + "********" + ADULT_B[-4:]
    assert fields["phone"] == "0576-****4321"
    assert fields["registered_address"] == "浙江省台州市仙居县清溪镇"
    assert "ethnicity" not in fields
    assert "marital_status" not in fields


@pytest.mark.parametrize("role", ["reviewer", "officer"])
def test_reviewers_denied_children(world: World, role: str) -> None:
    """All data of a child under 14 is sensitive, so reviewers get none of it."""
    access = world.gate.find_by_id_number(world.accounts[role], CHILD_A, request_id="t")

    assert access.outcome == "denied"
    assert access.problem is not None
    assert access.problem.code == "MINOR_DATA_SENSITIVE"


@pytest.mark.parametrize("role", ["department", "system_admin", "security_admin"])
def test_non_readers_denied(world: World, role: str) -> None:
    """System and security admins and department users cannot look residents up."""
    access = world.gate.find_by_id_number(world.accounts[role], ADULT_A, request_id="t")

    assert access.outcome == "denied"
    assert access.person is None
    assert _lookups(world) == 1


@pytest.mark.parametrize(
    ("role", "number", "outcome"),
    [
        ("clerk_a", ADULT_A, "found"),
        ("clerk_a", ADULT_B, "denied"),
        ("clerk_a", "110105194910010016", "invalid"),
        ("clerk_a", "110105194910010015", "not_found"),
        ("reviewer", CHILD_A, "denied"),
        ("department", ADULT_A, "denied"),
    ],
)
def test_one_record_per_number(world: World, role: str, number: str, outcome: str) -> None:
    """Each number looked up, whatever the outcome, appends exactly one record."""
    before = _lookups(world)

    access = world.gate.find_by_id_number(world.accounts[role], number, request_id="t")

    assert access.outcome == outcome
    assert _lookups(world) == before + 1


def test_record_names_returned_fields(world: World) -> None:
    """A found look-up records the field names returned and the policy version."""
    access = world.gate.find_by_id_number(world.accounts["reviewer"], ADULT_A, request_id="r")

    record = world.services.audit.records(action=LOOKUP)[-1]
    assert access.person is not None
    assert sorted(record["fields"]) == sorted(access.person.fields)
    assert record["policy_version"] == world.gate.policy.version
    assert record["subject_ids"] == [str(access.person.person_id)]


def test_number_cleaned_before_lookup(world: World) -> None:
    """Full-width digits and spaces in the typed number still find the person."""
    typed = " ".join([ADULT_A[:6], ADULT_A[6:14], ADULT_A[14:]]).translate(
        {ord(d): ord(d) + 0xFEE0 for d in "0123456789"})

    access = world.gate.find_by_id_number(world.accounts["clerk_a"], typed, request_id="t")

    assert access.outcome == "found"
