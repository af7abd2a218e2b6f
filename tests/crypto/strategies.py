"""Hypothesis strategies for the crypto tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from vault.domain.fields import PERSON_PERSONAL_FIELDS

data_keys = st.binary(min_size=32, max_size=32)
key_versions = st.integers(min_value=0, max_value=2**32 - 1)
originator_versions = st.integers(min_value=0, max_value=2**64 - 1)
subject_ids = st.uuids()

# Catalogue names first, then arbitrary text, so that odd names (empty, NUL, CJK) occur too.
field_names = st.sampled_from(PERSON_PERSONAL_FIELDS) | st.text(max_size=40)

plaintexts = st.binary(max_size=300)

field_values = st.none() | st.text(max_size=200) | st.dates() | st.integers()


@st.composite
def field_contexts(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments that bind an envelope: subject, field and event."""
    subject_id: UUID = draw(subject_ids)
    return {
        "subject_id": subject_id,
        "field": draw(field_names),
        "originator_id": draw(st.uuids()),
        "originator_version": draw(originator_versions),
    }


CONTEXT_PARTS = ("subject_id", "field", "originator_id", "originator_version")

_PART_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "subject_id": subject_ids,
    "field": field_names,
    "originator_id": st.uuids(),
    "originator_version": originator_versions,
}


@st.composite
def changed_contexts(draw: st.DrawFn, context: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A copy of ``context`` with exactly one part replaced by a different value."""
    part = draw(st.sampled_from(CONTEXT_PARTS))
    other = draw(_PART_STRATEGIES[part].filter(lambda value: value != context[part]))
    return part, {**context, part: other}


# Values as a normaliser would hand them to the blind indexer: ID numbers, phones,
# and arbitrary text for names and villages.
id_numbers = st.from_regex(r"[1-9][0-9]{16}[0-9X]", fullmatch=True)
phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
index_values = id_numbers | phones | st.text(max_size=60)
