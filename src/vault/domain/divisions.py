"""Division codes, household numbers, the office's village table and county look-ups.

A statistical division code has 12 digits: the county (6, GB/T 2260), the township
(3) and the village (3). Township 001-099 are street offices (街道), 100-199 towns
(镇) and 200-399 townships (乡); village 001-199 are urban communities (居委会) and
200-399 villages (村委会). The household number (户编码) of the national collection
form is the 12-digit village code, a 2-digit villagers' group and a 4-digit serial.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal, Protocol

from vault.errors import InvalidValue

__all__ = [
    "PROVINCE_PREFIXES",
    "CountyCodes",
    "HouseholdNumber",
    "Village",
    "VillageTable",
    "find_county_in_address",
    "parse_household_number",
    "parse_village_code",
    "township_kind",
    "village_kind",
]

# Province-level prefixes of GB/T 2260 that appear in citizen ID numbers.
PROVINCE_PREFIXES = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
)


class CountyCodes(Protocol):
    """The GB/T 2260 county codes of every revision, with their names.

    Codes are 6-digit strings. Province (``xx0000``) and prefecture (``xxxx00``)
    codes are included, because address look-ups need their names.
    """

    def is_known(self, code6: str) -> bool:
        """Return whether ``code6`` appears in any revision of GB/T 2260."""
        ...

    def name(self, code6: str) -> str | None:
        """Return the latest name of ``code6``, or ``None`` for an unknown code."""
        ...

    def codes_named(self, name: str) -> Sequence[str]:
        """Return every code that bore ``name`` (such as ``鄞州区``) in any revision."""
        ...


# -- division codes --------------------------------------------------------

TownshipKind = Literal["street_office", "town", "township"]
VillageKind = Literal["community", "village"]


def township_kind(code: str, field: str = "village_code") -> TownshipKind:
    """Return the kind of township that digits 7-9 of a 12-digit code denote."""
    number = int(code[6:9])
    if 1 <= number <= 99:
        return "street_office"
    if 100 <= number <= 199:
        return "town"
    if 200 <= number <= 399:
        return "township"
    raise _division_error("DIVISION_TOWNSHIP", "乡镇（街道）代码", "township code", field)


def village_kind(code: str, field: str = "village_code") -> VillageKind:
    """Return the kind of village committee that digits 10-12 of a code denote."""
    number = int(code[9:12])
    if 1 <= number <= 199:
        return "community"
    if 200 <= number <= 399:
        return "village"
    raise _division_error("DIVISION_VILLAGE", "村（居）委会代码", "village code", field)


def _division_error(code: str, part_zh: str, part_en: str, field: str) -> InvalidValue:
    return InvalidValue(
        f"{part_zh}超出范围：乡镇为 001-399，村（居）委会为 001-399",
        f"The {part_en} is out of range: townships are 001-399 and villages 001-399",
        code=code,
        field=field,
    )


def parse_village_code(raw: str, field: str = "village_code") -> str:
    """Validate a 12-digit village code and return it.

    The county part must start with a province prefix; the township and village
    parts must lie in the ranges above. The code need not appear in any national
    table, because offices assign their own village codes.
    """
    code = unicodedata.normalize("NFKC", raw).strip()
    if not re.fullmatch(r"\d{12}", code):
        raise InvalidValue(
            "村（居）委会代码应为12位数字",
            "A village code must have 12 digits",
            code="DIVISION_FORMAT",
            field=field,
        )
    if code[:2] not in PROVINCE_PREFIXES:
        raise InvalidValue(
            "区划代码的省级代码无效",
            "The province part of the division code is invalid",
            code="DIVISION_PROVINCE",
            field=field,
            value=code[:2],
        )
    township_kind(code, field)
    village_kind(code, field)
    return code


@dataclass(frozen=True, slots=True)
class HouseholdNumber:
    """An 18-digit household number: village code, group and serial."""

    village_code: str
    group: str
    serial: str

    def __str__(self) -> str:
        return f"{self.village_code}{self.group}{self.serial}"


def parse_household_number(raw: str, field: str = "household_number") -> HouseholdNumber:
    """Validate an 18-digit household number and split it.

    Group ``00`` is allowed, because urban communities have no villagers' groups;
    serial ``0000`` is not.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not re.fullmatch(r"\d{18}", text):
        raise InvalidValue(
            "户编码应为18位数字（12位村（居）委会代码 + 2位组号 + 4位户序号）",
            "A household number must have 18 digits (12-digit village code, 2-digit "
            "group, 4-digit serial)",
            code="HOUSEHOLD_NUMBER_FORMAT",
            field=field,
        )
    village = parse_village_code(text[:12], field)
    if text[14:] == "0000":
        raise InvalidValue(
            "户编码的户序号不能为0000",
            "The serial part of a household number cannot be 0000",
            code="HOUSEHOLD_NUMBER_SERIAL",
            field=field,
        )
    return HouseholdNumber(village, text[12:14], text[14:])


# -- village table ---------------------------------------------------------

# Longest first, so that 社区居委会 is removed before 居委会.
_VILLAGE_SUFFIXES = (
    "社区居民委员会", "社区居委会", "村民委员会", "居民委员会", "村委会", "居委会", "社区",
    "村",
)


def _normalise_village_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    return "".join(char for char in text if not (char.isspace() or unicodedata.category(char)
                                                  in {"Zs", "Cf"}))


def _village_stem(name: str) -> str:
    normalised = _normalise_village_name(name)
    for suffix in _VILLAGE_SUFFIXES:
        if normalised.endswith(suffix) and len(normalised) > len(suffix):
            return normalised[: -len(suffix)]
    return normalised


@dataclass(frozen=True, slots=True)
class Village:
    """One village committee or community as the office defines it.

    ``valid_to`` is the last day on which the code was in use (inclusive); ``None``
    means still in use.
    """

    code: str
    name: str
    valid_from: date | None = None
    valid_to: date | None = None

    def is_valid_on(self, day: date) -> bool:
        """Return whether the code was in use on ``day``."""
        started = self.valid_from is None or self.valid_from <= day
        not_ended = self.valid_to is None or day <= self.valid_to
        return started and not_ended


@dataclass(frozen=True, slots=True)
class VillageTable:
    """The office's villages, versioned by date; an entry is retired, never deleted."""

    villages: tuple[Village, ...] = ()
    # Code -> entries, built once: validation looks a code up for every row.
    _by_code: dict[str, tuple[Village, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        index: dict[str, list[Village]] = {}
        for village in self.villages:
            index.setdefault(village.code, []).append(village)
        object.__setattr__(self, "_by_code", {code: tuple(v) for code, v in index.items()})

    @classmethod
    def of(cls, villages: Iterable[Village]) -> VillageTable:
        """Build a table, validating every code."""
        checked = tuple(replace(v, code=parse_village_code(v.code)) for v in villages)
        return cls(checked)

    def with_village(self, village: Village) -> VillageTable:
        """Return a table with ``village`` added."""
        checked = replace(village, code=parse_village_code(village.code))
        return VillageTable((*self.villages, checked))

    def retired(self, code: str, valid_to: date) -> VillageTable:
        """Return a table in which the entries for ``code`` end on ``valid_to``."""
        if not any(v.code == code for v in self.villages):
            raise InvalidValue(
                "村（居）委会代码不在本单位村表中",
                "The village code is not in the office's village table",
                code="VILLAGE_NOT_FOUND",
                field="village_code",
                value=code,
            )
        return VillageTable(tuple(
            replace(v, valid_to=valid_to) if v.code == code and v.valid_to is None else v
            for v in self.villages
        ))

    def by_code(self, code: str) -> tuple[Village, ...]:
        """Return every entry (current and retired) with ``code``."""
        return self._by_code.get(code, ())

    def resolve_name(self, name: str, on: date, field: str = "village") -> Village:
        """Return the one village called ``name`` that was in use on ``on``.

        The name is compared after NFKC and without white space. When no entry has
        exactly that name, the name is compared without a 村 / 村委会 / 社区 / 居委会
        suffix (``前进`` finds ``前进村``). Raises ``InvalidValue`` when no entry or
        more than one entry matches.
        """
        current = [v for v in self.villages if v.is_valid_on(on)]
        wanted = _normalise_village_name(name)
        exact = {v.code: v for v in current if _normalise_village_name(v.name) == wanted}
        if len(exact) == 1:
            return next(iter(exact.values()))
        if not exact:
            stem = _village_stem(name)
            by_stem = {v.code: v for v in current if _village_stem(v.name) == stem}
            if len(by_stem) == 1:
                return next(iter(by_stem.values()))
            if not by_stem:
                raise InvalidValue(
                    "村（居）委会名称在本单位村表中找不到",
                    "The village name is not in the office's village table",
                    code="VILLAGE_UNKNOWN",
                    field=field,
                    value=name.strip(),
                )
        raise InvalidValue(
            "村（居）委会名称对应多个代码，请填写户编码或完整名称",
            "The village name matches more than one code: give the household number or "
            "the full name",
            code="VILLAGE_AMBIGUOUS",
            field=field,
            value=name.strip(),
        )


# -- county in free address text -------------------------------------------

# Maximum length of a place name to look up, in characters. The longest names in
# python-stdnum 2.2's table, such as 积石山保安族东乡族撒拉族自治县, have 15.
_MAX_NAME_LENGTH = 16


def find_county_in_address(text: str, counties: CountyCodes) -> str | None:
    """Return the county code named in an address such as ``浙江省宁波市鄞州区``.

    Every substring of the address that is the name of a county-level code in some
    revision is a candidate. A candidate scores a point when the name of its
    province, and another when the name of its prefecture, also occurs in the
    address. The single best-scoring code is returned; no match or a tie (``朝阳区``
    alone is in Beijing and in Changchun) returns ``None``, never an error.
    """
    address = "".join(
        char for char in unicodedata.normalize("NFKC", text)
        if not (char.isspace() or unicodedata.category(char) == "Cf")
    )
    named: set[str] = set()
    for start in range(len(address)):
        for end in range(start + 2, min(len(address), start + _MAX_NAME_LENGTH) + 1):
            named.update(counties.codes_named(address[start:end]))

    county_level = {code for code in named if code[4:] != "00"}
    scores: dict[str, int] = {}
    for code in county_level:
        province = f"{code[:2]}0000" in named
        prefecture = f"{code[:4]}00" in named
        scores[code] = int(province) + int(prefecture)
    if not scores:
        return None
    best = max(scores.values())
    winners = [code for code, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None
