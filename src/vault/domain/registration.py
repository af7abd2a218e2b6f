"""Validation of one registration row: raw cells in, a ``Registration`` or the errors out.

``validate_row`` checks every field, so a rejected row lists all of its errors at
once, each naming its field. Clean-ups such as full-width digits, a label typed with
its code or spaces in an ID number become notes. Values a person should look at,
such as a missing ID number, a converted 15-digit number or an unknown county code,
become warnings. Neither stops the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from vault.domain.codes import (
    EDUCATION,
    ETHNICITY,
    HUKOU_TYPE,
    MARITAL_STATUS,
    MOVE_REASON,
    RELATIONSHIP,
    RESIDENT_CATEGORY,
    SEX,
    CodeTable,
)
from vault.domain.divisions import (
    CountyCodes,
    VillageTable,
    find_county_in_address,
    parse_household_number,
)
from vault.domain.fields import FIELDS_BY_KEY
from vault.domain.idnumbers import (
    Document,
    IdNumberAbsent,
    IdNumberInvalid,
    IdNumberValid,
    check_id_cell,
    parse_document_type,
)
from vault.domain.values import (
    MAX_TEXT_LENGTH_DEFAULT,
    MAX_TEXT_LENGTHS,
    parse_date,
    parse_name,
    parse_phone,
    text_cell_value,
)
from vault.errors import InvalidValue, Problem
from vault.imports.cells import EMPTY, Cell

__all__ = [
    "Accepted",
    "Registration",
    "Rejected",
    "RowContext",
    "no_id_dedup_key",
    "validate_row",
]

# Resident category codes that need a move date and place (see codes.RESIDENT_CATEGORY).
OUTFLOW = "2"
INFLOW = "3"


@dataclass(frozen=True, slots=True)
class RowContext:
    """The inputs of row validation besides the cells: clock date, tables and office.

    ``office`` is the division-code prefix of the clerk's office; when set, a
    village outside it is rejected.
    """

    today: date
    villages: VillageTable
    counties: CountyCodes
    office: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """The clean values of one accepted row: codes as strings, dates as ``date``."""

    name: str
    sex: str
    birth_date: date
    relationship: str
    village_code: str
    household_number: str | None = None
    document: Document | None = None
    ethnicity: str | None = None
    marital_status: str | None = None
    education: str | None = None
    hukou_type: str | None = None
    group: str | None = None
    house_number: str | None = None
    registered_address: str | None = None
    current_address: str | None = None
    current_county: str | None = None
    resident_category: str | None = None
    move_date: date | None = None
    move_place: str | None = None
    move_county: str | None = None
    move_reason: str | None = None
    marriage_cert_number: str | None = None
    phone: str | None = None
    remark: str | None = None

    @property
    def birth_year(self) -> int:
        """The birth year, which projections may keep in clear."""
        return self.birth_date.year


def no_id_dedup_key(registration: Registration) -> tuple[str, date, str]:
    """Return the material that identifies a person without an ID number.

    Two registrations with the same name, birth date and village code are
    candidates for the same person. The tuple is plaintext personal data: hash it
    (blind index) before it leaves memory.
    """
    return (registration.name, registration.birth_date, registration.village_code)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid row, with its warnings and notes."""

    registration: Registration
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid row, with every error found in ``problems``, each naming its field."""

    problems: tuple[Problem, ...]


# Labels for keys that the field catalogue names differently.
_EXTRA_LABELS = {"village": ("村（居）委会", "village")}


def _labels(key: str) -> tuple[str, str]:
    catalogue = FIELDS_BY_KEY.get(key)
    if catalogue is not None:
        return catalogue.label_zh, catalogue.label_en
    return _EXTRA_LABELS.get(key, (key, key))


def _missing(key: str) -> Problem:
    zh, en = _labels(key)
    return Problem("FIELD_MISSING", key, f"{zh}为必填项，未填写", f"The {en} is required",
                   "error")


# A value starting with one of these is not plain text (the empty string gives "").
_NOT_PLAIN_STARTS = frozenset(("", " ", "=", "@", "+", "-", "'"))


class _Row:
    """The cells of one row and the problems found so far."""

    def __init__(self, cells: Mapping[str, Cell], context: RowContext) -> None:
        self.cells = cells
        self.context = context
        self.problems: list[Problem] = []

    def cell(self, key: str) -> Cell:
        return self.cells.get(key, EMPTY)

    def add(self, *problems: Problem) -> None:
        self.problems.extend(problems)

    def text(self, key: str, *, required: bool = False) -> str | None:
        cell = self.cells.get(key, EMPTY)
        value = cell.value
        if (cell.kind == "text" and type(value) is str and value.isprintable()
                and value[:1] not in _NOT_PLAIN_STARTS and value[-1] != " "
                and len(value) <= MAX_TEXT_LENGTHS.get(key, MAX_TEXT_LENGTH_DEFAULT)):
            # The common case, as in text_cell_value: nothing below would change or
            # refuse this value. The empty string starts with "" and is not taken.
            return value
        if cell.is_empty:
            if required:
                self.add(_missing(key))
            return None
        try:
            value = text_cell_value(cell, key)
        except InvalidValue as error:
            self.add(error.problem())
            return None
        return value or None

    def code(self, table: CodeTable, key: str, *, required: bool = False) -> str | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        try:
            value, note = table.read(raw)
        except InvalidValue as error:
            self.add(error.problem())
            return None
        if value is None:
            if required:
                self.add(_missing(key))
            return None
        if note is not None:
            self.add(note)
        return value.code

    def date(self, key: str) -> date | None:
        cell = self.cell(key)
        if cell.is_empty:
            return None
        try:
            value, notes = parse_date(cell, key)
        except InvalidValue as error:
            self.add(error.problem())
            return None
        self.add(*notes)
        return value


def validate_row(cells: Mapping[str, Cell], context: RowContext) -> Accepted | Rejected:
    """Validate one workbook row, keyed by field key, and return the verdict.

    Required: name, sex, relationship, a birth date (the column or the ID number)
    and a village (from the household number or the village name). Cross-field
    rules: sex and the birth date column must agree with the ID number, and a
    resident who moved out (流出) or in (流入) needs a move date and place.
    """
    row = _Row(cells, context)

    name = _name(row)
    sex = row.code(SEX, "sex", required=True)
    relationship = row.code(RELATIONSHIP, "relationship", required=True)
    check = _document(row)
    birth_date = _birth_date(row, check)
    if isinstance(check, IdNumberValid) and sex in {"1", "2"} and check.sex not in {None, sex}:
        row.add(Problem(
            "SEX_MISMATCH", "sex",
            "性别与证件号码第17位不符（奇数为男，偶数为女）",
            "The sex contradicts the 17th digit of the ID number (odd is male, even female)",
            "error", sex,
        ))
    village_code, household_number = _village(row)

    codes = {
        "ethnicity": row.code(ETHNICITY, "ethnicity"),
        "marital_status": row.code(MARITAL_STATUS, "marital_status"),
        "education": row.code(EDUCATION, "education"),
        "hukou_type": row.code(HUKOU_TYPE, "hukou_type"),
        "move_reason": row.code(MOVE_REASON, "move_reason"),
    }
    resident_category = row.code(RESIDENT_CATEGORY, "resident_category")
    texts = {
        key: row.text(key)
        for key in ("group", "house_number", "registered_address", "current_address",
                    "marriage_cert_number", "remark")
    }
    move_date, move_place = _move(row, resident_category, birth_date)
    phone = _phone(row)

    errors = tuple(p for p in row.problems if p.severity == "error")
    if (errors or name is None or sex is None or relationship is None or birth_date is None
            or village_code is None):
        return Rejected(errors)

    counties = context.counties
    current_address = texts["current_address"]
    registration = Registration(
        name=name,
        sex=sex,
        birth_date=birth_date,
        relationship=relationship,
        village_code=village_code,
        household_number=household_number,
        document=check.document if isinstance(check, IdNumberValid) else None,
        resident_category=resident_category,
        current_county=(find_county_in_address(current_address, counties)
                        if current_address else None),
        move_date=move_date,
        move_place=move_place,
        move_county=find_county_in_address(move_place, counties) if move_place else None,
        phone=phone,
        **codes,
        **texts,
    )
    return Accepted(registration, tuple(row.problems))


def _name(row: _Row) -> str | None:
    raw = row.text("name", required=True)
    if raw is None:
        return None
    try:
        cleaned = parse_name(raw, "name")
    except InvalidValue as error:
        row.add(error.problem())
        return None
    row.add(*cleaned.problems)
    return cleaned.value


def _document(row: _Row) -> IdNumberValid | IdNumberAbsent | IdNumberInvalid:
    context = row.context
    check = check_id_cell(row.cell("id_number"), context.today, context.counties, "id_number")
    if isinstance(check, IdNumberInvalid):
        row.add(*check.errors)
    else:
        row.add(*check.problems)

    id_type = row.text("id_type")
    if id_type is not None:
        try:
            allowed = parse_document_type(id_type, "id_type")
        except InvalidValue as error:
            row.add(error.problem())
            return check
        if isinstance(check, IdNumberValid) and check.type not in allowed:
            row.add(Problem(
                "ID_TYPE_MISMATCH", "id_type",
                f"证件类型与证件号码不符：号码是{check.type.label_zh}的格式",
                f"The document type does not match the number, which has the form of a "
                f"{check.type.value}",
                "error", id_type,
            ))
    return check


def _birth_date(
    row: _Row, check: IdNumberValid | IdNumberAbsent | IdNumberInvalid,
) -> date | None:
    typed = row.date("birth_date")
    from_number = check.birth_date if isinstance(check, IdNumberValid) else None
    if typed is None:
        no_date_anywhere = from_number is None and row.cell("birth_date").is_empty
        # An invalid ID number has its own error; a missing-date error would repeat it.
        if no_date_anywhere and not isinstance(check, IdNumberInvalid):
            row.add(_missing("birth_date"))
        return from_number

    today = row.context.today
    if typed > today:
        row.add(Problem("BIRTH_DATE_FUTURE", "birth_date", "出生日期晚于今天",
                        "The birth date is after today", "error"))
    elif typed.year < 1900:
        row.add(Problem("BIRTH_DATE_TOO_EARLY", "birth_date", "出生年份早于1900年",
                        "The birth year is before 1900", "error"))
    if from_number is not None and typed != from_number:
        row.add(Problem(
            "BIRTH_DATE_MISMATCH", "birth_date",
            "出生日期与证件号码中的出生日期不符",
            "The birth date contradicts the birth date in the ID number",
            "error",
        ))
    return typed


def _village(row: _Row) -> tuple[str | None, str | None]:
    context = row.context
    from_number: str | None = None
    household_number: str | None = None
    number_cell = row.cell("household_number")
    if number_cell.kind == "number":
        row.add(Problem(
            "HOUSEHOLD_NUMBER_CELL", "household_number",
            "户编码被 Excel 存成了数字，末尾几位已丢失：请把该列设置为“文本”格式后重新录入",
            "The household number was stored as a spreadsheet number, so its last digits "
            "are lost: format the column as text and enter the numbers again",
            "error",
        ))
    else:
        raw_number = row.text("household_number")
        if raw_number is not None:
            try:
                parsed = parse_household_number(raw_number)
            except InvalidValue as error:
                row.add(error.problem())
            else:
                from_number = parsed.village_code
                household_number = str(parsed)

    from_name = _village_from_name(row, code_from_number=from_number)
    if from_number is not None and from_name is not None and from_number != from_name:
        row.add(Problem(
            "VILLAGE_MISMATCH", "village",
            "村（居）委会名称与户编码前12位不符",
            "The village name does not match the first 12 digits of the household number",
            "error", row.text("village"),
        ))
    village_code = from_number or from_name
    if village_code is None:
        if row.cell("village").is_empty and row.cell("household_number").is_empty:
            row.add(_missing("village"))
        return None, household_number

    if context.office is not None and not village_code.startswith(context.office):
        row.add(Problem(
            "VILLAGE_OUTSIDE_OFFICE", "village",
            "村（居）委会不在本单位辖区内", "The village is outside the office's jurisdiction",
            "error", village_code,
        ))
    entries = context.villages.by_code(village_code)
    if entries and not any(v.is_valid_on(context.today) for v in entries):
        row.add(Problem(
            "VILLAGE_RETIRED", "village",
            "该村（居）委会代码已停用，请核对", "The village code is no longer in use: check it",
            "warning", village_code,
        ))
    return village_code, household_number


def _village_from_name(row: _Row, *, code_from_number: str | None) -> str | None:
    name = row.text("village")
    if name is None:
        return None
    villages = row.context.villages
    if code_from_number is not None and not villages.by_code(code_from_number):
        # The household number gives the village and the office's table does not
        # list it, so there is nothing to compare the name with.
        return None
    try:
        return villages.resolve_name(name, row.context.today, "village").code
    except InvalidValue as error:
        problem = error.problem()
        if code_from_number is not None:
            # The household number already gives the village: a name the table
            # lists under another code is worth a look, not a rejection.
            problem = Problem(problem.code, problem.field, problem.message_zh,
                              problem.message_en, "warning", problem.value)
        row.add(problem)
        return None


def _move(
    row: _Row, resident_category: str | None, birth_date: date | None,
) -> tuple[date | None, str | None]:
    move_date = row.date("move_date")
    move_place = row.text("move_place")
    if resident_category in {OUTFLOW, INFLOW}:
        if move_date is None and row.cell("move_date").is_empty:
            row.add(Problem(
                "MOVE_DATE_MISSING", "move_date",
                "流出或流入人员必须填写流出（入）日期",
                "A resident who moved out or in needs a move date",
                "error",
            ))
        if move_place is None:
            row.add(Problem(
                "MOVE_PLACE_MISSING", "move_place",
                "流出或流入人员必须填写流入（出）地",
                "A resident who moved out or in needs the place moved to or from",
                "error",
            ))
    if move_date is not None:
        if move_date > row.context.today:
            row.add(Problem("MOVE_DATE_FUTURE", "move_date", "流出（入）日期晚于今天",
                            "The move date is after today", "error"))
        if birth_date is not None and move_date < birth_date:
            row.add(Problem("MOVE_DATE_BEFORE_BIRTH", "move_date", "流出（入）日期早于出生日期",
                            "The move date is before the birth date", "error"))
    return move_date, move_place


def _phone(row: _Row) -> str | None:
    raw = row.text("phone")
    if raw is None:
        return None
    try:
        phone = parse_phone(raw, "phone")
    except InvalidValue as error:
        row.add(error.problem())
        return None
    row.add(*phone.problems)
    return phone.number
