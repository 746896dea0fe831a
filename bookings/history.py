"""The booking history: an immutable event for every change, written in the change's own transaction.

Every write in ``bookings.services`` (and so every path: the API, the admin,
the maintenance commands) records its event through here; reading is
``bookings.selectors.booking_history``.
"""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from bookings.models import Booking, BookingEvent
from bookit.utc import iso_z

# What an event shows of a booking, before and after.
FIELDS = (
    *("service_id", "resource_id", "seat", "user_id", "start_time", "end_time", "status", "notes"),
    *("cancelled_at", "cancellation_reason"),
)


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
