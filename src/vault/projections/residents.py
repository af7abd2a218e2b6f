"""The resident view: one row per person and per household, with clear values only.

The view is kept from the event log by polling the notification log (SQLite has no
subscriptions, and one code path serves both backends). Each batch of view rows is
committed in the same transaction as the position it reached. That position moves
by compare-and-set, so two processes catching up at once cannot apply an event
twice: the one that loses rolls back and starts again from the new position.
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

_INSERT_HOUSEHOLD = (
    "INSERT INTO {households} (household_id, village_code, members, registered_at, version)"
    " VALUES (?, ?, 0, ?, ?) ON CONFLICT (household_id) DO NOTHING"
)


class ResidentProjection:
    """Keep ``vault_residents`` and ``vault_households`` current from the event log."""

    def __init__(self, store: Store, batch_size: int = 5000) -> None:
        self._store = store
        self._db = store.db
        self._recorder = store.app.recorder
        # The view needs only clear attributes, so its mapper is built with
        # decrypt=False: it reads no personal field and works for erased subjects.
        self._mapper = EncryptingMapper(store.app.mapper.transcoder, store.keys, decrypt=False)
        self._batch_size = batch_size
        self._handlers: dict[str, Callable[[_ViewChanges, Any], None]] = {
            get_topic(Person.Registered): self._person_registered,
            get_topic(Person.IdNumberCorrected): self._id_number_corrected,
            get_topic(Household.Established): self._household_established,
            get_topic(Household.MembersJoined): self._members_joined,
        }
        self._member_joined_topic = get_topic(Household.MemberJoined)

    def position(self) -> int:
        with self._db.transaction(commit=False) as tx:
            value = tx.scalar(
                "SELECT notification_id FROM {projection_tracking} WHERE projection = ?", (NAME,)
            )
        return int(value or 0)

    def catch_up(self) -> int:
        """Apply every event recorded after the tracked position; return how many."""
        applied = 0
        start = self.position()
        while True:
            notifications = self._recorder.select_notifications(
                start=start, limit=self._batch_size, inclusive_of_start=False
            )
            if not notifications:
                return applied
            try:
                self._apply(start, notifications)
            except _Overtaken:
                start = self.position()
                continue
            applied += len(notifications)
            start = notifications[-1].id

    def apply_saved(self, tx: Tx, saved: Sequence[tuple[int, Any]]) -> bool:
        """Apply events just saved in ``tx`` from memory, if the view is right behind them.

        ``saved`` is (notification id, event) in log order, as
        ``Registry.save_with_rows`` hands to its ``after_insert``. The view moves in
        the events' own transaction, without reading or decoding them back, but
        only when its position is the notification just before the first of them
        and the ids follow on. Otherwise it returns ``False`` and leaves the view
        to ``catch_up``, which reads the log as usual.
        """
        if not saved:
            return True
        first, last = saved[0][0], saved[-1][0]
        if last - first != len(saved) - 1:
            return False
        tx.execute(
            "INSERT INTO {projection_tracking} (projection, notification_id) VALUES (?, ?)"
            " ON CONFLICT (projection) DO NOTHING",
            (NAME, 0),
        )
        tx.execute(
            "UPDATE {projection_tracking} SET notification_id = ?"
            " WHERE projection = ? AND notification_id = ?",
            (last, NAME, first - 1),
        )
        if tx.rowcount != 1:
            return False
        changes = _ViewChanges()
        for _notification_id, event in saved:
            handler = self._handlers.get(get_topic(type(event)))
            if handler is not None:
                handler(changes, event)
            elif isinstance(event, Household.MemberJoined):
                changes.members_joined(str(event.originator_id), event.originator_version, 1)
        changes.write(tx)
        return True

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
            changes = _ViewChanges()
            for notification in notifications:
                if notification.topic == self._member_joined_topic:
                    # Everything this handler needs is in the notification's columns,
                    # so the event is not decoded.
                    changes.members_joined(
                        str(notification.originator_id), notification.originator_version, 1
                    )
                    continue
                handler = self._handlers.get(notification.topic)
                if handler is not None:
                    handler(changes, self._mapper.to_domain_event(notification))
            changes.write(tx)

    def _person_registered(self, changes: _ViewChanges, event: Any) -> None:
        changes.registered.append(
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

    def _id_number_corrected(self, changes: _ViewChanges, event: Any) -> None:
        changes.corrected.append(
            (event.sex, event.birth_year, event.originator_version, str(event.originator_id))
        )

    def _members_joined(self, changes: _ViewChanges, event: Any) -> None:
        changes.members_joined(
            str(event.originator_id), event.originator_version, len(event.members)
        )

    def _household_established(self, changes: _ViewChanges, event: Any) -> None:
        changes.established.append(
            (
                str(event.originator_id),
                event.village_code,
                event.timestamp.isoformat(),
                event.originator_version,
            )
        )


class _ViewChanges:
    """The view rows of one batch of notifications, written with one statement per kind.

    ``write`` runs the kinds in a fixed order rather than in log order. The result is
    the same, because statements on different rows commute and the log orders each
    row's own events the same way: a household is established before members join
    it, and a person is registered before any correction.
    """

    def __init__(self) -> None:
        self.established: list[tuple[Any, ...]] = []
        # household id -> [members joined in this batch, version of the last join]
        self.joined: dict[str, list[int]] = {}
        self.registered: list[tuple[Any, ...]] = []
        self.corrected: list[tuple[Any, ...]] = []

    def members_joined(self, household_id: str, version: int, count: int) -> None:
        counts = self.joined.setdefault(household_id, [0, version])
        counts[0] += count
        counts[1] = version

    def write(self, tx: Tx) -> None:
        tx.executemany(_INSERT_HOUSEHOLD, self.established)
        tx.executemany(
            "UPDATE {households} SET members = members + ?, version = ? WHERE household_id = ?",
            [(count, version, household_id)
             for household_id, (count, version) in self.joined.items()],
        )
        tx.executemany(_UPSERT_PERSON, self.registered)
        tx.executemany(
            "UPDATE {residents} SET sex = ?, birth_year = ?, version = ? WHERE person_id = ?",
            self.corrected,
        )


class _Overtaken(Exception):
    """Raised inside a view transaction to roll it back when the position moved."""
