"""Parsers for the plain values of a registration row: names, dates, phones, free text.

Each parser takes what a clerk typed, or the content of a spreadsheet cell, and
returns the clean value with ``Problem`` records for what was changed. Clean-ups are
notes, and values a person should look at are warnings. Invalid input raises
``InvalidValue``, whose message never repeats the personal value.

Formula-looking text is rejected in every text field, whatever the file format, with
code ``CELL_FORMULA``, as a formula cell in a workbook is. First the surrounding white
space (tab and carriage return included) and one leading ``'`` are removed. Text
then counts as a formula when it starts with ``=`` or ``@``, or with ``+`` or ``-``
followed by anything but a number or phone number. So ``+86 138 0013 8000``,
``-5`` and ``0576-87654321`` are data, while ``=HYPERLINK(…)``, ``+1+1``,
``-A1`` and ``@SUM(A1)`` are rejected. A clerk never types a formula into a name,
address or remark on purpose, and rejecting it keeps such text out of every later
export. The one exception is ``="…"``, the form clerks use to force text, whose
literal is unwrapped, never evaluated.

Text longer than ``MAX_TEXT_LENGTHS`` allows (counted in code points) is rejected
with code ``TEXT_TOO_LONG``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from vault.errors import InvalidValue, Problem
from vault.imports.cells import Cell

__all__ = [
    "MAX_TEXT_LENGTHS",
    "MAX_TEXT_LENGTH_DEFAULT",
    "Cleaned",
    "Phone",
    "cell_text",
    "is_white_space",
    "looks_like_formula",
    "parse_date",
    "parse_date_text",
    "parse_name",
    "parse_phone",
    "parse_text",
    "remove_white_space",
    "serial_to_date",
]

# Hyphens and dashes that clerks put between digit groups (after NFKC, which already
# maps the full-width hyphen U+FF0D to "-").
HYPHENS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A clean value and the notes or warnings produced while cleaning it."""

    value: str
    problems: tuple[Problem, ...] = ()


# -- white space and cells -------------------------------------------------


@lru_cache(maxsize=4096)
def is_white_space(char: str) -> bool:
    """Return whether ``char`` is white space or an invisible format character.

    This covers ASCII spaces, U+00A0, U+3000, line and paragraph separators, and the
    zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) that are category
    Cf in Unicode and so escape ``str.isspace``.
    """
    return char.isspace() or unicodedata.category(char) in {"Zs", "Zl", "Zp", "Cf"}


def remove_white_space(text: str) -> str:
    """Return ``text`` without any white space or invisible format character."""
    if text.isprintable() and " " not in text:
        # The common case, checked in C: no space and no format character (every
        # white space and Cf character but U+0020 counts as not printable).
        return text
    return "".join(char for char in text if not is_white_space(char))


def _is_plain(char: str) -> bool:
    # Every white space and format character but U+0020 is not printable, so a
    # printable character other than the space is never white space.
    return char.isprintable() and char != " "


def _strip_white_space(text: str) -> str:
    if text and _is_plain(text[0]) and _is_plain(text[-1]):
        return text
    start = 0
    end = len(text)
    while start < end and is_white_space(text[start]):
        start += 1
    while end > start and is_white_space(text[end - 1]):
        end -= 1
    return text[start:end]


# First characters that make a spreadsheet read text as a formula, and the quote
# that hides one.
_FORMULA_STARTS = frozenset("=@+-'")
_TEXT_FORMULA = re.compile(r'^=\s*"(?P<text>[^"]*)"$')
# A sign followed only by digits and the separators of numbers and phone numbers.
_SIGNED_NUMBER = re.compile(r"^[+-][\d\s.,()\-]*$")


def _formula_error(field: str) -> InvalidValue:
    return InvalidValue(
        "单元格是公式，不是值：请复制后“选择性粘贴为数值”再导入",
        "The cell holds a formula, not a value: paste the column as values and "
        "import again",
        code="CELL_FORMULA",
        field=field,
    )


def _formula_text_error(field: str) -> InvalidValue:
    return InvalidValue(
        "内容以 =、+、-、@ 开头，表格软件会把它当作公式：请删除开头的符号后重新导入",
        "The text starts with =, +, - or @, which spreadsheets read as a formula: "
        "remove the leading character and import again",
        code="CELL_FORMULA",
        field=field,
    )


def looks_like_formula(text: str) -> bool:
    """Return whether a spreadsheet would read ``text`` as a formula (see the module doc)."""
    if text and _is_plain(text[0]) and text[0] not in _FORMULA_STARTS:
        return False
    stripped = _strip_white_space(text)
    if stripped.startswith("'"):
        stripped = _strip_white_space(stripped[1:])
    if stripped.startswith(("=", "@")):
        return True
    return stripped.startswith(("+", "-")) and not _SIGNED_NUMBER.match(stripped)


def cell_text(cell: Cell, field: str) -> str:
    """Return a cell's content as text, for fields that hold text.

    A formula, in a formula cell or typed as text, is accepted only in the ``="…"``
    form that clerks use to force text, and the literal is unwrapped, never
    evaluated. One leading ``'`` of a text cell is removed: it is how clerks force
    Excel to keep text, and how the rejects workbook keeps formula-looking text inert,
    so the value re-imports as the original text. Any other formula and a boolean
    cell raise ``InvalidValue``, because the value the clerk saw is not in the file.
    """
    if cell.kind == "formula":
        match = _TEXT_FORMULA.match(str(cell.value).strip())
        if match is None:
            raise _formula_error(field)
        return match.group("text")
    if cell.kind == "bool":
        raise InvalidValue(
            "单元格是逻辑值（TRUE/FALSE），不是有效内容",
            "The cell holds a TRUE/FALSE value, which is not valid here",
            code="CELL_BOOLEAN",
            field=field,
        )
    text = cell.as_text()
    if cell.kind != "text" or (text and _is_plain(text[0]) and text[0] not in "='"):
        return text
    stripped = _strip_white_space(text)
    match = _TEXT_FORMULA.match(stripped)
    if match is not None:
        return match.group("text")
    if stripped.startswith("'"):
        return stripped[1:]
    return text


# -- names -----------------------------------------------------------------

# Middle dots used in transliterated minority and foreign names: U+00B7 (the
# standard one), U+2022 bullet, U+30FB katakana middle dot, U+FF65 half-width
# katakana middle dot, U+2027 hyphenation point, U+2219 bullet operator.
NAME_DOTS = frozenset("\u00b7\u2022\u30fb\uff65\u2027\u2219")

_HAN_RANGES = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # Unified Ideographs
    (0xF900, 0xFAFF),  # Compatibility Ideographs
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2EE5F),  # Extensions C to F and I
    (0x2F800, 0x2FA1F),  # Compatibility Ideographs Supplement
    (0x30000, 0x323AF),  # Extensions G and H
)
# Names made of Basic Multilingual Plane ideographs and 〇 only: Extension A, the
# Unified Ideographs and the Compatibility Ideographs of ``_HAN_RANGES``.
_PLAIN_HAN_NAME = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PRIVATE_USE_RANGES = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))


def _in_ranges(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in ranges)


def _is_han(char: str) -> bool:
    return char == "\u3007" or _in_ranges(char, _HAN_RANGES)


def _is_latin_letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L") and unicodedata.name(
        char, ""
    ).startswith("LATIN ")


def _is_latin_accent(char: str, before: list[str]) -> bool:
    # A combining mark after a Latin letter: "José" typed in decomposed form.
    return (unicodedata.category(char) == "Mn" and bool(before)
            and (_is_latin_letter(before[-1]) or unicodedata.category(before[-1]) == "Mn"))


def _to_ascii_letter(char: str) -> str:
    # Full-width Latin letters (U+FF21-FF3A, U+FF41-FF5A) become ASCII letters.
    if "\uff21" <= char <= "\uff3a" or "\uff41" <= char <= "\uff5a":
        return chr(ord(char) - 0xFEE0)
    return char


def _name_invalid(field: str) -> InvalidValue:
    return InvalidValue(
        "姓名含有不允许的字符：只能使用汉字、〇、间隔号“·”，外籍人员可用拉丁字母和空格",
        "The name contains characters that are not allowed: use Chinese characters, 〇 "
        "and the middle dot \u00b7; foreign residents may use Latin letters and spaces",
        code="NAME_CHARACTERS",
        field=field,
    )


def parse_name(raw: str, field: str = "name") -> Cleaned:
    """Validate a person's name and return it as received, apart from white space.

    "As received" means every code point is kept: no NFKC, no unification of the
    middle-dot variants, private-use characters kept. Surrounding white space is
    trimmed and zero-width characters are removed. White space between two Chinese
    characters is alignment padding (``张　三``), so it is removed. A run of white
    space inside a Latin name becomes one ASCII space.
    Full-width Latin letters become ASCII. Each of these changes adds a note.
    A private-use code point (GBK-era systems used them for rare characters) is
    accepted with a warning. Length is counted in code points, so a character
    outside the Basic Multilingual Plane counts once.
    """
    trimmed = _strip_white_space(raw)
    if not trimmed:
        raise InvalidValue("姓名为空", "The name is missing", code="NAME_MISSING", field=field)
    if _PLAIN_HAN_NAME.fullmatch(trimmed):
        # The common case, checked in C: the loop below would keep every character
        # and find nothing to note.
        return Cleaned(trimmed)

    kept: list[str] = []
    problems: list[Problem] = []
    private_use = False
    pending_space = False
    for char in trimmed:
        if is_white_space(char):
            pending_space = pending_space or unicodedata.category(char) != "Cf"
            continue
        letter = _to_ascii_letter(char)
        # Keep one space only between two Latin words.
        if pending_space and kept and _is_latin_letter(kept[-1]) and _is_latin_letter(letter):
            kept.append(" ")
        pending_space = False
        if _in_ranges(letter, _PRIVATE_USE_RANGES):
            private_use = True
        elif not (_is_han(letter) or _is_latin_letter(letter) or letter in NAME_DOTS
                  or letter in "-'" or _is_latin_accent(letter, kept)):
            raise _name_invalid(field)
        kept.append(letter)

    name = "".join(kept)
    _check_name_punctuation(name, field)
    if name != trimmed:
        problems.append(Problem(
            "NAME_NORMALISED", field,
            "姓名中的空格或全角字母已整理",
            "White space or full-width letters in the name were normalised",
            "note",
        ))
    if private_use:
        problems.append(Problem(
            "NAME_PRIVATE_USE", field,
            "姓名含有私用区字符（旧系统中的生僻字），请核对并改为标准汉字",
            "The name contains a private-use character (a rare character from an older "
            "system): check it and replace it with the standard character",
            "warning",
        ))
    return Cleaned(name, tuple(problems))


def _check_name_punctuation(name: str, field: str) -> None:
    # Dots separate name parts, and a hyphen or apostrophe joins two Latin letters.
    for index, char in enumerate(name):
        before = name[index - 1] if index > 0 else ""
        after = name[index + 1] if index + 1 < len(name) else ""
        if char in NAME_DOTS and (not before or not after or before in NAME_DOTS):
            raise _name_invalid(field)
        if char in "-'" and not (before and after and _is_latin_letter(before)
                                 and _is_latin_letter(after)):
            raise _name_invalid(field)
    if not any(_is_han(c) or _is_latin_letter(c) or _in_ranges(c, _PRIVATE_USE_RANGES)
               for c in name):
        raise _name_invalid(field)


# -- dates -----------------------------------------------------------------

_ISO_LIKE = re.compile(
    r"^(?P<y>\d{4})(?P<sep>[-./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})$"
)
_MIDNIGHT = re.compile(r"[T\s]+0?0:00(?::00(?:\.0+)?)?$")
_CHINESE = re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?$")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
# Forms whose year has two digits or comes last, so day and month are a guess.
_AMBIGUOUS = re.compile(
    r"^(?:\d{1,2}[-./年]\d{1,2}[-./月]\d{1,2}日?|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{6})$"
)

# Excel's largest serial number is 9999-12-31.
_MAX_SERIAL = 2_958_465


def _date_format_error(field: str) -> InvalidValue:
    return InvalidValue(
        "日期无法识别：请写成 YYYY-MM-DD（如 1990-03-01），年份写满4位",
        "The date is not recognised: write it as YYYY-MM-DD (for example 1990-03-01), "
        "with a four-digit year",
        code="DATE_FORMAT",
        field=field,
    )


def _date_ambiguous_error(field: str) -> InvalidValue:
    return InvalidValue(
        "日期有歧义（两位年份，或日和月的顺序不明）：请写成 YYYY-MM-DD",
        "The date is ambiguous (a two-digit year, or day and month could be swapped): "
        "write it as YYYY-MM-DD",
        code="DATE_AMBIGUOUS",
        field=field,
    )


def _date_invalid_error(field: str) -> InvalidValue:
    return InvalidValue(
        "日期不存在（如2月30日）",
        "The date does not exist (for example 30 February)",
        code="DATE_INVALID",
        field=field,
    )


def _make_date(year: int, month: int, day: int, field: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _date_invalid_error(field) from None


def serial_to_date(serial: float, date_system: int = 1900, field: str = "date") -> date:
    """Convert a spreadsheet serial number to a date, ignoring any time of day.

    On the 1900 system serial 1 is 1900-01-01 and serial 60 is the 1900-02-29 that
    Lotus 1-2-3 invented and Excel kept, so it raises ``InvalidValue``. On the 1904
    system serial 0 is 1904-01-01.
    """
    whole = int(serial)
    if date_system == 1904:
        if whole < 0 or whole > _MAX_SERIAL - 1462:
            raise _date_format_error(field)
        return date(1904, 1, 1) + timedelta(days=whole)
    if whole < 1 or whole > _MAX_SERIAL:
        raise _date_format_error(field)
    if whole == 60:
        raise _date_invalid_error(field)
    if whole < 60:
        return date(1899, 12, 31) + timedelta(days=whole)
    return date(1899, 12, 30) + timedelta(days=whole)


def parse_date_text(raw: str, field: str = "date") -> Cleaned:
    """Parse a date typed as text and return it in ISO form (``YYYY-MM-DD``).

    Accepted: ``1990-03-01``, ``1990/3/1``, ``1990.3.1``, ``1990年3月1日``,
    ``19900301``, with full-width digits and stray spaces, and a midnight time such
    as ``1990-03-01 00:00:00``. Two-digit years and year-last forms such as
    ``03/01/1990`` raise ``InvalidValue`` with code ``DATE_AMBIGUOUS``: they are
    never guessed, even when the day is above 12.
    """
    text = _MIDNIGHT.sub("", unicodedata.normalize("NFKC", raw).strip())
    text = remove_white_space(text)
    for pattern in (_ISO_LIKE, _CHINESE, _COMPACT):
        match = pattern.match(text)
        if match is not None:
            value = _make_date(int(match["y"]), int(match["m"]), int(match["d"]), field)
            return Cleaned(value.isoformat(), _date_notes(raw, value, field))
    if _AMBIGUOUS.match(text):
        raise _date_ambiguous_error(field)
    raise _date_format_error(field)


def _date_notes(raw: str, value: date, field: str) -> tuple[Problem, ...]:
    if raw.strip() == value.isoformat():
        return ()
    return (Problem(
        "DATE_NORMALISED", field,
        "日期已统一为 YYYY-MM-DD 格式",
        "The date was rewritten as YYYY-MM-DD",
        "note",
    ),)


def parse_date(cell: Cell, field: str = "date") -> tuple[date, tuple[Problem, ...]]:
    """Read a date from a cell of any kind and return it with its clean-up notes.

    A date cell gives its date. A number cell is a serial on the cell's date system
    (1900 or 1904), because Chinese built-in date formats reach readers as bare
    numbers with format ``General``. An integer of eight digits is read as
    ``YYYYMMDD`` instead, because no serial is that large. Text goes to ``parse_date_text``.
    """
    value = cell.value
    if isinstance(value, datetime):
        return value.date(), ()
    if isinstance(value, date):
        return value, ()
    if cell.kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 10_000_000 <= value <= 99_999_999:
            cleaned = parse_date_text(str(int(value)), field)
            return date.fromisoformat(cleaned.value), cleaned.problems
        return serial_to_date(float(value), cell.date_system, field), ()
    cleaned = parse_date_text(cell_text(cell, field), field)
    return date.fromisoformat(cleaned.value), cleaned.problems


# -- phones ----------------------------------------------------------------

PhoneKind = Literal["mobile", "landline"]


@dataclass(frozen=True, slots=True)
class Phone:
    """A clean phone number: a mobile as 11 digits, a landline as ``area-local``."""

    kind: PhoneKind
    number: str
    problems: tuple[Problem, ...] = ()


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010 and 02x have three digits, every other one four (0xxx).
_LANDLINE = re.compile(r"^(?P<area>010|02\d|0[3-9]\d{2})(?P<local>[2-9]\d{6,7})$")
_PHONE_PUNCTUATION = re.compile(r"[()\[\]（）]")


def parse_phone(raw: str, field: str = "phone") -> Phone:
    """Parse one mobile or landline number.

    Spaces, hyphens and brackets are removed, and a ``+86``, ``0086`` or ``86``
    country prefix is dropped. A mobile has 11 digits starting with 1 (second digit
    3 to 9); a landline needs its area code. Anything else, including two numbers in
    one cell or a landline without area code, raises ``InvalidValue``.
    """
    text = unicodedata.normalize("NFKC", raw)
    digits = _PHONE_PUNCTUATION.sub("", remove_white_space(text))
    digits = "".join(char for char in digits if char not in HYPHENS)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]

    notes: tuple[Problem, ...] = ()
    if _MOBILE.match(digits):
        if digits != raw:
            notes = (_phone_note(field),)
        return Phone("mobile", digits, notes)
    landline = _LANDLINE.match(digits)
    if landline is not None:
        number = f"{landline['area']}-{landline['local']}"
        if number != raw:
            notes = (_phone_note(field),)
        return Phone("landline", number, notes)
    raise InvalidValue(
        "电话号码无效：手机号为以1开头的11位数字，固定电话需带区号（如 0576-87654321）",
        "The phone number is invalid: a mobile number has 11 digits starting with 1, "
        "and a landline needs its area code (for example 0576-87654321)",
        code="PHONE_INVALID",
        field=field,
    )


def _phone_note(field: str) -> Problem:
    return Problem(
        "PHONE_NORMALISED", field,
        "电话号码中的空格、连字符或国家代码已整理",
        "Spaces, hyphens or the country code in the phone number were normalised",
        "note",
    )


# -- free text -------------------------------------------------------------


MAX_TEXT_LENGTHS: dict[str, int] = {
    "name": 50,
    "registered_address": 200,
    "current_address": 200,
    "move_place": 200,
    "remark": 500,
}
"""Maximum length in code points of a text field, by field key, after trimming.

The longest Chinese names, including transliterated minority and foreign names,
stay well under 50 characters, and a full address down to the house number under
200. Fields not listed use ``MAX_TEXT_LENGTH_DEFAULT``.
"""

MAX_TEXT_LENGTH_DEFAULT = 100


def text_cell_value(cell: Cell, field: str) -> str:
    """Return ``parse_text(cell_text(cell, field), field)``, checking the common case first.

    Most cells are printable text with no space at either end and no formula-like
    first character, and under the field's length limit: nothing in ``cell_text``
    or ``parse_text`` would change or refuse them, so they are returned as they are.
    """
    value = cell.value
    if (cell.kind == "text" and isinstance(value, str) and value and value.isprintable()
            and value[0] not in _FORMULA_STARTS and value[0] != " " and value[-1] != " "
            and len(value) <= MAX_TEXT_LENGTHS.get(field, MAX_TEXT_LENGTH_DEFAULT)):
        return value
    return parse_text(cell_text(cell, field), field)


def parse_text(raw: str, field: str) -> str:
    """Trim surrounding white space and reject control characters, formulas and overlong text.

    Tab, line feed and carriage return inside the text are kept, because Alt+Enter in
    Excel makes line breaks. Every other C0 or C1 control character raises
    ``InvalidValue`` (``TEXT_CONTROL_CHARACTER``). Text that a spreadsheet would read
    as a formula raises ``CELL_FORMULA``, and text longer than the field's entry in
    ``MAX_TEXT_LENGTHS`` raises ``TEXT_TOO_LONG``.
    """
    if looks_like_formula(raw):
        raise _formula_text_error(field)
    text = _strip_white_space(raw)
    limit = MAX_TEXT_LENGTHS.get(field, MAX_TEXT_LENGTH_DEFAULT)
    if len(text) > limit:
        raise InvalidValue(
            f"内容超过 {limit} 个字符的上限（实有 {len(text)} 个字符），请删减后重新导入",
            f"The text is longer than the limit of {limit} characters (it has "
            f"{len(text)}): shorten it and import again",
            code="TEXT_TOO_LONG",
            field=field,
        )
    if text.isprintable():
        # Checked in C: no control character at all.
        return text
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            raise InvalidValue(
                f"内容含有控制字符（U+{ord(char):04X}），请删除后重新导入",
                f"The text contains a control character (U+{ord(char):04X}): remove it and "
                "import again",
                code="TEXT_CONTROL_CHARACTER",
                field=field,
            )
    return text
