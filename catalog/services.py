"""Writes to the catalog. The API, the admin and the commands come through here."""

from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError, NotFoundError
from catalog.models import ScheduleException, Service, WorkingHours
from catalog.schedule import check_intervals


class ServicePolicy(TypedDict, total=False):
    """When and how a service can be booked (catalog/schedule.py and bookings/rules.py apply it)."""

    timezone: str
    min_length_minutes: int | None
    max_length_minutes: int | None
    buffer_minutes: int
    min_notice_minutes: int
    max_advance_days: int | None
    slot_step_minutes: int | None
    cancellation_cutoff_hours: int
    max_active_bookings_per_user: int | None
    capacity: int  # people per session; above 1 the service runs group sessions
    reminder_minutes_before: list[int]  # reminders this many minutes before each booking (notifications)
    notify_email: str  # staff address told of new pending bookings
    working_hours: list[dict]  # {"weekday": 1..7, "start": time, "end": time}; replaces the week
    exceptions: list[dict]  # {"date": date, "start": time | None, "end": time | None}; replaces them all


class ServiceChanges(ServicePolicy, total=False):
    """The writable fields of a service, for ``service_update`` (any subset)."""

    name: str
    description: str
    price: Decimal
    duration_minutes: int
    is_active: bool


WRITABLE_FIELDS = tuple(ServiceChanges.__annotations__)
SCHEDULE_FIELDS = ("working_hours", "exceptions")


@transaction.atomic
def service_create(
    *,
    name: str,
    price: Decimal,
    duration_minutes: int,
    description: str = "",
    is_active: bool = True,
    **policy: Unpack[ServicePolicy],
) -> Service:
    """A new service; the model's validators, its policy checks and its check constraints apply."""
    schedule = {field: policy.pop(field) for field in SCHEDULE_FIELDS if field in policy}
    fields = {"name": name, "description": description, "price": price, "is_active": is_active}
    service = Service(duration_minutes=duration_minutes, **fields, **policy)
    service.full_clean(exclude=["search_vector"])
    service.save()
    _replace_schedule(service, **schedule)
    return service


@transaction.atomic
def service_update(*, service: Service, **changes: Unpack[ServiceChanges]) -> Service:
    """Change the given fields; same validation as on create. A list of hours or exceptions replaces the old one.

    Only the given columns are written, so the rating totals that the reviews'
    trigger keeps, or an activation made meanwhile, are never written back stale.
    """
    unknown = set(changes) - set(WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"service_update() got fields it cannot write: {', '.join(sorted(unknown))}")
    schedule = {field: changes.pop(field) for field in SCHEDULE_FIELDS if field in changes}
    # Two edits of one service's hours apply one after the other, and never to a service deleted meanwhile.
    if schedule and not Service.objects.select_for_update().filter(pk=service.pk).exists():
        raise NotFoundError("This service no longer exists.")
    model_update(instance=service, data=changes)
    _replace_schedule(service, **schedule)
    return service


def _replace_schedule(service: Service, *, working_hours: list[dict] | None = None, exceptions=None) -> None:
    """Replace the weekly hours and/or the exceptions given (``None`` keeps them)."""
    if working_hours is not None:
        check_intervals(working_hours, key="weekday", field="working_hours")
        WorkingHours.objects.filter(service=service).delete()
        WorkingHours.objects.bulk_create(WorkingHours(service=service, **row) for row in working_hours)
    if exceptions is not None:
        check_intervals(exceptions, key="date", field="exceptions")
        ScheduleException.objects.filter(service=service).delete()
        ScheduleException.objects.bulk_create(
            ScheduleException(service=service, date=row["date"], start=row.get("start"), end=row.get("end"))
            for row in exceptions
        )


@transaction.atomic
def service_delete(*, service: Service) -> None:
    """A service with bookings keeps its history: deactivate it instead. One gone meanwhile is a ``NotFoundError``."""
    try:
        _, deleted = service.delete()
    except ProtectedError as exc:
        raise ConflictError(
            "This service has bookings and cannot be deleted; deactivate it instead (is_active=false).",
            code="service_has_bookings",
        ) from exc
    if not deleted.get(Service._meta.label):
        raise NotFoundError("This service no longer exists.")


def service_set_active(*, services: QuerySet[Service], is_active: bool) -> int:
    """(De)activate many services in one UPDATE; returns how many changed.

    An inactive service keeps its bookings and reviews but takes no new bookings.
    """
    return services.exclude(is_active=is_active).update(is_active=is_active, updated_at=timezone.now())
