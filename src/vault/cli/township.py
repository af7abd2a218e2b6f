"""An invented township as a registration workbook, for the demo and for tests.

Names come from Faker's zh_CN provider; ID numbers are built on the county code
331024 with a valid check character, so they pass validation but belong to nobody.
The workbook has the layout offices use: a title row, a filing row, the header on
row 3, then one row per person grouped by household.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from vault.domain.idnumbers import check_character

COUNTY = "331024"
TOWNSHIP = "331024104"
HEADER = ("序号", "户编号", "村(居)委会", "姓名", "性别", "民族", "出生日期", "公民身份号码",
          "与户主关系", "联系电话")
VILLAGE_NAMES = ("东溪村", "西岭村", "南坑村", "北山村", "枫树村", "石门村", "竹园村", "桥头村")


@dataclass(frozen=True, slots=True)
class Resident:
    """One invented resident, with the values of one workbook row."""

    household_number: str
    village_code: str
    village_name: str
    name: str
    sex: str
    birth_date: date
    id_number: str
    relationship: str
    phone: str


def village_codes(villages: int) -> list[str]:
    return [f"{TOWNSHIP}{201 + index:03d}" for index in range(villages)]


def invent_township(residents: int, *, villages: int = 5, seed: int = 1) -> list[Resident]:
    """Return about ``residents`` invented people in households of one to five."""
    from faker import Faker  # noqa: PLC0415  # only the demo and tests invent people

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311  # invented data, not a secret
    codes = village_codes(villages)
    used: set[str] = set()
    people: list[Resident] = []
    households = 0
    while len(people) < residents:
        households += 1
        index = households % len(codes)
        village = codes[index]
        # 18 digits: the village, a group number and a serial of 0001-9999 per village.
        serial = households // len(codes) % 9999 + 1
        household = f"{village}{rng.randint(1, 12):02d}{serial:04d}"
        size = min(rng.randint(1, 5), residents - len(people))
        head_born = _date(rng, 1945, 1990)
        for member in range(size):
            relationship, born = _member(rng, member, head_born)
            male = rng.random() < 0.5 if member > 1 else member == 0
            name = fake.name_male() if male else fake.name_female()
            people.append(Resident(
                household_number=household, village_code=village,
                village_name=VILLAGE_NAMES[index % len(VILLAGE_NAMES)], name=name,
                sex="男" if male else "女", birth_date=born,
                id_number=_id_number(rng, born, male, used), relationship=relationship,
                phone=f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
            ))
    return people


def write_township(path: Path, people: list[Resident]) -> Path:
    """Write ``people`` as a registration workbook at ``path``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("登记表")
    sheet.append(["样本镇全员人口信息登记表（虚构数据）"])
    sheet.append(["填报单位：样本镇计生办（人物均为虚构）"])
    sheet.append(list(HEADER))
    for number, person in enumerate(people, start=1):
        sheet.append([
            number, person.household_number, person.village_name, person.name, person.sex,
            "汉族", person.birth_date.strftime("%Y.%m.%d"), person.id_number,
            person.relationship, person.phone,
        ])
    workbook.save(path)
    return path


def _member(rng: random.Random, member: int, head_born: date) -> tuple[str, date]:
    if member == 0:
        return "户主", head_born
    if member == 1:
        return "配偶", head_born + timedelta(days=rng.randint(-1500, 1500))
    born = head_born + timedelta(days=rng.randint(20 * 365, 40 * 365))
    return rng.choice(("子", "女")), min(born, date(2024, 12, 31))


def _date(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1)
    return start + timedelta(days=rng.randint(0, (last_year - first_year) * 365))


def _id_number(rng: random.Random, born: date, male: bool, used: set[str]) -> str:
    while True:
        sequence = rng.randint(0, 499) * 2 + (1 if male else 0)
        first17 = f"{COUNTY}{born:%Y%m%d}{sequence:03d}"
        if first17 not in used:
            used.add(first17)
            return first17 + check_character(first17)
