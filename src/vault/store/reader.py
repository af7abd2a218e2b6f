"""Reading chosen personal fields of one subject, decrypting nothing else.

The repository rebuilds a whole aggregate and so decrypts every field. A read on
behalf of a user decrypts only the fields the policy decision allows: this reader
replays the subject's events without decrypting, remembers for each field the
envelope that set it last, and opens just those envelopes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from vault.crypto.envelope import decode_value
from vault.errors import KeyShredded
from vault.store.mapper import PII, PII_SUBJECT, EncryptingMapper
from vault.store.registry import Store


@dataclass(frozen=True, slots=True)
class SubjectFields:
    """Clear attributes of the subject's aggregate and the decrypted fields asked for."""

    subject_id: UUID
    clear: dict[str, Any]
    fields: dict[str, Any]
    erased: bool = False


class FieldReader:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._mapper = EncryptingMapper(store.app.mapper.transcoder, store.keys, decrypt=False)

    def read(self, aggregate_id: UUID, fields: Iterable[str]) -> SubjectFields | None:
        """Return the clear attributes and the chosen fields of ``aggregate_id``, or None."""
        stored = self._store.app.recorder.select_events(aggregate_id)
        if not stored:
            return None
        clear: dict[str, Any] = {}
        latest: dict[str, tuple[str, UUID, int]] = {}
        for stored_event in stored:
            event = self._mapper.to_domain_event(stored_event)
            state = dict(vars(event))
            subject = state.pop(PII_SUBJECT, None) or aggregate_id
            for key, text in (state.pop(PII, None) or {}).items():
                if subject == aggregate_id:
                    latest[key] = (text, subject, stored_event.originator_version)
            for key in ("village_code", "sex", "birth_year", "resident_category",
                        "record_status", "household_id"):
                if key in state:
                    clear[key] = state[key]

        wanted = [f for f in fields if f in latest]
        if not wanted:
            return SubjectFields(aggregate_id, clear, {})
        try:
            cipher = self._store.keys.cipher(aggregate_id)
        except KeyShredded:
            return SubjectFields(aggregate_id, clear, {}, erased=True)
        opened: dict[str, Any] = {}
        for key in wanted:
            text, subject, version = latest[key]
            plaintext = cipher.decrypt(
                base64.b64decode(text), subject_id=subject, field=key,
                originator_id=aggregate_id, originator_version=version,
            )
            opened[key] = decode_value(plaintext)
        return SubjectFields(aggregate_id, clear, opened)
