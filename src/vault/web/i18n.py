"""Language and formats of the web pages: Simplified Chinese by default, English on request.

Every text on a page is written in both languages where it is used, as
``t("中文", "English")``, the way the rest of the registry pairs ``message_zh`` and
``message_en``. The chosen language lives in a cookie, so it sticks for the
browser session, before and after login. Dates and numbers are formatted by Babel
in the ``zh_CN`` or ``en`` locale, always in Asia/Shanghai time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import pass_context
from litestar.connection import ASGIConnection

from vault.clock import SHANGHAI
from vault.errors import Language

LANGUAGE_COOKIE = "__Host-vault-lang"
_LOCALES: dict[Language, str] = {"zh": "zh_CN", "en": "en"}


def language_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Language:
    """Return the page language: the cookie's choice, else Chinese."""
    return "en" if connection.cookies.get(LANGUAGE_COOKIE) == "en" else "zh"


def text(language: Language, zh: str, en: str) -> str:
    return en if language == "en" else zh


@pass_context
def t(context: Any, zh: str, en: str) -> str:
    """Template function: the text in the page's language."""
    return text(context.get("lang", "zh"), zh, en)


@pass_context
def when(context: Any, value: datetime | str | None) -> str:
    """Template filter: a time in Asia/Shanghai, as ``2026年12月4日 09:00:00`` in Chinese."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI)
    locale = _LOCALES[context.get("lang", "zh")]
    pattern = "y年M月d日 HH:mm:ss" if locale == "zh_CN" else "MMM d, y, HH:mm:ss"
    return format_datetime(moment, pattern, locale=locale)


@pass_context
def day(context: Any, value: date | str | None) -> str:
    """Template filter: a date, ``2026年12月4日`` or ``December 4, 2026``; other text unchanged."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            # A masked birth date ("1980", an age band) is shown as it is.
            return value
    else:
        parsed = value
    return format_date(parsed, "long", locale=_LOCALES[context.get("lang", "zh")])


@pass_context
def number(context: Any, value: int | float) -> str:
    return format_decimal(value, locale=_LOCALES[context.get("lang", "zh")])


@pass_context
def percent(context: Any, value: float) -> str:
    return format_percent(value, "#,##0.0%", locale=_LOCALES[context.get("lang", "zh")])
