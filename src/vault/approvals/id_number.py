"""The ID-number correction: a clerk requests it, a reviewer approves, then the number changes.

The new number passes the same checks as at import (``check_id_number`` with the
injected clock's date and the GB/T 2260 county table), must differ from the current
one and must not be registered to anybody else. On approval the person gets an
``IdNumberCorrected`` event with the sex and birth year the new number encodes, and
the person's ``id_number`` blind-index row is replaced, in the same transaction as
the event and the request's status change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from vault.approvals.kinds import Rows
from vault.approvals.model import ApprovalRequest
from vault.bootstrap import Services
from vault.domain.actor import Actor, Source
from vault.domain.idnumbers import IdNumberValid, check_id_number
from vault.domain.person import Person
from vault.errors import InvalidValue, KeyShredded
from vault.imports.service import ID_NUMBER
from vault.policy import MaskContext, apply_mask
from vault.reference import county_codes
from vault.store import blind
from vault.store.reader import FieldReader

NEW_NUMBER = "id_number"
_DELETE_NUMBER_ROW = "DELETE FROM {blind_index} WHERE kind = ? AND subject_id = ?"


class IdNumberCorrection:
    """Correct a person's ID number (and the sex and birth date it encodes)."""

    name: str = "id_number_correction"
    label_zh: str = "更正公民身份号码"
    label_en: str = "ID number correction"
    fields: tuple[str, ...] = (
        "id_number", "id_type", "id_number_original", "birth_date", "sex", "birth_year",
    )

    def prepare(
        self, services: Services, subject_ids: Sequence[UUID], details: Mapping[str, str]
    ) -> dict[str, Any]:
        (person_id,) = subject_ids
        raw = details.get(NEW_NUMBER, "")
        result = check_id_number(raw, services.clock.today(), county_codes(), field=NEW_NUMBER)
        if not isinstance(result, IdNumberValid):
            first = result.problems[0]
            raise InvalidValue(first.message_zh, first.message_en, code=first.code,
                               field=first.field, value=first.value)
        payload = {
            "number": result.number,
            "original": raw.strip(),
            "type": str(result.type.value),
            "birth_date": result.birth_date.isoformat() if result.birth_date else None,
            "sex": result.sex,
            "warnings": [p.code for p in result.problems if p.severity == "warning"],
        }
        self._check_number(services, person_id, result.number)
        return payload

    def check(
        self, services: Services, request: ApprovalRequest, payload: Mapping[str, Any]
    ) -> None:
        self._check_number(services, request.subject_id, str(payload["number"]))

    def apply(
        self,
        services: Services,
        request: ApprovalRequest,
        payload: Mapping[str, Any],
        actor: Actor,
        rows: Rows,
    ) -> None:
        person_id = request.subject_id
        person: Person = services.store.app.repository.get(person_id)
        born = date.fromisoformat(payload["birth_date"]) if payload["birth_date"] else None
        pii: dict[str, Any] = {
            "id_number": payload["number"],
            "id_type": payload["type"],
            # Always written, so that an original kept from the old number can never
            # be read as the original of the new one.
            "id_number_original": payload["original"],
        }
        if born is not None:
            pii["birth_date"] = born
        person.correct_id_number(
            sex=payload["sex"] or person.sex,
            birth_year=born.year if born else person.birth_year,
            actor=actor.as_dict(),
            source=Source(batch_id=request.request_id.hex).as_dict(),
            pii=pii,
        )

        cipher = services.store.keys.cipher(person_id)
        new_row = services.blind.row(ID_NUMBER, payload["number"], person_id, cipher)
        # The old row goes first: if both numbers share a truncated digest, the new
        # row has the same primary key as the old one.
        services.store.app.save_with_rows(person, rows=[
            (_DELETE_NUMBER_ROW, [(ID_NUMBER, str(person_id))]),
            (blind.INSERT, [new_row]),
            *rows,
        ])
        services.residents.catch_up()

    def describe(
        self, payload: Mapping[str, Any], masks: Mapping[str, str], context: MaskContext
    ) -> dict[str, str | None]:
        details: dict[str, str | None] = {}
        mask = masks.get("id_number")
        if mask is not None:
            details["id_number"] = apply_mask(mask, str(payload["number"]), context)
        if payload.get("warnings"):
            details["warnings"] = ",".join(payload["warnings"])
        return details

    def _check_number(self, services: Services, person_id: UUID, number: str) -> None:
        read = FieldReader(services.store).read(person_id, ["id_number"])
        if read is None or "village_code" not in read.clear:
            raise InvalidValue("没有这个人员。", "No such person.",
                               code="PERSON_NOT_FOUND", field="--person", value=str(person_id))
        if read.erased:
            raise KeyShredded("该人员的数据已被删除。", "The person's data was erased.",
                              field="--person", value=str(person_id))
        if read.fields.get("id_number") == number:
            raise InvalidValue(
                "新号码与该人员现有的号码相同，无需更正。",
                "The new number is the person's current number; there is nothing to correct.",
                code="ID_NUMBER_UNCHANGED", field=NEW_NUMBER,
            )
        # NOTE: this check and the write are separate transactions, so two requests for
        # different persons approved at the same moment could both take one number.
        holders = services.blind.find(ID_NUMBER, [number]).get(number, [])
        if any(holder != person_id for holder in holders):
            # The message names no holder: the requester may not see that person.
            raise InvalidValue(
                "该号码已登记在另一人员名下，不能更正为此号码。请先核实两条记录是否为同一人。",
                "The number is already registered to another person, so it cannot be used."
                " Check first whether the two records are the same person.",
                code="ID_NUMBER_TAKEN", field=NEW_NUMBER,
            )
