"""Printing for the command line: one language per run, errors mapped in one place."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from vault.errors import AccessError, InvalidValue, Language, VaultError


class Console:
    """The output streams of a command: results to stdout, messages and errors to stderr."""

    def __init__(self, language: Language, out: TextIO | None = None, err: TextIO | None = None):
        self.language = language
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def say(self, zh: str, en: str) -> None:
        print(zh if self.language == "zh" else en, file=self.out)

    def note(self, zh: str, en: str) -> None:
        print(zh if self.language == "zh" else en, file=self.err)

    def json(self, payload: Any) -> None:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str), file=self.out)

    def error(self, error: VaultError) -> int:
        """Print ``error`` and return the exit status for it."""
        label = "错误" if self.language == "zh" else "Error"
        field = f"（{error.field}）" if error.field and self.language == "zh" else (
            f" ({error.field})" if error.field else "")
        print(f"{label} [{error.code}]{field}: {error.message(self.language)}", file=self.err)
        return 3 if isinstance(error, AccessError) else 1


def language_from(argument: str | None) -> Language:
    """Return the output language from ``--lang`` or ``VAULT_LANG``; reject anything else."""
    value = (argument or os.environ.get("VAULT_LANG") or "zh").lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh"
    raise InvalidValue(
        f"不支持的语言 {value!r}：请用 zh 或 en。",
        f"Unsupported language {value!r}: use zh or en.",
        code="LANGUAGE_UNKNOWN", field="--lang", value=value,
    )
