"""structlog configuration with a processor that keeps personal data out of logs.

Entry points log; the domain and the storage adapters never do. Whatever a caller
binds, the redaction processor drops every key that names a personal field. In string
values it masks anything that looks like an ID number, a mobile number or a landline
number, and it masks Chinese text unless the key is known to hold program text. A
mistake in a log call therefore cannot write a resident's data to disk. Values
inside lists and mappings are not inspected.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from vault.domain.fields import FIELDS

_PERSONAL_KEYS = frozenset(f.key for f in FIELDS if not f.clear) | {
    "password", "passphrase", "token", "totp", "secret", "cookie", "authorization",
}
# 15 to 18 digits (optionally ending in X), an 11-digit mobile number, or a landline
# number with its area code (0576-87654321, 057687654321), anywhere in text.
_NUMBER_LIKE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15}|1\d{10}|0\d{2,3}-?\d{7,8})(?!\d)")
# A run of CJK ideographs (a name or an address), with the punctuation between them.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f·]+")
# Keys whose values the program writes itself (event names, codes, generated ids),
# never a resident's text: Chinese text in them is kept.
_PROGRAM_KEYS = frozenset({
    "event", "level", "timestamp", "logger", "request_id", "method", "route", "status",
    "duration_ms", "client", "account_id", "job_id", "error_type", "error_code", "reason",
    "via",
})
# Keys that hold generated hexadecimal ids or hashes. A 32-digit hex id can contain an
# 11-digit run that looks like a mobile number, so a value that is plainly such an id
# is kept whole. It needs a letter a-f, which no ID number or phone number contains.
_GENERATED_ID_KEYS = frozenset({"request_id", "account_id", "job_id", "client"})
_GENERATED_ID = re.compile(r"(?=.*[a-f])[0-9a-f]{16,64}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
REDACTED = "[redacted]"


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop personal keys and mask number-like and Chinese text in logged string values."""
    for key in list(event_dict):
        name = key.lower()
        if name in _PERSONAL_KEYS:
            event_dict[key] = REDACTED
            continue
        value = event_dict[key]
        if not isinstance(value, str):
            continue
        if name in _GENERATED_ID_KEYS and _GENERATED_ID.fullmatch(value):
            continue
        value = _NUMBER_LIKE.sub(REDACTED, value)
        if name not in _PROGRAM_KEYS:
            value = _CJK_RUN.sub(REDACTED, value)
        event_dict[key] = value
    return event_dict


def configure_logging(*, json: bool = True, level: int = logging.INFO, stream: Any = None) -> None:
    """Configure structlog: redaction, ISO timestamps, JSON lines (or console) to ``stream``."""
    renderer: Any = structlog.processors.JSONRenderer(ensure_ascii=False) if json else (
        structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
