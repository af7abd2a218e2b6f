"""Invented residents for import tests and benchmarks, grouped in households.

Names come from Faker's zh_CN provider. ID numbers use real county codes (GB/T
2260, as python-stdnum lists them), a birth date, a sequence whose last digit
matches the sex, and a computed MOD 11-2 check character, so they pass validation
but belong to no real person. Every number is unique within one generator, and the same
seed gives the same residents.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from vault.domain.idnumbers import check_character

# 仙居县 (Zhejiang) for most residents; people who married in or moved in come from
# other real counties.
HOME_COUNTY = "331024"
OTHER_COUNTIES = ("330106", "331002", "330381", "330521", "320583", "340104", "360302")
TOWNSHIP = HOME_COUNTY + "103"
VILLAGES = {
    TOWNSHIP + "201": "上塘村",
    TOWNSHIP + "202": "下岙村",
    TOWNSHIP + "203": "溪头村",
    TOWNSHIP + "204": "石门村",
    TOWNSHIP + "205": "岭脚村",
}

HEADER = (
    "序号", "户编号", "村(居)委会", "村民小组", "门牌号", "姓名", "性别", "民族", "出生日期",
    "公民身份号码", "与户主关系", "婚姻状况", "文化程度", "户口性质", "户籍地址", "人员类别",
    "联系电话", "备注",
)


@dataclass(frozen=True, slots=True)
class Resident:
    """One invented resident, with values as a clerk types them."""

    household_number: str
    village_name: str
    group: str
    house_number: str
    name: str
    sex: str
    ethnicity: str
    birth_date: date
    id_number: str
    relationship: str
    marital_status: str
    education: str
    hukou_type: str
    address: str
    phone: str

    @property
    def village_code(self) -> str:
        return self.household_number[:12]

    def row(self, serial: int) -> list[str | int]:
        """Return the resident's values in ``HEADER`` order, the birth date as ``YYYY.M.D``."""
        birth = f"{self.birth_date.year}.{self.birth_date.month}.{self.birth_date.day}"
        return [
            serial, self.household_number, self.village_name, self.group, self.house_number,
            self.name, self.sex, self.ethnicity, birth, self.id_number, self.relationship,
            self.marital_status, self.education, self.hukou_type, self.address, "常住",
            self.phone, "",
        ]


class ResidentGenerator:
    """Generate households of invented residents, one household after another."""

    def __init__(self, seed: int = 2026) -> None:
        self._faker = Faker("zh_CN")
        self._faker.seed_instance(seed)
        self._random = random.Random(seed)  # noqa: S311  # invented data, not secrets
        # Next free sequence per (county, birth date, sex), so that no number repeats.
        self._sequences: dict[tuple[str, date, str], int] = {}
        self._serials: dict[tuple[str, int], int] = {}

    def residents(self, count: int) -> Iterator[Resident]:
        """Yield ``count`` residents; the last household may be cut short."""
        produced = 0
        while produced < count:
            for resident in self._household():
                if produced == count:
                    return
                produced += 1
                yield resident

    def _household(self) -> list[Resident]:
        draw = self._random
        village_code = draw.choice(list(VILLAGES))
        group = draw.randint(1, 12)
        serial = self._serials.get((village_code, group), 0) + 1
        self._serials[(village_code, group)] = serial
        number = f"{village_code}{group:02d}{serial:04d}"
        house = f"{draw.randint(1, 200)}号"
        address = f"浙江省台州市仙居县清溪镇{VILLAGES[village_code]}{group}组{house}"
        surname = self._faker.last_name()

        head_sex = draw.choice("男女")
        head_born = self._birth_date(1945, 1990)
        members = [("户主", head_sex, head_born, surname)]
        if draw.random() < 0.8:
            spouse_sex = "女" if head_sex == "男" else "男"
            spouse_born = head_born + timedelta(days=draw.randint(-1500, 1500))
            members.append(("配偶", spouse_sex, spouse_born, self._faker.last_name()))
        for _ in range(draw.choice((0, 1, 1, 2, 2, 3))):
            sex = draw.choice("男女")
            born = self._birth_date(min(head_born.year + 20, 2020), min(head_born.year + 40, 2024))
            members.append(("子" if sex == "男" else "女", sex, born, surname))

        return [
            self._resident(number, village_code, group, house, address, member)
            for member in members
        ]

    def _resident(
        self, number: str, village_code: str, group: int, house: str, address: str,
        member: tuple[str, str, date, str],
    ) -> Resident:
        relationship, sex, born, surname = member
        draw = self._random
        given = self._faker.first_name_male() if sex == "男" else self._faker.first_name_female()
        county = HOME_COUNTY if relationship != "配偶" or draw.random() < 0.6 else draw.choice(
            OTHER_COUNTIES)
        adult = born.year <= 2006
        return Resident(
            household_number=number,
            village_name=VILLAGES[village_code],
            group=f"{group}组",
            house_number=house,
            name=surname + given,
            sex=sex,
            ethnicity="汉族" if draw.random() < 0.97 else draw.choice(("畲族", "回族", "苗族")),
            birth_date=born,
            id_number=self._id_number(county, born, sex),
            relationship=relationship,
            marital_status=("已婚" if relationship in ("户主", "配偶") else
                            draw.choice(("未婚", "已婚")) if adult else "未婚"),
            education=draw.choice(("小学", "初中", "高中", "中专", "大学本科")),
            hukou_type=draw.choice(("农业", "非农业", "居民")),
            address=address,
            phone=f"1{draw.choice('3589')}{draw.randint(0, 999_999_999):09d}" if adult else "",
        )

    def _birth_date(self, first_year: int, last_year: int) -> date:
        start = date(first_year, 1, 1)
        span = (date(last_year, 12, 31) - start).days
        return start + timedelta(days=self._random.randint(0, span))

    def _id_number(self, county: str, born: date, sex: str) -> str:
        key = (county, born, sex)
        index = self._sequences.get(key, 0)
        self._sequences[key] = index + 1
        # The 17th digit is odd for men and even for women.
        sequence = index * 2 + (1 if sex == "男" else 0)
        if sequence > 999:
            raise ValueError("more than 500 residents of one sex share a county and birth date")
        first17 = f"{county}{born:%Y%m%d}{sequence:03d}"
        return first17 + check_character(first17)


def write_residents_csv(
    path: Path, count: int, *, seed: int = 2026, encoding: str = "utf-8"
) -> Path:
    """Write ``count`` residents as CSV with ``HEADER`` on line 1 and return ``path``."""
    generator = ResidentGenerator(seed)
    with path.open("w", newline="", encoding=encoding) as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(HEADER)
        for serial, resident in enumerate(generator.residents(count), start=1):
            writer.writerow(resident.row(serial))
    return path
