"""structlog configuration with a processor that keeps personal data out of logs.

Entry points log; the domain and the storage adapters never do. Whatever a caller
binds, the redaction processor drops every key that names a personal field and masks
anything in a value that looks like an ID number or a phone number, so that a
mistake in a log call cannot write a resident's data to disk.
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
# 15 to 18 digits (optionally ending in X) or an 11-digit mobile number, anywhere in text.
_NUMBER_LIKE = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15}|1\d{10})(?!\d)")
REDACTED = "[redacted]"


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop personal keys and mask number-like text in every logged value."""
    for key in list(event_dict):
        if key.lower() in _PERSONAL_KEYS:
            event_dict[key] = REDACTED
            continue
        value = event_dict[key]
        if isinstance(value, str):
            event_dict[key] = _NUMBER_LIKE.sub(REDACTED, value)
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
