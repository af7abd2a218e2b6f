"""The mapper that encrypts every personal field of an event under its subject's key.

eventsourcing's own cipher encrypts a whole event under one application key, which
cannot be destroyed for one person. Here each entry of an event's ``pii`` mapping
becomes its own envelope under the data subject's key, with the subject, the field
and the event's position bound in as associated data; everything else in the event
(type, ids, version, time, actor, source, coarse clear values) stays readable so the
log can be routed, audited and projected without a key.
"""

from __future__ import annotations

from base64 import b64decode
from binascii import b2a_base64
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from vault.crypto.envelope import FieldCipher, decode_value
from vault.errors import KeyShredded
from vault.store.keystore import KeyStore

PII = "pii"
PII_SUBJECT = "pii_subject"
# Set on a decoded event whose subject was erased: its personal fields read as None.
PII_ERASED = "pii_erased"


class SealedFields(dict[str, str]):
    """Personal fields already sealed for one subject and one event, by field name.

    An import seals a new person's fields in the process that prepares rows, before
    the event exists. The mapper stores such a mapping as it is, after checking that
    it was sealed for the event's subject, originator and version. It raises for any
    other event, so sealed text is never stored where it cannot be opened.
    """

    def __init__(
        self,
        envelopes: dict[str, str],
        *,
        subject_id: UUID,
        originator_id: UUID,
        originator_version: int,
    ) -> None:
        super().__init__(envelopes)
        self.binding = (subject_id, originator_id, originator_version)


def seal_fields(
    cipher: FieldCipher,
    pii: Mapping[str, Any],
    *,
    subject_id: UUID,
    originator_id: UUID,
    originator_version: int,
) -> dict[str, str]:
    """Return the base64 envelope of every field of ``pii`` that is not ``None``."""
    # A field left empty gets no envelope at all: the event then shows that the
    # field is absent (say, no phone number), which SECURITY.md accepts as a
    # coarse fact, in exchange for fewer envelopes per person.
    envelopes = cipher.encrypt_fields(
        pii, subject_id=subject_id, originator_id=originator_id,
        originator_version=originator_version,
    )
    return {field: b2a_base64(envelope, newline=False).decode("ascii")
            for field, envelope in envelopes.items()}


class EncryptingMapper(Mapper[UUID]):
    """Encrypt ``pii`` entries on the way in; decrypt them on the way out when asked to."""

    def __init__(self, transcoder: Transcoder, keys: KeyStore, *, decrypt: bool = True) -> None:
        super().__init__(transcoder)
        self.keys = keys
        self.decrypt = decrypt

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version

        pii = state.get(PII)
        if pii:
            subject_id = state.get(PII_SUBJECT) or originator_id
            if isinstance(pii, SealedFields):
                if pii.binding != (subject_id, originator_id, originator_version):
                    raise ValueError("sealed fields belong to another subject or event")
                state[PII] = dict(pii)
            else:
                state[PII] = seal_fields(
                    self.keys.cipher(subject_id), pii, subject_id=subject_id,
                    originator_id=originator_id, originator_version=originator_version,
                )

        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        if not self.decrypt:
            return super().to_domain_event(stored_event)
        domain_event = super().to_domain_event(stored_event)
        sealed = getattr(domain_event, PII, None)
        if sealed:
            subject_id = getattr(domain_event, PII_SUBJECT, None) or stored_event.originator_id
            opened, erased = self._open(
                sealed, subject_id, stored_event.originator_id, stored_event.originator_version
            )
            domain_event.__dict__[PII] = opened
            if erased:
                domain_event.__dict__[PII_ERASED] = True
        return domain_event

    def _open(
        self, sealed: dict[str, str], subject_id: UUID, originator_id: UUID, version: int
    ) -> tuple[dict[str, Any], bool]:
        try:
            cipher = self.keys.cipher(subject_id)
        except KeyShredded:
            return dict.fromkeys(sealed), True
        opened: dict[str, Any] = {}
        for field, text in sealed.items():
            plaintext = cipher.decrypt(
                b64decode(text),
                subject_id=subject_id,
                field=field,
                originator_id=originator_id,
                originator_version=version,
            )
            opened[field] = decode_value(plaintext)
        return opened, False
