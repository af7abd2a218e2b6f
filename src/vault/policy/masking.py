"""Masking functions: the de-identified display forms of personal fields.

Each function takes the stored (decrypted) value and returns the form a role or a
department may see. Every mask declares the field kinds it fits, so the policy
loader can reject, for example, an ID-number mask on a phone field. A value that a
mask cannot parse is hidden, not shown. Masks raise ``PolicyError`` only for a
missing argument (today, a pseudonym key) or a pseudonym key that is too short.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import get_args
from uuid import UUID

from vault.domain.fields import Kind
from vault.errors import PolicyError

HIDDEN = "***"
"""The fixed stand-in for a withheld value; it does not show the value's length."""

CountyNames = Callable[[str], str | None]
"""Port that returns the name of a county from its 6-digit code (e.g. ``浙江省台州市仙居县``),
or ``None`` when the code is unknown. The division table behind it lives in storage."""

MIN_PSEUDONYM_KEY_BYTES = 16


# -- ID number ------------------------------------------------------------


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters and star the rest: ``331024********0015``.

    A value of 10 characters or fewer would show nearly all of itself this way, so it
    is starred entirely.
    """
    text = "".join(value.split())
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


# -- name -----------------------------------------------------------------


def _first_character(text: str) -> str:
    """Return the first code point with the combining marks and variation selectors after it.

    Rare CJK characters may carry an ideographic variation selector (Unicode
    category Mn). Splitting it off would show a broken glyph.
    """
    end = 1
    while end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end += 1
    return text[:end]


def mask_name(value: str) -> str:
    """Show the first character and one ``*`` whatever the length: ``张*``, ``买*``.

    A one-character name shows only ``*``. Python strings index code points, so a
    character outside the BMP (CJK Extension B and later) counts as one character.
    A name starting with a Latin word shows only that word's first letter.
    """
    text = value.strip()
    if not text:
        return ""
    first = _first_character(text)
    if len(first) == len(text):
        return "*"
    return first + "*"


# -- phone ----------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑–—()（）]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE_SPLIT = re.compile(r"(0\d{2,3})[\s\-‐‑–—]+(\d{7,8})")
_LANDLINE_JOINED = re.compile(r"(010|02\d|0[3-9]\d{2})(\d{7,8})")


def _drop_country_code(text: str) -> str:
    """Remove a leading ``+86``, ``0086`` or ``86-`` (and the space or hyphen after it)."""
    match = re.match(r"(?:\+\s*86|0086|86(?=[\s\-]))[\s\-]*", text)
    if match:
        return text[match.end() :]
    return text


def mask_phone(value: str) -> str:
    """Mask a phone number: mobile ``138****1234``, landline ``0576-****4321``.

    The country code ``+86`` / ``86-`` is dropped first. A landline keeps its area code
    and last 4 digits. Anything else (extensions, foreign numbers, text) shows only its
    last 2 characters, and a value of 2 characters or fewer is starred entirely.
    """
    text = _drop_country_code(value.strip())
    digits = _PHONE_SEPARATORS.sub("", text)

    # A 13-digit "86…" with no separator is a mobile number written with its country code.
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    if _MOBILE.fullmatch(digits):
        return digits[:3] + "****" + digits[-4:]

    landline = _LANDLINE_SPLIT.fullmatch(text) or _LANDLINE_JOINED.fullmatch(digits)
    if landline:
        return landline.group(1) + "-****" + landline.group(2)[-4:]

    return _mask_all_but_last_two(value.strip())


def _mask_all_but_last_two(text: str) -> str:
    if len(text) <= 2:
        return "*" * len(text)
    return "*" * (len(text) - 2) + text[-2:]


# -- address --------------------------------------------------------------

# Suffixes of township-level units: towns, townships, street offices and the sumu of
# Inner Mongolia. 民族乡 ends in 乡 and is covered.
_TOWNSHIP_SUFFIXES = ("街道办事处", "街道", "苏木", "镇", "乡")
# Characters that end an administrative unit, used to tell where a unit name starts.
_UNIT_ENDINGS = ("省", "自治区", "市", "州", "盟", "地区", "县", "区", "旗", *_TOWNSHIP_SUFFIXES)
# A township suffix directly followed by one of these is part of a larger unit's name
# (新乡市, 安乡县, 东乡族自治县), not the end of a township.
_NOT_TOWNSHIP_BEFORE = ("市", "县", "区", "旗", "州", "盟", "族")


def _township_end(text: str) -> int | None:
    """Return the index just past the first township-level unit in ``text``, or ``None``.

    NOTE: this reads the text, not a gazetteer. It needs a non-empty name before the
    suffix (so 镇江市 and 镇海区 are not townships) and no county-level ending right
    after it. An address that uses none of these suffixes for its township (for
    example a bare 社区 name) is treated as naming no township.
    """
    unit_start = 0
    index = 0
    while index < len(text):
        for suffix in _UNIT_ENDINGS:
            if not text.startswith(suffix, index):
                continue
            end = index + len(suffix)
            is_township = suffix in _TOWNSHIP_SUFFIXES
            named = index > unit_start
            followed_by_unit = text.startswith(_NOT_TOWNSHIP_BEFORE, end)
            if is_township and named and not followed_by_unit:
                return end
            if named and not followed_by_unit:
                unit_start = end
            index = end - 1
            break
        index += 1
    return None


def mask_address(
    value: str, division_code: str | None = None, county_name: CountyNames | None = None
) -> str:
    """Cut an address after its township or street office: ``浙江省台州市仙居县清溪镇``.

    Where the text names no township, return the name of the county of
    ``division_code`` (its first 6 digits) from ``county_name``. When that is not
    known either, the address is hidden.
    """
    text = value.strip()
    end = _township_end(text)
    if end is not None:
        return text[:end]
    if division_code and len(division_code) >= 6 and county_name is not None:
        county = county_name(division_code[:6])
        if county:
            return county
    return HIDDEN


# -- birth date -----------------------------------------------------------


def _as_date(value: date | str) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def mask_birth_year(value: date | str) -> str:
    """Keep only the year of a birth date (a ``date`` or an ISO ``YYYY-MM-DD`` string)."""
    born = _as_date(value)
    return HIDDEN if born is None else f"{born.year:04d}"


AGE_BAND_YEARS = 5


def age_on(born: date, today: date) -> int:
    """Return the age in whole years on ``today``; someone born on 29 February ages on 1 March."""
    had_birthday = (today.month, today.day) >= (born.month, born.day)
    return today.year - born.year - (0 if had_birthday else 1)


def mask_age_band(value: date | str, today: date) -> str:
    """Replace a birth date by a 5-year age band on ``today`` (Asia/Shanghai), e.g. ``30-34``."""
    born = _as_date(value)
    if born is None or born > today:
        return HIDDEN
    low = age_on(born, today) // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


# -- pseudonym ------------------------------------------------------------


def pseudonym(subject_id: UUID, key: bytes) -> str:
    """Return HMAC-SHA256 of the subject id under ``key``, as 64 hex digits.

    The caller passes the department's key for the current period, so the same
    person gets the same pseudonym within one department and period only.
    """
    if len(key) < MIN_PSEUDONYM_KEY_BYTES:
        raise PolicyError(
            f"假名密钥过短：至少需要 {MIN_PSEUDONYM_KEY_BYTES} 字节。",
            f"The pseudonym key is too short: it needs at least {MIN_PSEUDONYM_KEY_BYTES} bytes.",
            code="PSEUDONYM_KEY_TOO_SHORT",
        )
    return hmac.new(key, subject_id.bytes, hashlib.sha256).hexdigest()


# -- the mask table -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaskContext:
    """Arguments that some masks need besides the value.

    ``today`` is for age bands, ``division_code`` and ``county_name`` for addresses
    that name no township, ``subject_id`` and ``pseudonym_key`` for pseudonyms.
    """

    today: date | None = None
    division_code: str | None = None
    county_name: CountyNames | None = None
    subject_id: UUID | None = None
    pseudonym_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Mask:
    """A masking function with its policy name, labels and the field kinds it fits."""

    name: str
    label_zh: str
    label_en: str
    kinds: frozenset[str]
    reveal_rank: int
    """How much the mask shows, for choosing between two grants: higher shows more."""
    apply: Callable[[str | date, MaskContext], str]


def _missing_context(mask: str, what: str) -> PolicyError:
    return PolicyError(
        f"掩码“{mask}”缺少所需的参数：{what}。",
        f"The mask '{mask}' is missing a required argument: {what}.",
        code="MASK_CONTEXT_MISSING",
        value=mask,
    )


def _apply_age_band(value: str | date, context: MaskContext) -> str:
    if context.today is None:
        raise _missing_context("age_band", "today")
    return mask_age_band(value, context.today)


def _apply_pseudonym(value: str | date, context: MaskContext) -> str:
    if context.subject_id is None or context.pseudonym_key is None:
        raise _missing_context("pseudonym", "subject_id, pseudonym_key")
    return pseudonym(context.subject_id, context.pseudonym_key)


ALL_KINDS: frozenset[str] = frozenset(get_args(Kind))

MASKS: dict[str, Mask] = {
    mask.name: mask
    for mask in (
        Mask("full", "完整显示", "in full", ALL_KINDS, 100, lambda value, _: str(value)),
        Mask(
            "id_number",
            "证件号码脱敏",
            "ID number masked",
            frozenset({"id_number"}),
            50,
            lambda value, _: mask_id_number(str(value)),
        ),
        Mask(
            "name",
            "姓名脱敏",
            "name masked",
            frozenset({"name"}),
            50,
            lambda value, _: mask_name(str(value)),
        ),
        Mask(
            "phone",
            "电话脱敏",
            "phone masked",
            frozenset({"phone"}),
            50,
            lambda value, _: mask_phone(str(value)),
        ),
        Mask(
            "address",
            "地址至乡镇(街道)",
            "address down to the township",
            frozenset({"address"}),
            50,
            lambda value, context: mask_address(
                str(value), context.division_code, context.county_name
            ),
        ),
        Mask(
            "birth_year",
            "仅出生年份",
            "birth year only",
            frozenset({"birth_date"}),
            50,
            lambda value, _: mask_birth_year(value),
        ),
        Mask("age_band", "年龄段", "age band", frozenset({"birth_date"}), 40, _apply_age_band),
        Mask(
            "pseudonym",
            "假名",
            "pseudonym",
            frozenset({"id_number", "number"}),
            20,
            _apply_pseudonym,
        ),
        Mask("hidden", "隐藏", "hidden", ALL_KINDS, 0, lambda value, _: HIDDEN),
    )
}


def mask_fits(mask_name: str, kind: str) -> bool:
    """Return whether the mask named ``mask_name`` exists and fits fields of ``kind``."""
    mask = MASKS.get(mask_name)
    return mask is not None and kind in mask.kinds


def apply_mask(
    mask_name: str, value: str | date | None, context: MaskContext | None = None
) -> str | None:
    """Apply the mask named ``mask_name`` to ``value``; an empty value stays ``None``.

    Raise ``PolicyError`` for an unknown mask name or when the mask needs something
    ``context`` lacks. An unknown name never falls back to showing the value.
    """
    mask = MASKS.get(mask_name)
    if mask is None:
        raise PolicyError(
            f"未知的掩码函数“{mask_name}”。",
            f"Unknown masking function '{mask_name}'.",
            code="MASK_UNKNOWN",
            value=mask_name,
        )
    if value is None:
        return None
    return mask.apply(value, context or MaskContext())
