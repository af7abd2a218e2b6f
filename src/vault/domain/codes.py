"""The code tables of a registration row.

Each table accepts its standard label, its code, the everyday wordings listed with
it, and a code typed together with a label (``2 农业户口``, ``2农业``, ``2-农业``)
when both name the same entry. Input is compared after NFKC (full-width digits and
letters become ASCII) and with white space of every kind removed. Anything else
raises ``InvalidValue`` whose message lists the allowed labels and whose ``value``
is the offending text; code values are not personal data.

Code values that no national standard fixes are this project's choice and are
marked so below (居民户口, resident category).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from vault.domain.values import is_white_space
from vault.errors import InvalidValue, Problem

__all__ = [
    "EDUCATION",
    "ETHNICITY",
    "HUKOU_TYPE",
    "MARITAL_STATUS",
    "MOVE_REASON",
    "RELATIONSHIP",
    "RESIDENT_CATEGORY",
    "SEX",
    "TABLES",
    "CodeTable",
    "CodeValue",
]


@dataclass(frozen=True, slots=True)
class CodeValue:
    """One entry of a code table: the stored code and the label shown for it."""

    code: str
    label: str


# Separators clerks put between a code and its label.
_COMBINED = re.compile(r"^(?P<code>\d+)[-_.,、:：/|]*(?P<label>\D.*)$")


@lru_cache(maxsize=8192)
def _clean(raw: str) -> str:
    # Cached: a column of codes repeats a handful of wordings over every row.
    text = unicodedata.normalize("NFKC", raw)
    return "".join(char for char in text if not is_white_space(char))


# The maximum number of distinct texts one code table remembers (see CodeTable.read).
_MAX_READINGS = 4096


class CodeTable:
    """A code table: codes with labels, everyday wordings, and words meaning "none".

    ``pad_codes`` lets a one-digit number stand for a two-digit code (``1`` for
    ``01``), which undoes Excel dropping the leading zero. Leave it off where a bare
    digit would be ambiguous. ``empty_words`` are wordings that mean the field has
    no value (学龄前 for education), and ``parse_optional`` returns ``None`` for them.
    With ``foreign_numbers_in_combined``, a combined form whose number is not a code
    of this table (``1 配偶`` on a census-numbered form) is mapped by its label; a
    number that is a code must still agree with the label.
    """

    def __init__(
        self,
        field: str,
        name_zh: str,
        name_en: str,
        entries: Iterable[tuple[str, str]],
        wordings: Mapping[str, str] | None = None,
        *,
        pad_codes: bool = False,
        empty_words: Iterable[str] = (),
        foreign_numbers_in_combined: bool = False,
    ) -> None:
        self.field = field
        self.name_zh = name_zh
        self.name_en = name_en
        self.values: tuple[CodeValue, ...] = tuple(CodeValue(c, label) for c, label in entries)
        self._by_code = {value.code: value for value in self.values}
        self._by_label: dict[str, CodeValue] = {_clean(v.label): v for v in self.values}
        for wording, code in (wordings or {}).items():
            self._by_label[_clean(wording)] = self._by_code[code]
        self._pad_codes = pad_codes
        self._foreign_numbers = foreign_numbers_in_combined
        self.empty_words = frozenset(_clean(word) for word in empty_words)
        self._readings: dict[str, tuple[CodeValue | None, Problem | None]] = {}

    def label(self, code: str) -> str:
        """Return the label of ``code``; raise ``KeyError`` for an unknown code."""
        return self._by_code[code].label

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def _from_code(self, text: str) -> CodeValue | None:
        found = self._by_code.get(text)
        if found is None and self._pad_codes and len(text) == 1 and text.isdigit():
            found = self._by_code.get("0" + text)
        return found

    def _match(self, text: str) -> CodeValue | None:
        found = self._from_code(text) if text.isdigit() else self._by_label.get(text)
        if found is not None:
            return found
        combined = _COMBINED.match(text)
        if combined is None:
            return None
        by_code = self._from_code(combined["code"])
        by_label = self._by_label.get(combined["label"])
        if by_code is None and self._foreign_numbers:
            # A number from another numbering (the census) with a label: the label decides.
            return by_label
        return by_code if by_code is not None and by_code == by_label else None

    def parse(self, raw: str) -> CodeValue:
        """Return the entry that ``raw`` names, or raise ``InvalidValue``.

        A blank value or an empty word raises with code ``CODE_MISSING``; any other
        unknown text raises with code ``CODE_UNKNOWN``.
        """
        text = _clean(raw)
        if not text or text in self.empty_words:
            raise InvalidValue(
                f"{self.name_zh}未填写",
                f"The {self.name_en} is missing",
                code="CODE_MISSING",
                field=self.field,
            )
        found = self._match(text)
        if found is None:
            raise InvalidValue(
                f"{self.name_zh}“{raw.strip()}”无法识别，可填：{self.allowed_zh()}",
                f"The {self.name_en} is not recognised; allowed: {self.allowed_codes()}",
                code="CODE_UNKNOWN",
                field=self.field,
                value=raw.strip(),
            )
        return found

    def parse_optional(self, raw: str) -> CodeValue | None:
        """Return the entry that ``raw`` names, or ``None`` for a blank or an empty word."""
        text = _clean(raw)
        if not text or text in self.empty_words:
            return None
        return self.parse(raw)

    def allowed_zh(self) -> str:
        """Return the labels with their codes, as listed in messages."""
        return "、".join(f"{v.code} {v.label}" for v in self.values)

    def allowed_codes(self) -> str:
        """Return the codes with their labels, for English messages."""
        return ", ".join(f"{v.code} {v.label}" for v in self.values)

    def read(self, raw: str) -> tuple[CodeValue | None, Problem | None]:
        """Return ``parse_optional(raw)`` and, for a value, its ``normalisation_note``.

        Successful readings are remembered per distinct text, because a column repeats
        a handful of wordings over thousands of rows. A text that raises is checked
        again each time, so the error is always a fresh exception.
        """
        known = self._readings.get(raw)
        if known is not None:
            return known
        value = self.parse_optional(raw)
        reading = (value, self.normalisation_note(raw, value) if value is not None else None)
        if len(self._readings) >= _MAX_READINGS:
            self._readings.clear()
        self._readings[raw] = reading
        return reading

    def normalisation_note(self, raw: str, value: CodeValue) -> Problem | None:
        """Return a note when ``raw`` was not typed as the bare code or the bare label."""
        typed = raw.strip()
        if typed in {value.code, value.label}:
            return None
        return Problem(
            "CODE_NORMALISED", self.field,
            f"{self.name_zh}已统一为“{value.code} {value.label}”",
            f"The {self.name_en} was normalised to {value.code} {value.label}",
            "note",
            typed,
        )


# -- the tables ------------------------------------------------------------

SEX = CodeTable(
    "sex", "性别", "sex",
    [("1", "男"), ("2", "女"), ("0", "未知的性别"), ("9", "未说明的性别")],
    {"男性": "1", "女性": "2", "未知": "0", "未说明": "9"},
)

MARITAL_STATUS = CodeTable(
    "marital_status", "婚姻状况", "marital status",
    [("10", "未婚"), ("20", "已婚"), ("21", "初婚"), ("22", "再婚"), ("23", "复婚"),
     ("30", "丧偶"), ("40", "离婚"), ("90", "未说明的婚姻状况")],
    {"有配偶": "20", "离异": "40", "未说明": "90"},
)

# GB/T 4761-2008 家庭关系代码. The census numbering (0 户主, 1 配偶, 2 子女 …) is not
# accepted as bare numbers, and ``pad_codes`` stays off, because "2" means 子女 to a
# census form and would be a truncated 02 户主 to Excel. With a label beside it
# (``1 配偶``), a census number is mapped by the label.
RELATIONSHIP = CodeTable(
    "relationship", "与户主关系", "relationship to the head",
    [
        ("01", "本人"), ("02", "户主"),
        ("10", "配偶"), ("11", "夫"), ("12", "妻"),
        ("20", "子"), ("21", "独生子"), ("22", "长子"), ("23", "次子"), ("24", "三子"),
        ("25", "四子"), ("26", "五子"), ("27", "养子或继子"), ("28", "女婿"),
        ("29", "其他儿子"),
        ("30", "女"), ("31", "独生女"), ("32", "长女"), ("33", "次女"), ("34", "三女"),
        ("35", "四女"), ("36", "五女"), ("37", "养女或继女"), ("38", "儿媳"),
        ("39", "其他女儿"),
        ("40", "孙子、孙女或外孙子、外孙女"), ("41", "孙子"), ("42", "孙女"),
        ("43", "外孙子"), ("44", "外孙女"), ("45", "孙媳妇或外孙媳妇"),
        ("46", "孙女婿或外孙女婿"), ("47", "曾孙子或外曾孙子"), ("48", "曾孙女或外曾孙女"),
        ("49", "其他孙子、孙女或外孙子、外孙女"),
        ("50", "父母"), ("51", "父亲"), ("52", "母亲"), ("53", "公公"), ("54", "婆婆"),
        ("55", "岳父"), ("56", "岳母"), ("57", "继父或养父"), ("58", "继母或养母"),
        ("59", "其他父母关系"),
        ("60", "祖父母或外祖父母"), ("61", "祖父"), ("62", "祖母"), ("63", "外祖父"),
        ("64", "外祖母"), ("65", "配偶的祖父母或外祖父母"), ("66", "曾祖父"),
        ("67", "曾祖母"), ("68", "配偶的曾祖父母或外曾祖父母"),
        ("69", "其他祖父母或外祖父母关系"),
        ("70", "兄、弟、姐、妹"), ("71", "兄"), ("72", "嫂"), ("73", "弟"), ("74", "弟媳"),
        ("75", "姐姐"), ("76", "姐夫"), ("77", "妹妹"), ("78", "妹夫"),
        ("79", "其他兄弟姐妹"),
        ("80", "其他"), ("81", "伯父"), ("82", "伯母"), ("83", "叔父"), ("84", "婶母"),
        ("85", "舅父"), ("86", "舅母"), ("87", "姨父"), ("88", "姨母"), ("89", "姑父"),
        ("90", "姑母"), ("91", "堂兄弟、堂姐妹"), ("92", "表兄弟、表姐妹"), ("93", "侄子"),
        ("94", "侄女"), ("95", "外甥"), ("96", "外甥女"), ("97", "其他亲属"),
        ("99", "非亲属"),
    ],
    {
        "丈夫": "11", "妻子": "12", "儿子": "20", "女儿": "30", "孙子女": "40",
        "父": "51", "母": "52", "祖父母": "60", "兄弟姐妹": "70", "哥哥": "71", "弟弟": "73",
        "姐": "75", "妹": "77", "媳妇": "38", "儿媳妇": "38", "孙媳": "45",
    },
    foreign_numbers_in_combined=True,
)

# Codes 1, 2 and 9 are those of the national population collection form. Code 3 for
# 居民户口 (the unified type of the 2014 reform) is this project's choice: the
# collection form predates the reform. 农村 and 城镇 are the everyday names of the
# old agricultural and non-agricultural types (forms printed "农业（农村）户口"), so
# they map to 2 and 1, not to 居民户口.
HUKOU_TYPE = CodeTable(
    "hukou_type", "户口性质", "household registration type",
    [("1", "非农业户口"), ("2", "农业户口"), ("3", "居民户口"), ("9", "其他")],
    {
        "非农业": "1", "非农": "1", "城镇": "1", "城镇户口": "1",
        "农业": "2", "农村": "2", "农村户口": "2",
        "居民": "3", "统一居民户口": "3",
    },
)

# GB/T 4658-2006 with the older labels clerks use. Decisions on clerk wordings:
# 大学 means a bachelor's degree (20), as everyday usage contrasts 大学 with 大专;
# 文盲 / 半文盲 / 文盲或半文盲 / 不识字 / 未上过学 map to 90, the code of 文盲或半文盲
# in the 1984 edition; 学龄前, 学前 and 幼儿园 mean "no education yet" and leave
# the field empty.
EDUCATION = CodeTable(
    "education", "文化程度", "education",
    [
        ("10", "研究生教育"), ("11", "博士研究生毕业"), ("14", "硕士研究生毕业"),
        ("20", "大学本科教育"), ("30", "大学专科教育"),
        ("40", "中等职业教育"), ("41", "中等专科毕业"), ("44", "职业高中毕业"),
        ("47", "技工学校毕业"),
        ("60", "普通高级中学教育"), ("70", "初级中学教育"), ("80", "小学教育"),
        ("90", "其他"),
    ],
    {
        "研究生": "10", "博士": "11", "博士研究生": "11", "硕士": "14", "硕士研究生": "14",
        "大学本科": "20", "本科": "20", "大学": "20",
        "大学专科": "30", "专科": "30", "大专": "30",
        "中等职业": "40", "中职": "40", "中专": "41", "职高": "44", "技校": "47",
        "高中": "60", "普通高中": "60", "初中": "70", "小学": "80",
        "文盲或半文盲": "90", "文盲": "90", "半文盲": "90", "不识字": "90",
        "未上过学": "90",
    },
    empty_words=("学龄前", "学前", "幼儿园"),
)

_ETHNIC_GROUPS = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶",
    "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水",
    "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉",
    "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克",
    "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
)

# GB/T 3304-1991: codes 01-56 in the order above, then 97 and 98. Each name is
# accepted without its final 族 too, since that never names another group.
ETHNICITY = CodeTable(
    "ethnicity", "民族", "ethnicity",
    [(f"{index:02d}", f"{name}族") for index, name in enumerate(_ETHNIC_GROUPS, start=1)]
    + [("97", "其他未识别民族"), ("98", "外国血统中国籍人士")],
    {
        **{name: f"{index:02d}" for index, name in enumerate(_ETHNIC_GROUPS, start=1)},
        "蒙族": "02", "维族": "05", "未识别民族": "97", "外国血统": "98",
    },
    pad_codes=True,
)

# Code values are this project's choice; no national standard numbers them.
RESIDENT_CATEGORY = CodeTable(
    "resident_category", "人员类别", "resident category",
    [("1", "常住"), ("2", "流出"), ("3", "流入")],
    {"常住人口": "1", "流出人口": "2", "流入人口": "3", "外出": "2", "外来": "3"},
)

# The census list of reasons for moving.
MOVE_REASON = CodeTable(
    "move_reason", "流动原因", "reason for moving",
    [("1", "务工经商"), ("2", "工作调动"), ("3", "学习培训"), ("4", "随迁家属"),
     ("5", "投亲靠友"), ("6", "拆迁搬家"), ("7", "寄挂户口"), ("8", "婚姻嫁娶"),
     ("9", "其他")],
    {"务工": "1", "经商": "1", "打工": "1", "学习": "3", "上学": "3", "随迁": "4",
     "投亲": "5", "投靠亲友": "5", "投亲访友": "5", "拆迁": "6", "搬家": "6", "婚嫁": "8", "结婚": "8"},
)

TABLES: dict[str, CodeTable] = {
    table.field: table
    for table in (SEX, MARITAL_STATUS, RELATIONSHIP, HUKOU_TYPE, EDUCATION, ETHNICITY,
                  RESIDENT_CATEGORY, MOVE_REASON)
}
