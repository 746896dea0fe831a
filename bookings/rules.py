"""The booking rules, as checks that raise a domain error naming the rule; the services call them.

A service's policy applied to one period (length, working hours, notice and
horizon) is ``check_period``.

The services call ``check_period`` before they write; the availability read
(``bookings.selectors.service_availability``) offers only periods that pass
the same predicates, so every slot offered books. The rules that need the
database (overlaps and buffers, the per-user cap) are judged in the write's
transaction, under the service's lock (``bookings.writes``, with ``check_active_cap``).
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from bookings.models import Booking
from bookit.domain_errors import ConflictError, DomainError
from catalog.models import Service
from catalog.schedule import Schedule
from catalog.selectors import BookableResource, bookable_resources


def earliest_start(service: Service, *, now: datetime) -> datetime:
    """The first instant a booking may start: ``min_notice_minutes`` from now."""
    return now + timedelta(minutes=service.min_notice_minutes)


def latest_start(service: Service, *, now: datetime) -> datetime | None:
    """The last instant a booking may start (``max_advance_days`` from now), or None without a horizon."""
    return now + timedelta(days=service.max_advance_days) if service.max_advance_days is not None else None


def check_period(
    service: Service, schedule: Schedule, start: datetime, end: datetime, *, now: datetime, by_staff: bool
) -> None:
    """Raise a 400 whose code names the first rule ``[start, end)`` breaks.

    Length and working hours hold for everyone; notice and horizon only for
    customers (staff fit bookings in by hand).
    """
    minutes = (end - start) / timedelta(minutes=1)
    if not service.min_length <= minutes <= service.max_length:
        lengths = (
            f"{service.min_length} minutes"
            if service.min_length == service.max_length
            else f"{service.min_length} to {service.max_length} minutes"
        )
        raise DomainError(f"A booking of this service lasts {lengths}.", code="bad_length", field="end_time")
    if not schedule.allows(start, end):
        raise DomainError(
            f"This service takes bookings only inside its working hours ({service.timezone}).",
            code="outside_hours",
            field="start_time",
        )
    if by_staff:
        return
    if start < earliest_start(service, now=now):
        raise DomainError(
            f"Book at least {service.min_notice_minutes} minutes ahead.", code="too_soon", field="start_time"
        )
    horizon = latest_start(service, now=now)
    if horizon is not None and start > horizon:
        raise DomainError(f"Book at most {service.max_advance_days} days ahead.", code="too_far", field="start_time")


def check_cancellation_cutoff(service: Service, start: datetime, *, now: datetime, by_staff: bool) -> None:
    """Owners cannot cancel, move or delete a booking within ``cancellation_cutoff_hours`` of its start; staff can."""
    hours = service.cancellation_cutoff_hours
    if not by_staff and hours and start - now < timedelta(hours=hours):
        raise ConflictError(
            f"Bookings of this service cannot be cancelled, moved or deleted within {hours} hours of their start.",
            code="cancellation_cutoff",
        )


Status = Booking.Status


def end_after(start_time: datetime, length: timedelta) -> datetime:
    try:
        return start_time + length
    except OverflowError:
        raise DomainError(
            "This booking would end after the year 9999.", code="out_of_range", field="end_time"
        ) from None


def check_times(start_time: datetime, end_time: datetime, *, now: datetime) -> None:
    if start_time <= now:
        raise DomainError("A booking must start in the future.", code="start_in_past", field="start_time")
    if end_time <= start_time:
        raise DomainError("The end time must be after the start time.", code="end_before_start", field="end_time")


# What a customer is told of a service they cannot see (the serializer's answer for an unknown id too).
UNKNOWN_SERVICE = "No service with id {pk_value}."


def check_bookable(service: Service, *, is_active: bool | None = None) -> None:
    """Only an active service takes a new booking or a move of an existing one.

    A 409 on both paths: the request itself is sound; it clashes with the
    service's current state (staff may reactivate it), as a taken slot does.
    """
    if not (service.is_active if is_active is None else is_active):
        raise ConflictError(
            "This service is not available for booking; its bookings cannot be made or moved.",
            code="service_inactive",
            field="service_id",
        )


def check_still_bookable(service: Service, *, as_unknown: bool, active: bool | None = None) -> None:
    """Under the service's advisory lock: the service is active now and stays so until this write commits.

    The row lock (FOR NO KEY UPDATE) makes a deactivation wait for this
    transaction, and one that committed first is seen here. Writers of the
    service already queue on the advisory lock, so this adds no waiting among
    them. A new booking's single statement (``bookings.writes``) takes the same
    guarantee with a share lock of its own and passes what it found as
    ``active``. With ``as_unknown`` (a customer's new booking: the catalog hides
    inactive services) the answer is the serializer's for an unknown id;
    otherwise ``check_bookable``'s 409.
    """
    if active is None:
        active = Service.objects.select_for_update(no_key=True).filter(pk=service.pk, is_active=True).exists()
    if not active and as_unknown:
        raise ValidationError({"service_id": [UNKNOWN_SERVICE.format(pk_value=service.pk)]})
    check_bookable(service, is_active=active)


def check_cancellation_reason(*, cancelling: bool, reason: str | None) -> None:
    """A cancellation reason is given only when cancelling (the API, the admin form and its actions)."""
    if reason and not cancelling:
        raise DomainError(
            "A reason is given only when cancelling.", code="reason_without_cancel", field="cancellation_reason"
        )


def check_changeable(booking: Booking, *, now: datetime, action: str) -> None:
    if booking.status not in (Status.PENDING, Status.CONFIRMED):
        raise ConflictError(f"A {booking.status} booking cannot be {action}.", code="booking_final")
    if booking.start_time <= now:
        raise ConflictError(f"This booking has already started and cannot be {action}.", code="booking_started")


def check_cancellable(booking: Booking, *, now: datetime, by_staff: bool, action: str = "cancelled") -> None:
    """A cancellation's rules: pending or confirmed, not started, and (for owners) outside the cutoff.

    Whatever frees a live booking's slot at its owner's request obeys them: a
    cancellation, and a delete of a pending booking (``booking_delete``), which
    frees the slot as surely. ``action`` names the operation in the message.
    """
    check_changeable(booking, now=now, action=action)
    check_cancellation_cutoff(booking.service, booking.start_time, now=now, by_staff=by_staff)


def check_active_cap(user, service: Service, cap: int, *, now: datetime) -> None:
    """At most ``cap`` future, not cancelled bookings per user on the service (counted under its lock)."""
    active = Booking.objects.filter(
        user=user, service=service, start_time__gt=now, status__in=(Status.PENDING, Status.CONFIRMED)
    )
    if active.count() >= cap:
        raise DomainError(
            f"You already have {cap} upcoming booking(s) of this service, the most it allows.",
            code="too_many_active",
            field="service_id",
        )


def delivering_resources(service: Service, *, resource_id: int | None = None) -> list[BookableResource]:
    """The active resources that deliver ``service`` (by id), or only ``resource_id``, which must be one of them.

    What the availability read offers slots on: a resource that cannot take
    the service at all is the same 400 ``resource_unavailable`` a booking on it
    gets, not an empty answer that looks like a busy month.
    """
    resources = bookable_resources(service)
    if resource_id is None:
        return resources
    chosen = [resource for resource in resources if resource.id == resource_id]
    if not chosen:
        raise DomainError(
            "This resource does not deliver this service, or is not active.",
            code="resource_unavailable",
            field="resource_id",
        )
    return chosen


def working_resources(
    service: Service, start: datetime, end: datetime, *, resource_id: int | None = None
) -> list[BookableResource]:
    """The resources that could take ``[start, end)`` of ``service``: active, delivering it, working then.

    With ``resource_id`` only that one, and it must qualify
    (``delivering_resources``). None qualifying is a 400 ``resource_unavailable``
    (a 409 is for periods that are taken: the exclusion constraint judges
    those, at the write).
    """
    resources = delivering_resources(service, resource_id=resource_id)
    working = [resource for resource in resources if resource.schedule.allows(start, end)]
    if not working:
        which = "This resource does not" if resource_id is not None else "No resource that delivers this service does"
        raise DomainError(
            f"{which} work then.", code="resource_unavailable", field="resource_id" if resource_id else "start_time"
        )
    return working


def check_session(service: Service, schedule: Schedule, start: datetime, end: datetime) -> None:
    """A group session's booking (capacity above 1) starts on the slot grid and lasts the duration."""
    if service.capacity == 1:
        return
    if end - start != timedelta(minutes=service.duration_minutes):
        raise DomainError(
            f"A session of this service lasts {service.duration_minutes} minutes.", code="bad_length", field="end_time"
        )
    day = start.astimezone(schedule.zone).date()
    starts = schedule.slot_moments(day, day, step=service.slot_step, length=service.duration_minutes)
    if start.timestamp() not in set(starts):
        raise DomainError(
            "This service runs sessions: start at one of its slot times (see its availability).",
            code="not_a_session_start",
            field="start_time",
        )
