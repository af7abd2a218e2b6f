"""Header labels: clean-up, the wordings offices use for each column, and header detection.

Offices word the same column in many ways (身份证号 / 身份证号码 / 公民身份号码 ...) and
type the labels with stray spaces, line breaks and full-width brackets. A label is
cleaned first and then looked up in ``HEADER_WORDINGS``. The header row of a sheet is
the row among its first ``HEADER_SCAN_ROWS`` rows whose labels map to the most keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vault.domain.fields import FIELDS_BY_KEY
from vault.errors import WorkbookError

HEADER_SCAN_ROWS = 30
"""How many rows from the top of a sheet are searched for the header row."""

MIN_HEADER_KEYS = 5
"""Known keys a header row needs: ``name``, ``id_number`` and at least three more."""

HEADER_WORDINGS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "序", "顺序号"),
    "household_number": (
        "户编号", "户编码", "户号", "户代码", "家庭户编号", "家庭编号",
    ),
    "village": (
        "村(居)委会", "村委会", "村居", "村(社区)", "所属村", "村(居)", "居委会", "社区",
        "所属村(居)", "所属村(居)委会", "村(居)委会名称", "村委会名称", "村名", "行政村",
    ),
    "group": ("村民小组", "组", "小组", "组别", "村(居)民小组", "居民小组"),
    "house_number": ("门牌号", "门牌", "门牌号码"),
    "name": ("姓名",),
    "sex": ("性别",),
    "ethnicity": ("民族",),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "出生时间"),
    "id_type": ("证件类型", "身份证件类型"),
    "id_number": (
        "公民身份号码", "身份证号", "身份证号码", "证件号码", "身份证件号码", "身份证",
        "公民身份证号", "公民身份证号码",
    ),
    "relationship": ("与户主关系", "户主关系", "关系", "与户主的关系"),
    "marital_status": ("婚姻状况", "婚姻状态", "婚姻"),
    "education": ("文化程度", "学历"),
    "hukou_type": ("户口性质", "户籍性质", "户口类型", "户口类别"),
    "registered_address": ("户籍地址", "户籍地", "户籍所在地", "户口所在地", "户籍地详址"),
    "current_address": (
        "现居住地址", "现住址", "现居住地", "居住地址", "现住地址", "实际居住地址",
    ),
    "resident_category": ("人员类别", "人口类别", "人员类型", "人口类型"),
    "move_date": (
        "流出(入)日期", "流入(出)日期", "流动日期", "流出日期", "流入日期", "外出时间",
        "外出日期", "迁入时间", "迁入日期", "流出时间", "流入时间", "流动时间",
    ),
    "move_place": (
        "流入(出)地", "流出(入)地", "流出地", "流入地", "外出地点", "流出地点", "流入地点",
        "流动地点", "外出地址",
    ),
    "move_reason": ("流动原因", "外出原因", "流出原因", "流入原因"),
    "marriage_cert_number": (
        "婚育证明号码", "婚育证明编号", "流动人口婚育证明号码", "婚育证明号",
    ),
    "phone": ("联系电话", "电话", "手机", "手机号码", "手机号", "联系方式", "电话号码"),
    "remark": ("备注", "备注说明"),
}

REQUIRED_KEYS: tuple[str, ...] = ("name", "id_number", "sex", "birth_date", "relationship")
"""Keys every imported sheet needs, besides one of ``PLACE_KEYS``."""

PLACE_KEYS: tuple[str, ...] = ("household_number", "village")
"""A sheet needs at least one of these to place a person in a household or village."""

# Labels for keys that the field catalogue does not list.
_EXTRA_LABELS: dict[str, tuple[str, str]] = {
    "seq": ("序号", "sequence number"),
    "village": ("村(居)委会", "village"),
}

# Invisible format characters that occur in labels pasted from web pages and Word.
# They are not spaces to ``str.isspace``, so they are removed by name. Spaces, line
# breaks and control characters are removed by Unicode category in ``clean_label``.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_REMOVED_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc"})
_BRACKETS = str.maketrans({
    "[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")",
    "【": "(", "】": ")", "〔": "(", "〕": ")", "〖": "(", "〗": ")",
    "「": "(", "」": ")", "『": "(", "』": ")", "〈": "(", "〉": ")", "《": "(", "》": ")",
})
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


def clean_label(text: str) -> str:
    """Normalise a header label for lookup.

    Removes every kind of space and line break (also U+00A0, U+3000 and zero-width
    characters), applies NFKC (full-width letters, digits and brackets become
    ASCII) and turns every bracket form into round brackets.
    """
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE))
    kept = [ch for ch in text if unicodedata.category(ch) not in _REMOVED_CATEGORIES]
    return "".join(kept).translate(_BRACKETS)


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for key, wordings in HEADER_WORDINGS.items():
        for wording in wordings:
            cleaned = clean_label(wording)
            if lookup.setdefault(cleaned, key) != key:
                raise ValueError(f"header wording {wording!r} is listed for two keys")
    return lookup


_LOOKUP = _build_lookup()


def field_key_for(label: str) -> str | None:
    """Return the field key a header label stands for, or ``None`` for an unknown label.

    Required-column marks (``*姓名``) are ignored, and so is a trailing note in
    brackets (``出生日期（格式：19900101）``) when the label without it is known.
    """
    cleaned = clean_label(label).strip("*")
    if not cleaned:
        return None
    key = _LOOKUP.get(cleaned)
    if key is None and _TRAILING_NOTE.search(cleaned):
        key = _LOOKUP.get(_TRAILING_NOTE.sub("", cleaned).strip("*"))
    return key


def label_zh(key: str) -> str:
    """Return the Chinese label of a field key for messages."""
    if key in _EXTRA_LABELS:
        return _EXTRA_LABELS[key][0]
    return FIELDS_BY_KEY[key].label_zh


def label_en(key: str) -> str:
    """Return the English label of a field key for messages."""
    if key in _EXTRA_LABELS:
        return _EXTRA_LABELS[key][1]
    return FIELDS_BY_KEY[key].label_en


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """The header row found in a sheet: its 1-based row number and one key per label."""

    row_number: int
    labels: tuple[str, ...]
    keys: tuple[str | None, ...]

    @property
    def known_keys(self) -> frozenset[str]:
        return frozenset(key for key in self.keys if key is not None)


def match_header_row(row_number: int, labels: Sequence[str]) -> HeaderMatch | None:
    """Map one row's labels to keys; return ``None`` unless it qualifies as a header row."""
    keys = tuple(field_key_for(label) for label in labels)
    known = {key for key in keys if key is not None}
    if "name" not in known or "id_number" not in known or len(known) < MIN_HEADER_KEYS:
        return None
    return HeaderMatch(row_number, tuple(labels), keys)


def find_header(rows: Iterable[tuple[int, Sequence[str]]]) -> HeaderMatch | None:
    """Pick the header row among ``(row number, labels)`` pairs.

    The row that maps to the most distinct keys wins. On a tie the upper row wins, so
    that a header repeated further down does not move the start of the data.
    """
    best: HeaderMatch | None = None
    for row_number, labels in rows:
        match = match_header_row(row_number, labels)
        if match is not None and (best is None or len(match.known_keys) > len(best.known_keys)):
            best = match
    return best


def check_columns(match: HeaderMatch, sheet: str) -> None:
    """Raise ``WorkbookError`` when the header lacks a required column or repeats a key."""
    _check_duplicates(match, sheet)

    known = match.known_keys
    missing = [key for key in REQUIRED_KEYS if key not in known]
    missing_place = not any(key in known for key in PLACE_KEYS)
    if not missing and not missing_place:
        return

    names_zh = [f"“{label_zh(key)}”" for key in missing]
    names_en = [f"'{label_en(key)}'" for key in missing]
    if missing_place:
        names_zh.append("“户编号”或“村(居)委会”")
        names_en.append("'household number' or 'village'")
    raise WorkbookError(
        f"工作表“{sheet}”第 {match.row_number} 行的表头缺少必需的列：{'、'.join(names_zh)}。"
        "请补上这些列后重新导入。",
        f"The header on row {match.row_number} of sheet '{sheet}' lacks required columns: "
        f"{', '.join(names_en)}. Add them and import the file again.",
        code="WORKBOOK_MISSING_COLUMNS",
        value=", ".join(missing + (["household_number|village"] if missing_place else [])),
    )


def _check_duplicates(match: HeaderMatch, sheet: str) -> None:
    seen: dict[str, str] = {}
    for label, key in zip(match.labels, match.keys, strict=True):
        if key is None:
            continue
        if key not in seen:
            seen[key] = label
            continue
        first, second = _one_line(seen[key]), _one_line(label)
        raise WorkbookError(
            f"工作表“{sheet}”的表头中“{first}”和“{second}”都表示“{label_zh(key)}”，"
            "请删除或改名其中一列。",
            f"In sheet '{sheet}' the header columns '{first}' and '{second}' both mean "
            f"'{label_en(key)}'. Remove or rename one of them.",
            code="WORKBOOK_DUPLICATE_COLUMN",
            field=key,
            value=f"{first} | {second}",
        )


def _one_line(label: str) -> str:
    return " ".join(label.split())
