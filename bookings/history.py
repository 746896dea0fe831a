"""The booking history: an immutable event for every change, written in the change's own transaction.

Every write in ``bookings.services`` (and so every path: the API, the admin,
the maintenance commands) records its event through here; reading is
``bookings.selectors.booking_history``.
"""

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.utils import timezone

from bookings.models import Booking, BookingEvent
from bookit.utc import iso_z
from catalog.localtime import format_local

# What an event shows of a booking, before and after.
FIELDS = (
    *("service_id", "resource_id", "seat", "user_id", "start_time", "end_time", "status", "notes"),
    *("cancelled_at", "cancellation_reason", "series_id"),
)

# Set while one operation changes many bookings whose news goes out as one digest (a series
# cancellation): the events written meanwhile carry ``in_digest``, so the notifications skip
# their mail of one (bookings know nothing of mail; the event says how it came about).
_IN_DIGEST = contextvars.ContextVar("bookings_history_in_digest", default=False)


@contextlib.contextmanager
def told_in_digest() -> Iterator[None]:
    """Events recorded inside are marked ``in_digest``: their owner is told of them all at once."""
    token = _IN_DIGEST.set(True)
    try:
        yield
    finally:
        _IN_DIGEST.reset(token)


# How staff read a field's name, and the fields whose values are instants (kept as ISO ``Z`` strings).
LABELS = {"service_id": "service", "user_id": "user", "start_time": "start", "end_time": "end", "series_id": "series"}
INSTANTS = {"start_time", "end_time", "cancelled_at"}
SHOWN_CHARACTERS = 80  # of a long text (notes, a reason): enough to recognise it


def snapshot(booking: Booking) -> dict:
    return {name: getattr(booking, name) for name in FIELDS}


def _json(value):
    return iso_z(value) if isinstance(value, datetime) else value


def record(booking: Booking, action: str, *, actor_id: int | None, before: dict | None) -> BookingEvent:
    """The event of ``action`` on ``booking`` (as it is now; ``before`` as it was, None when created), saved.

    ``changes`` holds ``[before, after]`` for each field that differs; after a
    deletion, ``after`` is null throughout.
    """
    event = event_of(booking, action, actor_id=actor_id, before=before)
    event.save(force_insert=True)
    return event


def event_of(booking: Booking, action: str, *, actor_id: int | None, before: dict | None) -> BookingEvent:
    """``record``'s event, unsaved: a new booking's is written in the same statement as the booking."""
    after = None if action == BookingEvent.Action.DELETED else snapshot(booking)
    changes = {
        name: [_json(before[name] if before else None), _json(after[name] if after else None)]
        for name in FIELDS
        if (before[name] if before else None) != (after[name] if after else None)
    }
    return BookingEvent(
        booking_id=booking.pk,
        service_id=booking.service_id,
        owner_id=booking.user_id,
        actor_id=actor_id,
        action=action,
        changes=changes,
        in_digest=_IN_DIGEST.get(),
    )


def record_system_moves(rows: Iterable[tuple[int, int, int]], *, action: str, changes: dict) -> None:
    """Events of a maintenance command's bulk change: ``rows`` are ``(booking_id, service_id, owner_id)``."""
    now = timezone.now()
    BookingEvent.objects.bulk_create(
        BookingEvent(
            booking_id=booking_id,
            service_id=service_id,
            owner_id=owner_id,
            actor_id=None,
            action=action,
            at=now,
            changes={name: [_json(old), _json(new)] for name, (old, new) in changes.items()},
        )
        for booking_id, service_id, owner_id in rows
    )


def describe_changes(changes: dict, tz_name: str) -> list[str]:
    """``changes`` as lines staff read, ``"start: Mon 7 Dec 2026, 10:00 CET -> Mon 7 Dec 2026, 10:30 CET"``.

    Times are shown in ``tz_name`` (the service's zone), ids as ``#2``, an
    absent value as ``(none)``; a field that goes from nothing to an empty text
    (a new booking's notes) is left out. Only for people: the API serves
    ``changes`` as they are stored.
    """
    return [
        f"{LABELS.get(name, name.replace('_', ' '))}: {_shown(name, before, tz_name)} -> {_shown(name, after, tz_name)}"
        for name, (before, after) in changes.items()
        if not {before, after} <= {None, ""}
    ]


def _shown(name: str, value, tz_name: str) -> str:
    if value is None:
        return "(none)"
    if name in INSTANTS:
        return format_local(datetime.fromisoformat(value), tz_name)
    if name.endswith("_id"):
        return f"#{value}"
    text = str(value)
    if not text:
        return "(empty)"
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."
