"""Masking functions: the display forms of each field kind."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from vault.domain.fields import FIELDS
from vault.errors import PolicyError
from vault.policy.masking import (
    HIDDEN,
    MASKS,
    MaskContext,
    apply_mask,
    mask_address,
    mask_age_band,
    mask_birth_year,
    mask_fits,
    mask_id_number,
    mask_name,
    mask_phone,
    pseudonym,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("331024199001010015", "331024********0015"),
        ("33102419900101001X", "331024********001X"),
        ("331024900101001", "331024*****1001"),
        ("  331024199001010015 ", "331024********0015"),
        ("1234567890", "**********"),
        ("", ""),
    ],
)
def test_id_number_mask(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("欧阳修远", "欧*"),
        ("买买提·艾力", "买*"),
        ("李", "*"),
        ("𠀀明", "𠀀*"),  # U+20000, outside the BMP: one character, two UTF-16 units
        ("𠀀", "*"),
        ("John Smith", "J*"),
        ("Ａｌｉ", "Ａ*"),
        ("葛\U000e0100明", "葛\U000e0100*"),  # ideographic variation selector stays attached
        ("  王五 ", "王*"),
        ("", ""),
    ],
)
def test_name_mask(value: str, expected: str) -> None:
    assert mask_name(value) == expected


def test_name_mask_hides_length() -> None:
    assert mask_name("王五") == mask_name("王五六七八")[:1] + "*" == "王*"
    assert len(mask_name("王五")) == len(mask_name("王五六七八"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812341234", "138****1234"),
        ("+86 138 1234 5678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("86-13812345678", "138****5678"),
        ("8613812345678", "138****5678"),
        ("0086 13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
    ],
)
def test_phone_mask_mobile(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0576-87654321", "0576-****4321"),
        ("0576 8765 4321", "0576-****4321"),
        ("057687654321", "0576-****4321"),
        ("010-12344321", "010-****4321"),
        ("01012344321", "010-****4321"),
        ("021-1234567", "021-****4567"),
    ],
)
def test_phone_mask_landline(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0576-87654321转808", "*" * 15 + "08"),
        ("+1 415 555 0100", "*************00"),
        ("12345", "***45"),
        ("无", "*"),
        ("12", "**"),
    ],
)
def test_phone_mask_other_keeps_last_two(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


def test_phone_mask_never_returns_value() -> None:
    for value in ("13812341234", "0576-87654321", "abc", "7", "+86 138 1234 5678"):
        assert mask_phone(value) != value


def _counties(code: str) -> str | None:
    return {"331024": "浙江省台州市仙居县"}.get(code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("浙江省台州市仙居县清溪镇下坑村3组12号", "浙江省台州市仙居县清溪镇"),
        ("浙江省台州市仙居县清溪镇", "浙江省台州市仙居县清溪镇"),
        ("清溪镇新镇村5号", "清溪镇"),
        ("浙江省宁波市镇海区蛟川街道俞范社区8幢", "浙江省宁波市镇海区蛟川街道"),
        ("北京市海淀区中关村街道办事处某号", "北京市海淀区中关村街道办事处"),
        ("河南省新乡市红旗区洪门镇小店村", "河南省新乡市红旗区洪门镇"),
        ("江苏省镇江市润州区蒋乔街道", "江苏省镇江市润州区蒋乔街道"),
        ("甘肃省临夏州东乡族自治县锁南镇", "甘肃省临夏州东乡族自治县锁南镇"),
        (
            "内蒙古自治区锡林郭勒盟阿巴嘎旗洪格尔苏木某嘎查",
            "内蒙古自治区锡林郭勒盟阿巴嘎旗洪格尔苏木",
        ),
    ],
)
def test_address_mask_cuts_after_township(value: str, expected: str) -> None:
    assert mask_address(value, "331024100201", _counties) == expected


def test_address_mask_without_township_gives_county() -> None:
    assert mask_address("仙居县城南路18号", "331024100201", _counties) == "浙江省台州市仙居县"
    assert mask_address("3组", "331024100201", _counties) == "浙江省台州市仙居县"


def test_address_mask_without_county_hides() -> None:
    assert mask_address("城南路18号", "110101001001", _counties) == HIDDEN
    assert mask_address("城南路18号", None, _counties) == HIDDEN
    assert mask_address("城南路18号", "331024100201", None) == HIDDEN


def test_birth_date_masks() -> None:
    today = date(2025, 6, 1)

    assert mask_birth_year(date(1990, 3, 1)) == "1990"
    assert mask_birth_year("1990-03-01") == "1990"
    assert mask_birth_year("1990.3.1") == HIDDEN
    assert mask_age_band(date(1990, 3, 1), today) == "35-39"
    assert mask_age_band(date(1990, 6, 2), today) == "30-34"
    assert mask_age_band("2015-06-01", today) == "10-14"
    assert mask_age_band(date(2030, 1, 1), today) == HIDDEN


def test_pseudonym_depends_on_key_and_subject() -> None:
    subject = UUID("12345678-1234-5678-1234-567812345678")
    other = UUID("87654321-4321-8765-4321-876543218765")
    key_2025 = b"health-2025-key-32-bytes-long!!!"
    key_2026 = b"health-2026-key-32-bytes-long!!!"

    first = pseudonym(subject, key_2025)

    assert first == pseudonym(subject, key_2025)
    assert len(first) == 64
    assert first != pseudonym(subject, key_2026)
    assert first != pseudonym(other, key_2025)
    assert str(subject) not in first


def test_pseudonym_rejects_short_key() -> None:
    with pytest.raises(PolicyError) as caught:
        pseudonym(UUID(int=1), b"short")
    assert caught.value.code == "PSEUDONYM_KEY_TOO_SHORT"


def test_every_mask_fits_declared_kinds_only() -> None:
    kinds = {field.kind for field in FIELDS}
    assert mask_fits("id_number", "id_number")
    assert not mask_fits("id_number", "phone")
    assert not mask_fits("name", "address")
    assert not mask_fits("address", "code")
    assert mask_fits("birth_year", "birth_date")
    assert not mask_fits("birth_year", "date")
    assert mask_fits("pseudonym", "id_number")
    assert not mask_fits("pseudonym", "name")
    assert not mask_fits("no-such-mask", "text")
    for kind in kinds:
        assert mask_fits("full", kind)
        assert mask_fits("hidden", kind)


def test_apply_mask_by_name() -> None:
    context = MaskContext(
        today=date(2025, 6, 1),
        division_code="331024100201",
        county_name=_counties,
        subject_id=UUID(int=7),
        pseudonym_key=b"k" * 32,
    )

    assert apply_mask("full", "张三", context) == "张三"
    assert apply_mask("hidden", "张三", context) == HIDDEN
    assert apply_mask("name", "张三", context) == "张*"
    assert apply_mask("age_band", "1990-03-01", context) == "35-39"
    assert apply_mask("address", "城南路", context) == "浙江省台州市仙居县"
    assert apply_mask("pseudonym", "331024199001010015", context) == pseudonym(
        UUID(int=7), b"k" * 32
    )
    assert apply_mask("name", None, context) is None
    assert set(MASKS) == {
        "full",
        "hidden",
        "id_number",
        "name",
        "phone",
        "address",
        "birth_year",
        "age_band",
        "pseudonym",
    }


def test_apply_mask_fails_closed() -> None:
    with pytest.raises(PolicyError) as unknown:
        apply_mask("no-such-mask", "张三")
    with pytest.raises(PolicyError) as no_today:
        apply_mask("age_band", "1990-03-01", MaskContext())
    with pytest.raises(PolicyError) as no_key:
        apply_mask("pseudonym", "x", MaskContext(subject_id=UUID(int=1)))

    assert unknown.value.code == "MASK_UNKNOWN"
    assert no_today.value.code == "MASK_CONTEXT_MISSING"
    assert no_key.value.code == "MASK_CONTEXT_MISSING"
