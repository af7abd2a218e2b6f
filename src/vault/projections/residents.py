"""The resident view: one row per person and per household, with clear values only.

The view is kept from the event log by polling the notification log (SQLite has no
subscriptions, and one code path serves both backends). Each batch of view rows is
committed in the same transaction as the position it reached, and that position is
moved by compare-and-set, so that two processes catching up at once cannot apply an
event twice: the loser rolls back and starts again from the new position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from vault.domain.household import Household
from vault.domain.person import Person
from vault.store.database import Tx
from vault.store.mapper import EncryptingMapper
from vault.store.registry import Store

NAME = "residents"

_UPSERT_PERSON = (
    "INSERT INTO {residents} (person_id, household_id, village_code, sex, birth_year,"
    " resident_category, record_status, batch_id, registered_at, version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id,"
    " village_code = excluded.village_code, sex = excluded.sex,"
    " birth_year = excluded.birth_year, resident_category = excluded.resident_category,"
    " record_status = excluded.record_status, version = excluded.version"
)


class ResidentProjection:
    """Keep ``vault_residents`` and ``vault_households`` current from the event log."""

    def __init__(self, store: Store, batch_size: int = 1000) -> None:
        self._store = store
        self._db = store.db
        self._recorder = store.app.recorder
        # The view needs only clear attributes, so it never decrypts: it cannot leak
        # what it never reads, and it keeps working for erased subjects.
        self._mapper = EncryptingMapper(store.app.mapper.transcoder, store.keys, decrypt=False)
        self._batch_size = batch_size
        self._handlers: dict[str, Callable[[Tx, Any], None]] = {
            get_topic(Person.Registered): self._person_registered,
            get_topic(Person.IdNumberCorrected): self._id_number_corrected,
            get_topic(Household.Established): self._household_established,
            get_topic(Household.MemberJoined): self._member_joined,
        }

    def position(self) -> int:
        with self._db.transaction(commit=False) as tx:
            value = tx.scalar(
                "SELECT notification_id FROM {projection_tracking} WHERE projection = ?", (NAME,)
            )
        return int(value or 0)

    def catch_up(self) -> int:
        """Apply every event recorded after the tracked position; return how many."""
        applied = 0
        while True:
            start = self.position()
            notifications = self._recorder.select_notifications(
                start=start, limit=self._batch_size, inclusive_of_start=False
            )
            if not notifications:
                return applied
            try:
                self._apply(start, notifications)
            except _Overtaken:
                continue
            applied += len(notifications)

    def rebuild(self) -> int:
        """Drop the view and build it again from the first event."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM {residents}")
            tx.execute("DELETE FROM {households}")
            tx.execute("DELETE FROM {projection_tracking} WHERE projection = ?", (NAME,))
        return self.catch_up()

    def _apply(self, start: int, notifications: Sequence[Notification]) -> None:
        last = notifications[-1].id
        with self._db.transaction() as tx:
            if start == 0:
                tx.execute(
                    "INSERT INTO {projection_tracking} (projection, notification_id) VALUES (?, ?)"
                    " ON CONFLICT (projection) DO NOTHING",
                    (NAME, 0),
                )
            tx.execute(
                "UPDATE {projection_tracking} SET notification_id = ?"
                " WHERE projection = ? AND notification_id = ?",
                (last, NAME, start),
            )
            if tx.rowcount != 1:
                # Another process moved the position first: roll back, read it again.
                raise _Overtaken
            for notification in notifications:
                handler = self._handlers.get(notification.topic)
                if handler is not None:
                    handler(tx, self._mapper.to_domain_event(notification))

    def _person_registered(self, tx: Tx, event: Any) -> None:
        tx.execute(
            _UPSERT_PERSON,
            (
                str(event.originator_id),
                str(event.household_id) if event.household_id else None,
                event.village_code,
                event.sex,
                event.birth_year,
                event.resident_category,
                event.record_status,
                event.source.get("batch_id"),
                event.timestamp.isoformat(),
                event.originator_version,
            ),
        )

    def _id_number_corrected(self, tx: Tx, event: Any) -> None:
        tx.execute(
            "UPDATE {residents} SET sex = ?, birth_year = ?, version = ? WHERE person_id = ?",
            (event.sex, event.birth_year, event.originator_version, str(event.originator_id)),
        )

    def _household_established(self, tx: Tx, event: Any) -> None:
        tx.execute(
            "INSERT INTO {households} (household_id, village_code, members, registered_at, version)"
            " VALUES (?, ?, 0, ?, ?) ON CONFLICT (household_id) DO NOTHING",
            (
                str(event.originator_id),
                event.village_code,
                event.timestamp.isoformat(),
                event.originator_version,
            ),
        )

    def _member_joined(self, tx: Tx, event: Any) -> None:
        tx.execute(
            "UPDATE {households} SET members = members + 1, version = ? WHERE household_id = ?",
            (event.originator_version, str(event.originator_id)),
        )


class _Overtaken(Exception):
    """Raised inside a view transaction to roll it back when the position moved."""
