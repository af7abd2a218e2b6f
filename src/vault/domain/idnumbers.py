"""Clean-up and validation of identity numbers.

Four kinds of number are covered. The citizen ID number (公民身份号码, GB 11643-1999)
comes in 18 digits or the old 15. The residence permits for Hong Kong, Macao and
Taiwan residents use address codes 810000, 820000 and 830000. The foreign permanent
residence ID has 18 characters from 2023-12-01 and 15 on older cards.

Every entry point cleans the text the same way (``clean_id_text``) and then
checks it (``check_id_number``). The result is an ``IdNumberValid``, an
``IdNumberAbsent`` (blank or a placeholder such as all zeros) or an
``IdNumberInvalid``; problems never quote the number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from operator import mul

from vault.domain.divisions import PROVINCE_PREFIXES, CountyCodes
from vault.domain.values import HYPHENS, is_white_space, looks_like_formula
from vault.errors import InvalidValue, Problem
from vault.imports.cells import Cell

__all__ = [
    "CHECK_CHARACTERS",
    "WEIGHTS",
    "CleanedId",
    "Document",
    "DocumentType",
    "IdNumberAbsent",
    "IdNumberCheck",
    "IdNumberInvalid",
    "IdNumberValid",
    "check_character",
    "check_id_cell",
    "check_id_number",
    "clean_id_text",
    "normalise_id_number",
    "parse_document_type",
]

# ISO 7064 MOD 11-2 as GB 11643 applies it to the first 17 digits.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"

# Characters that look like X but are not the Latin letter: Cyrillic Х х, Greek Χ χ,
# the multiplication sign × and the box-drawing ╳. The Roman numerals Ⅹ ⅹ are not
# here, because NFKC turns them into X and x during clean-up.
_LOOKALIKE_X = frozenset("\u0425\u0445\u03a7\u03c7\u00d7\u2573")
_SCIENTIFIC = re.compile(r"^\d+(?:\.\d+)?E[+-]?\d+$")
_DECIMAL = re.compile(r"^\d+\.\d+$")
_OLD_FOREIGN = re.compile(r"^[A-Z]{3}\d{12}$")
_PLACEHOLDER_WORDS = frozenset({"无", "暂无", "没有", "未办", "未办理", "NULL", "NONE", "N/A"})


class DocumentType(StrEnum):
    """The kind of identity document a number belongs to."""

    CITIZEN_ID = "citizen_id"
    HONG_KONG_PERMIT = "hong_kong_residence_permit"
    MACAO_PERMIT = "macao_residence_permit"
    TAIWAN_PERMIT = "taiwan_residence_permit"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence_id"
    FOREIGN_PERMANENT_RESIDENCE_OLD = "foreign_permanent_residence_id_old"

    @property
    def label_zh(self) -> str:
        """The Chinese name of the document."""
        return _LABELS_ZH[self]

    @property
    def has_birth_date(self) -> bool:
        """Whether the number encodes the holder's birth date."""
        return self is not DocumentType.FOREIGN_PERMANENT_RESIDENCE_OLD


_LABELS_ZH = {
    DocumentType.CITIZEN_ID: "居民身份证",
    DocumentType.HONG_KONG_PERMIT: "港澳居民居住证（香港）",
    DocumentType.MACAO_PERMIT: "港澳居民居住证（澳门）",
    DocumentType.TAIWAN_PERMIT: "台湾居民居住证",
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: "外国人永久居留身份证",
    DocumentType.FOREIGN_PERMANENT_RESIDENCE_OLD: "外国人永久居留身份证（2004-2017版）",
}

# Wordings of the document-type column. A permit wording allows several permit
# types, because the number's address code decides which one it is.
_TYPE_WORDINGS: dict[str, frozenset[DocumentType]] = {
    **{w: frozenset({DocumentType.CITIZEN_ID}) for w in (
        "居民身份证", "身份证", "公民身份号码", "身份证号码", "二代身份证", "1", "111")},
    **{w: frozenset({DocumentType.HONG_KONG_PERMIT, DocumentType.MACAO_PERMIT}) for w in (
        "港澳居民居住证", "港澳居住证")},
    **{w: frozenset({DocumentType.HONG_KONG_PERMIT}) for w in ("香港居民居住证",)},
    **{w: frozenset({DocumentType.MACAO_PERMIT}) for w in ("澳门居民居住证",)},
    **{w: frozenset({DocumentType.TAIWAN_PERMIT}) for w in ("台湾居民居住证", "台湾居住证")},
    "港澳台居民居住证": frozenset({DocumentType.HONG_KONG_PERMIT, DocumentType.MACAO_PERMIT,
                           DocumentType.TAIWAN_PERMIT}),
    **{w: frozenset({DocumentType.FOREIGN_PERMANENT_RESIDENCE,
                     DocumentType.FOREIGN_PERMANENT_RESIDENCE_OLD}) for w in (
        "外国人永久居留身份证", "外国人永久居留证", "永居证", "永久居留身份证")},
}


def parse_document_type(raw: str, field: str = "id_type") -> frozenset[DocumentType]:
    """Return the document types a document-type cell allows.

    Accepts the Chinese names (居民身份证, 身份证, 港澳居民居住证, 台湾居民居住证,
    外国人永久居留身份证 …), the enum values, and ``111`` (the GA/T 517 code of the
    resident identity card). Raises ``InvalidValue`` listing the accepted names.
    """
    text = "".join(c for c in unicodedata.normalize("NFKC", raw) if not is_white_space(c))
    for member in DocumentType:
        if text == member.value:
            return frozenset({member})
    found = _TYPE_WORDINGS.get(text)
    if found is None:
        allowed = "、".join(_LABELS_ZH[t] for t in DocumentType)
        raise InvalidValue(
            f"证件类型无法识别，可填：{allowed}",
            "The document type is not recognised; allowed: citizen ID card, "
            "Hong Kong/Macao residence permit, Taiwan residence permit, foreign "
            "permanent residence ID",
            code="ID_TYPE_UNKNOWN",
            field=field,
            value=raw.strip(),
        )
    return found


@dataclass(frozen=True, slots=True)
class Document:
    """An identity document: its type, normalised number, and the number as entered."""

    type: DocumentType
    number: str
    original: str


@dataclass(frozen=True, slots=True)
class IdNumberValid:
    """A valid number, the birth date and sex it encodes, and its warnings and notes.

    ``sex`` is the GB/T 2261.1 code from the 17th digit (``"1"`` odd, ``"2"`` even)
    for the types that encode it, else ``None``.
    """

    type: DocumentType
    number: str
    original: str
    birth_date: date | None
    sex: str | None
    problems: tuple[Problem, ...] = ()

    @property
    def document(self) -> Document:
        """The number as a ``Document``."""
        return Document(self.type, self.number, self.original)


@dataclass(frozen=True, slots=True)
class IdNumberAbsent:
    """No ID number (a blank cell or a placeholder), with the warning in ``problems``."""

    original: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class IdNumberInvalid:
    """A rejected number, with every error found and then any notes in ``problems``."""

    original: str
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``error``."""
        return tuple(p for p in self.problems if p.severity == "error")


IdNumberCheck = IdNumberValid | IdNumberAbsent | IdNumberInvalid


# -- clean-up --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CleanedId:
    """The text left after clean-up, and the clean-up steps that changed something."""

    text: str
    steps: tuple[str, ...]


_STEP_LABELS = {
    "unwrapped": ("已去掉强制文本的 ' 或 =\"…\"", "the ' or =\"…\" text marker was removed"),
    "full_width": ("全角字符已转为半角", "full-width characters were converted"),
    "white_space": ("空白字符已删除", "white space was removed"),
    "hyphens": ("连字符已删除", "hyphens were removed"),
    "upper_case": ("小写字母已转为大写", "lower-case letters were upper-cased"),
}


def clean_id_text(raw: str) -> CleanedId:
    """Clean an ID number as typed: NFKC, unwrap, drop white space and hyphens, upper-case.

    A leading ``'`` and a ``="…"`` wrapper are how clerks force Excel to keep text;
    both are removed as text, never evaluated. Only ASCII letters are upper-cased,
    so a Cyrillic or Greek look-alike of X stays visible to ``check_id_number``.
    """
    if _PLAIN_ID.fullmatch(raw):
        # The common case: nothing below would change it.
        return CleanedId(raw, ())
    steps: list[str] = []
    text = unicodedata.normalize("NFKC", raw)
    if text != raw:
        steps.append("full_width")

    stripped = _strip_text(text)
    unwrapped = _unwrap(stripped)
    if unwrapped != stripped:
        steps.append("unwrapped")

    without_space = "".join(c for c in unwrapped if not is_white_space(c))
    if without_space != _strip_text(unwrapped):
        steps.append("white_space")
    without_hyphens = "".join(c for c in without_space if c not in HYPHENS)
    if without_hyphens != without_space:
        steps.append("hyphens")

    upper = "".join(c.upper() if "a" <= c <= "z" else c for c in without_hyphens)
    if upper != without_hyphens:
        steps.append("upper_case")
    return CleanedId(upper, tuple(steps))


# ASCII digits only (not ``\d``, which also matches full-width and other digits that
# NFKC changes), with an upper-case X last.
_PLAIN_ID = re.compile("[0-9]{14}[0-9X]|[0-9]{17}[0-9X]")


def _strip_text(text: str) -> str:
    start, end = 0, len(text)
    while start < end and is_white_space(text[start]):
        start += 1
    while end > start and is_white_space(text[end - 1]):
        end -= 1
    return text[start:end]


def _unwrap(text: str) -> str:
    if text.startswith("'"):
        return _strip_text(text[1:])
    match = re.fullmatch(r'=\s*"(.*)"', text)
    if match is not None:
        return _strip_text(match.group(1))
    return text


def check_character(first17: str) -> str:
    """Return the MOD 11-2 check character for 17 digits."""
    if len(first17) != len(WEIGHTS):
        raise ValueError(f"expected {len(WEIGHTS)} digits, got {len(first17)}")
    total = sum(map(mul, map(int, first17), WEIGHTS))
    return CHECK_CHARACTERS[total % 11]


# -- validation ------------------------------------------------------------


def _error(code: str, field: str, zh: str, en: str) -> Problem:
    return Problem(code, field, zh, en, "error")


def _number_cell_error(field: str) -> Problem:
    return _error(
        "ID_NUMBER_CELL", field,
        "证件号码被 Excel 存成了数字，末尾几位已丢失：请把该列设置为“文本”格式后重新录入",
        "The ID number was stored as a spreadsheet number, so its last digits are lost: "
        "format the column as text and enter the numbers again",
    )


def check_id_cell(
    cell: Cell, today: date, counties: CountyCodes | None = None, field: str = "id_number",
) -> IdNumberCheck:
    """Check the ID number in a spreadsheet cell.

    A number cell is rejected whatever its value: Excel keeps 15 significant
    digits, so an 18-digit number has lost its end and may still pass the
    checksum by chance. A ``="…"`` formula is unwrapped as text. Any other formula,
    in a formula cell or typed as text (``=A1``, ``'=A1``), gets ``CELL_FORMULA``
    instead of character and length errors, because the number is not in the file.
    """
    if cell.kind == "number" or isinstance(cell.value, int | float):
        return IdNumberInvalid(cell.as_text(), (_number_cell_error(field),))
    if cell.is_empty:
        return check_id_number("", today, counties, field)
    if cell.kind in {"date", "bool"}:
        return IdNumberInvalid(cell.as_text(), (_error(
            "ID_CHARACTERS", field,
            "证件号码单元格不是文本", "The ID number cell does not hold text",
        ),))
    raw = str(cell.value)
    forced_text = re.fullmatch(r'=\s*"(.*)"', _strip_text(raw)) is not None
    if (cell.kind == "formula" or looks_like_formula(raw)) and not forced_text:
        return IdNumberInvalid(raw, (_error(
            "CELL_FORMULA", field,
            "证件号码单元格是公式，不是号码：请复制后“选择性粘贴为数值”，或删除开头的 =、+、-、@",
            "The ID number cell holds a formula, not a number: paste the column as values, "
            "or remove the leading =, +, - or @",
        ),))
    return check_id_number(raw, today, counties, field)


def check_id_number(
    raw: str, today: date, counties: CountyCodes | None = None, field: str = "id_number",
) -> IdNumberCheck:
    """Clean and validate an ID number typed as text.

    ``today`` bounds the birth date. ``counties``, when given, adds a warning for a
    citizen number whose address code appears in no revision of GB/T 2260; an
    abolished code, or one created after the birth year, is accepted silently.
    """
    cleaned = clean_id_text(raw)
    text = cleaned.text
    notes = _cleanup_notes(cleaned, field)

    not_a_number = _check_not_a_number(text, raw, field)
    if not_a_number is not None:
        return not_a_number
    if _OLD_FOREIGN.match(text):
        return IdNumberValid(
            DocumentType.FOREIGN_PERMANENT_RESIDENCE_OLD, text, raw, None, None, notes)

    errors = _shape_errors(text, field)
    if errors:
        return IdNumberInvalid(raw, (*errors, *notes))
    if len(text) == 15:
        return _check_fifteen(text, raw, today=today, counties=counties, field=field,
                              notes=notes)
    return _check_eighteen(text, raw, today=today, counties=counties, field=field, notes=notes)


def _check_not_a_number(text: str, raw: str, field: str) -> IdNumberCheck | None:
    """Return the verdict for a blank, a placeholder or a spreadsheet number, else ``None``."""
    if not text:
        return IdNumberAbsent(raw, (Problem(
            "ID_MISSING", field, "未填写证件号码", "No ID number was entered", "warning"),))
    if _SCIENTIFIC.match(text) or _DECIMAL.match(text):
        return IdNumberInvalid(raw, (_number_cell_error(field),))
    if _is_placeholder(text):
        return IdNumberAbsent(raw, (Problem(
            "ID_PLACEHOLDER", field,
            "证件号码是占位值（如全为0），已按“无证件号码”登记，请补录真实号码",
            "The ID number is a placeholder (such as all zeros): the person is recorded "
            "without an ID number; enter the real number",
            "warning",
        ),))
    return None


def _cleanup_notes(cleaned: CleanedId, field: str) -> tuple[Problem, ...]:
    if not cleaned.steps:
        return ()
    zh = "；".join(_STEP_LABELS[step][0] for step in cleaned.steps)
    en = "; ".join(_STEP_LABELS[step][1] for step in cleaned.steps)
    return (Problem("ID_CLEANED", field, f"证件号码已整理：{zh}",
                    f"The ID number was cleaned: {en}", "note"),)


def _is_placeholder(text: str) -> bool:
    if text in _PLACEHOLDER_WORDS:
        return True
    if set(text) == {"0"}:
        return True
    # 000000 + birth date + 0000 (or, in 15 digits, 000000 + YYMMDD + 000).
    return len(text) in {15, 18} and text.isdigit() and text.startswith("000000") and (
        set(text[-4:] if len(text) == 18 else text[-3:]) == {"0"}
    )


def _shape_errors(text: str, field: str) -> list[Problem]:
    errors: list[Problem] = []
    if any(char in _LOOKALIKE_X for char in text):
        errors.append(_error(
            "ID_LOOKALIKE_X", field,
            "证件号码中的 X 是形近字符（如西里尔字母或希腊字母），请改为英文字母 X",
            "The X in the ID number is a look-alike character (such as Cyrillic or Greek): "
            "type the Latin letter X",
        ))
    elif not re.fullmatch(r"[0-9X]*", text):
        errors.append(_error(
            "ID_CHARACTERS", field,
            "证件号码只能包含数字和末位的 X",
            "An ID number may contain only digits and a final X",
        ))
    elif "X" in text[:-1] or (len(text) == 15 and "X" in text):
        errors.append(_error(
            "ID_X_POSITION", field,
            "X 只能出现在18位号码的最后一位",
            "X may appear only as the last character of an 18-character number",
        ))
    if len(text) not in {15, 18}:
        errors.append(_error(
            "ID_LENGTH", field,
            f"证件号码应为18位（旧身份证为15位），实际为{len(text)}位",
            f"An ID number has 18 characters (15 for old cards), not {len(text)}",
        ))
    return errors


def _birth_date_errors(digits8: str, today: date, field: str) -> tuple[date | None, list[Problem]]:
    try:
        born = date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        return None, [_error(
            "ID_DATE_INVALID", field,
            "证件号码中的出生日期不存在（如2月30日）",
            "The birth date in the ID number does not exist (for example 30 February)",
        )]
    if born.year < 1900:
        return None, [_error(
            "ID_DATE_TOO_EARLY", field,
            "证件号码中的出生年份早于1900年",
            "The birth year in the ID number is before 1900",
        )]
    if born > today:
        return None, [_error(
            "ID_DATE_FUTURE", field,
            "证件号码中的出生日期晚于今天",
            "The birth date in the ID number is after today",
        )]
    return born, []


def _province_error(field: str, prefix: str) -> Problem:
    return Problem(
        "ID_PROVINCE", field,
        "证件号码的省级代码无效（居民身份证为11-65中的省级代码，居住证为81-83，"
        "外国人永久居留身份证以9开头、后接省级代码）",
        "The province code of the ID number is invalid (citizen numbers use the province "
        "codes 11-65, residence permits 81-83, foreign permanent residence IDs 9 followed "
        "by a province code)",
        "error",
        prefix,
    )


def _document_type(text: str) -> DocumentType | None:
    if text[0] == "9":
        return DocumentType.FOREIGN_PERMANENT_RESIDENCE if text[1:3] in PROVINCE_PREFIXES else None
    if text[:6] in {"810000", "820000", "830000"}:
        return {
            "81": DocumentType.HONG_KONG_PERMIT,
            "82": DocumentType.MACAO_PERMIT,
            "83": DocumentType.TAIWAN_PERMIT,
        }[text[:2]]
    if text[:2] in PROVINCE_PREFIXES:
        return DocumentType.CITIZEN_ID
    return None


def _check_eighteen(
    text: str, raw: str, *, today: date, counties: CountyCodes | None, field: str,
    notes: tuple[Problem, ...],
) -> IdNumberCheck:
    errors: list[Problem] = []
    document_type = _document_type(text)
    if document_type is None:
        prefix = text[1:3] if text[0] == "9" else text[:2]
        errors.append(_province_error(field, prefix))

    born, date_errors = _birth_date_errors(text[6:14], today, field)
    errors.extend(date_errors)
    if check_character(text[:17]) != text[17]:
        errors.append(_error(
            "ID_CHECKSUM", field,
            "证件号码校验位不正确：请核对号码，可能有数字录错或顺序颠倒",
            "The check character of the ID number is wrong: a digit may be mistyped or two "
            "digits swapped",
        ))
    if errors or document_type is None:
        return IdNumberInvalid(raw, (*errors, *notes))

    problems = list(notes)
    if document_type is DocumentType.CITIZEN_ID:
        problems.extend(_county_warning(text[:6], counties, field))
    # NOTE: the sex digit of the 2023 foreign permanent residence ID is not confirmed
    # from a published rule, so sex is taken only from citizen numbers and permits.
    sex = None
    if document_type is not DocumentType.FOREIGN_PERMANENT_RESIDENCE:
        sex = "1" if int(text[16]) % 2 == 1 else "2"
    return IdNumberValid(document_type, text, raw, born, sex, tuple(problems))


def _check_fifteen(
    text: str, raw: str, *, today: date, counties: CountyCodes | None, field: str,
    notes: tuple[Problem, ...],
) -> IdNumberCheck:
    # Old numbers: address (6) + YYMMDD + sequence (3), all holders born in the 1900s.
    errors: list[Problem] = []
    if text[:2] not in PROVINCE_PREFIXES:
        errors.append(_province_error(field, text[:2]))
    born, date_errors = _birth_date_errors("19" + text[6:12], today, field)
    errors.extend(date_errors)
    if errors:
        return IdNumberInvalid(raw, (*errors, *notes))

    first17 = text[:6] + "19" + text[6:]
    number = first17 + check_character(first17)
    problems = [
        Problem(
            "ID_CONVERTED_15", field,
            "15位旧身份证号码已转换为18位，原号码已保留；请核对",
            "The 15-digit number was converted to 18 digits and the original kept; check it",
            "warning",
        ),
        *notes,
        *_county_warning(text[:6], counties, field),
    ]
    sex = "1" if int(number[16]) % 2 == 1 else "2"
    return IdNumberValid(DocumentType.CITIZEN_ID, number, raw, born, sex, tuple(problems))


def _county_warning(code6: str, counties: CountyCodes | None, field: str) -> list[Problem]:
    if counties is None or counties.is_known(code6):
        return []
    return [Problem(
        "ID_COUNTY_UNKNOWN", field,
        "证件号码的地址码不在任何版本的行政区划代码表中，已登记，请核对",
        "The address code of the ID number appears in no revision of GB/T 2260; the "
        "number was registered, check it",
        "warning",
        code6,
    )]


def normalise_id_number(raw: str, today: date) -> str:
    """Return the normalised number for a look-up, or raise ``InvalidValue``.

    A placeholder or blank raises too, with code ``ID_MISSING`` or
    ``ID_PLACEHOLDER``, because there is nothing to look up.
    """
    result = check_id_number(raw, today)
    if isinstance(result, IdNumberValid):
        return result.number
    first = result.problems[0]
    raise InvalidValue(first.message_zh, first.message_en, code=first.code, field=first.field,
                       value=first.value)
