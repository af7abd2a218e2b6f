"""The field catalogue: every attribute the registry stores about a person or household.

Each field is either *clear* (kept readable in event metadata and projections, because
statistics and eligibility rules need it and it is coarse) or *personal* (encrypted
under the data subject's own key wherever it is stored). Policies, the importer and
the mapper all use these keys; a key not listed here is rejected by the policy loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Subject = Literal["person", "household"]
Kind = Literal[
    "name", "id_number", "phone", "address", "birth_date", "code", "date", "text", "number"
]


@dataclass(frozen=True, slots=True)
class Field:
    """One attribute: its key, labels, owner, whether it is stored in clear, and its kind.

    ``kind`` decides which masking functions fit it (an ID-number mask fits only an
    ID-number field, and so on).
    """

    key: str
    label_zh: str
    label_en: str
    subject: Subject
    clear: bool
    kind: Kind


FIELDS: tuple[Field, ...] = (
    # Clear, coarse values: allowed in projections and event metadata.
    Field("village_code", "村(居)委会代码", "village code", "person", True, "code"),
    Field("sex", "性别", "sex", "person", True, "code"),
    Field("birth_year", "出生年份", "birth year", "person", True, "number"),
    Field("resident_category", "人员类别", "resident category", "person", True, "code"),
    Field("record_status", "记录状态", "record status", "person", True, "code"),
    # Personal fields of a person, encrypted under the person's key.
    Field("name", "姓名", "name", "person", False, "name"),
    Field("ethnicity", "民族", "ethnicity", "person", False, "code"),
    Field("birth_date", "出生日期", "birth date", "person", False, "birth_date"),
    Field("id_type", "证件类型", "document type", "person", False, "code"),
    Field("id_number", "公民身份号码", "ID number", "person", False, "id_number"),
    Field("id_number_original", "原始证件号码", "ID number as entered", "person", False, "id_number"),
    Field("registered_address", "户籍地址", "registered address", "person", False, "address"),
    Field("group", "村民小组", "villagers' group", "person", False, "address"),
    Field("house_number", "门牌号", "house number", "person", False, "address"),
    Field("current_address", "现居住地址", "current address", "person", False, "address"),
    Field("current_county", "现居住地县级代码", "county of current address", "person", False, "code"),
    Field("household_number", "户编码", "household number", "person", False, "number"),
    Field("relationship", "与户主关系", "relationship to the head", "person", False, "code"),
    Field("marital_status", "婚姻状况", "marital status", "person", False, "code"),
    Field("education", "文化程度", "education", "person", False, "code"),
    Field("hukou_type", "户口性质", "household registration type", "person", False, "code"),
    Field("phone", "联系电话", "phone", "person", False, "phone"),
    Field("move_date", "流出(入)日期", "move date", "person", False, "date"),
    Field("move_place", "流入(出)地", "move place", "person", False, "address"),
    Field("move_county", "流入(出)地县级代码", "county of the move place", "person", False, "code"),
    Field("move_reason", "流动原因", "reason for moving", "person", False, "code"),
    Field("marriage_cert_number", "婚育证明号码", "marriage and childbearing certificate number",
          "person", False, "number"),
    Field("remark", "备注", "remark", "person", False, "text"),
    # Personal fields of a household, encrypted under the household's key.
    Field("household_address", "户地址", "household address", "household", False, "address"),
)

FIELDS_BY_KEY: dict[str, Field] = {field.key: field for field in FIELDS}
PERSON_PERSONAL_FIELDS: tuple[str, ...] = tuple(
    f.key for f in FIELDS if f.subject == "person" and not f.clear
)
CLEAR_FIELDS: tuple[str, ...] = tuple(f.key for f in FIELDS if f.clear)


def field(key: str) -> Field:
    """Return the catalogue entry for ``key``; raise ``KeyError`` for an unknown key."""
    return FIELDS_BY_KEY[key]
