"""Division codes, household numbers, the village table and county look-ups."""

from __future__ import annotations

from datetime import date

import pytest

from vault.domain.divisions import (
    Village,
    VillageTable,
    find_county_in_address,
    parse_household_number,
    parse_village_code,
    township_kind,
    village_kind,
)
from vault.errors import InvalidValue
from vault.reference import StdnumCountyCodes, county_codes

TODAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def counties() -> StdnumCountyCodes:
    return StdnumCountyCodes()


# -- division codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "township", "village"),
    [("331024001001", "street_office", "community"), ("331024100201", "town", "village"),
     ("331024399399", "township", "village"), ("331024150199", "town", "community")],
)
def test_code_ranges_classified(code: str, township: str, village: str) -> None:
    assert parse_village_code(code) == code
    assert township_kind(code) == township
    assert village_kind(code) == village


@pytest.mark.parametrize(
    ("code", "error"),
    [("331024000201", "DIVISION_TOWNSHIP"), ("331024400201", "DIVISION_TOWNSHIP"),
     ("331024100000", "DIVISION_VILLAGE"), ("331024100400", "DIVISION_VILLAGE"),
     ("991024100201", "DIVISION_PROVINCE"), ("33102410020", "DIVISION_FORMAT"),
     ("33102410020A", "DIVISION_FORMAT")],
)
def test_bad_village_code_rejected(code: str, error: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_village_code(code)

    assert caught.value.code == error


def test_household_number_splits() -> None:
    number = parse_household_number("331024100201030012")

    assert number.village_code == "331024100201"
    assert number.group == "03"
    assert number.serial == "0012"
    assert str(number) == "331024100201030012"


def test_community_household_without_group() -> None:
    assert parse_household_number("331024001001000001").group == "00"


@pytest.mark.parametrize(
    ("raw", "error"),
    [("33102410020103001", "HOUSEHOLD_NUMBER_FORMAT"),
     ("331024100201030000", "HOUSEHOLD_NUMBER_SERIAL"),
     ("331024100500030001", "DIVISION_VILLAGE")],
)
def test_bad_household_number_rejected(raw: str, error: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_household_number(raw)

    assert caught.value.code == error
    assert caught.value.field == "household_number"


# -- village table -------------------------------------------------------------


def village_table() -> VillageTable:
    return VillageTable.of([
        Village("331024100201", "前进村", date(2000, 1, 1)),
        Village("331024100202", "红旗村委会"),
        Village("331024001001", "城东社区"),
        Village("331024100203", "新华村", None, date(2019, 12, 31)),
        Village("331024100204", "新华村", date(2020, 1, 1)),
        Village("331024100205", "东风村"),
        Village("331024200205", "东风社区"),
    ])


@pytest.mark.parametrize("name", ["前进村", "前进", "前进村委会", "前进村民委员会", " 前进 村 "])
def test_village_name_variants_resolve(name: str) -> None:
    assert village_table().resolve_name(name, TODAY).code == "331024100201"


def test_suffix_variant_resolves_both_ways() -> None:
    table = village_table()

    assert table.resolve_name("红旗村", TODAY).code == "331024100202"
    assert table.resolve_name("城东居委会", TODAY).code == "331024001001"


def test_retired_name_resolves_by_date() -> None:
    table = village_table()

    assert table.resolve_name("新华村", TODAY).code == "331024100204"
    assert table.resolve_name("新华村", date(2015, 6, 1)).code == "331024100203"


def test_exact_name_beats_stem() -> None:
    assert village_table().resolve_name("东风村", TODAY).code == "331024100205"


def test_ambiguous_stem_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        village_table().resolve_name("东风", TODAY)

    assert caught.value.code == "VILLAGE_AMBIGUOUS"
    assert caught.value.value == "东风"


def test_unknown_village_rejected() -> None:
    with pytest.raises(InvalidValue) as caught:
        village_table().resolve_name("幸福村", TODAY)

    assert caught.value.code == "VILLAGE_UNKNOWN"


def test_village_before_valid_from_unknown() -> None:
    with pytest.raises(InvalidValue):
        village_table().resolve_name("前进村", date(1999, 1, 1))


def test_retiring_keeps_entry() -> None:
    table = village_table().retired("331024100205", date(2026, 1, 1))

    entries = table.by_code("331024100205")
    assert len(entries) == 1
    assert entries[0].valid_to == date(2026, 1, 1)
    assert not entries[0].is_valid_on(TODAY)
    assert len(table.villages) == len(village_table().villages)


def test_retiring_unknown_code_rejected() -> None:
    with pytest.raises(InvalidValue):
        village_table().retired("331024100299", TODAY)


def test_table_rejects_malformed_code() -> None:
    with pytest.raises(InvalidValue):
        VillageTable.of([Village("3310241002", "前进村")])


def test_valid_to_is_inclusive() -> None:
    village = Village("331024100203", "新华村", None, date(2019, 12, 31))

    assert village.is_valid_on(date(2019, 12, 31))
    assert not village.is_valid_on(date(2020, 1, 1))


# -- county codes and addresses --------------------------------------------------


def test_adapter_knows_abolished_codes(counties: StdnumCountyCodes) -> None:
    assert counties.is_known("110105")
    assert counties.is_known("110103")
    assert not counties.is_known("110199")
    assert counties.name("110103") == "崇文区"


def test_shared_table_built_once() -> None:
    assert county_codes() is county_codes()
    assert county_codes().is_known("331024")


def test_adapter_keeps_renamed_code(counties: StdnumCountyCodes) -> None:
    # 120110 was 东郊区 until 1991 and 东丽区 from 1992.
    assert counties.name("120110") == "东丽区"
    assert "120110" in counties.codes_named("东郊区")
    assert [n.name for n in counties.names("120110")] == ["东郊区", "东丽区"]


@pytest.mark.parametrize(
    ("address", "county"),
    [("浙江省宁波市鄞州区", "330212"), ("浙江省宁波市鄞州区首南街道某路1号", "330212"),
     ("浙江省台州市仙居县清溪镇", "331024"), ("北京市朝阳区", "110105"),
     ("吉林省长春市朝阳区", "220104"), ("浙江 宁波 鄞州区", "330212"),
     ("上海市浦东新区", "310115")],
)
def test_county_found_in_address(address: str, county: str,
                                 counties: StdnumCountyCodes) -> None:
    assert find_county_in_address(address, counties) == county


@pytest.mark.parametrize("address", ["朝阳区", "三组12号", "", "外省", "广东打工"])
def test_unclear_address_gives_none(address: str, counties: StdnumCountyCodes) -> None:
    assert find_county_in_address(address, counties) is None
