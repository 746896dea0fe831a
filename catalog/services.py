"""Writes to the catalog. The API, the admin and the commands come through here."""

from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import connection, transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.utils import timezone

from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError, DomainError, NotFoundError
from catalog.models import Resource, ScheduleException, Service, WorkingHours
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
    resource_ids: list[int] | None = None,
    **policy: Unpack[ServicePolicy],
) -> Service:
    """A new service; the model's validators, its policy checks and its check constraints apply.

    The database gives every new service a resource of its own (a trigger, catalog
    migration 0006). With ``resource_ids`` the service is delivered by those
    resources instead: it is linked to them and its own resource goes, in the
    same transaction, so no one ever sees (or books) it.
    """
    schedule = {field: policy.pop(field) for field in SCHEDULE_FIELDS if field in policy}
    fields = {"name": name, "description": description, "price": price, "is_active": is_active}
    service = Service(duration_minutes=duration_minutes, **fields, **policy)
    service.full_clean(exclude=["search_vector"])
    service.save()
    _replace_schedule(service, **schedule)
    if resource_ids is not None:
        own = list(service.resources.values_list("pk", flat=True))  # the trigger's, the only one yet
        linked = _existing(Resource, resource_ids, field="resource_ids", code="unknown_resource")
        service.resources.add(*linked)
        Resource.objects.filter(pk__in=own).delete()
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


def _replace_schedule(owner: Service | Resource, *, working_hours: list[dict] | None = None, exceptions=None) -> None:
    """Replace the weekly hours and/or the exceptions given (``None`` keeps them) of a service or a resource."""
    of = {"resource" if isinstance(owner, Resource) else "service": owner}
    if working_hours is not None:
        check_intervals(working_hours, key="weekday", field="working_hours")
        WorkingHours.objects.filter(**of).delete()
        WorkingHours.objects.bulk_create(WorkingHours(**of, **row) for row in working_hours)
    if exceptions is not None:
        check_intervals(exceptions, key="date", field="exceptions")
        ScheduleException.objects.filter(**of).delete()
        ScheduleException.objects.bulk_create(
            ScheduleException(**of, date=row["date"], start=row.get("start"), end=row.get("end")) for row in exceptions
        )


def _existing(model: type[Model], ids: list[int], *, field: str, code: str) -> list[int]:
    """``ids`` (duplicates dropped), each an existing row of ``model``, kept so until the transaction ends.

    ``FOR KEY SHARE`` is the lock a foreign key takes: a concurrent delete of one
    of them waits for this transaction, so the links written next never point to
    a row gone meanwhile (Django's foreign keys are checked only at commit, which
    would be a 500). An unknown id is a 400 naming them.
    """
    wanted = sorted(set(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {model._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608
            [wanted],
        )
        found = [row[0] for row in cursor.fetchall()]
    missing = sorted(set(wanted) - set(found))
    if missing:
        names = ", ".join(map(str, missing))
        raise DomainError(f"No {model._meta.verbose_name} with id {names}.", code=code, field=field)
    return found


@transaction.atomic
def service_delete(*, service: Service) -> None:
    """A service with bookings keeps its history: deactivate it instead. One gone meanwhile is a ``NotFoundError``."""
    _delete_unless_booked(service, code="service_has_bookings")


def _delete_unless_booked(instance: Service | Resource, *, code: str) -> None:
    """Delete a service or a resource; its bookings protect it (409 ``code``), one gone meanwhile is a 404."""
    name = instance._meta.verbose_name
    try:
        _, deleted = instance.delete()
    except ProtectedError as exc:
        raise ConflictError(
            f"This {name} has bookings and cannot be deleted; deactivate it instead (is_active=false).", code=code
        ) from exc
    if not deleted.get(instance._meta.label):
        raise NotFoundError(f"This {name} no longer exists.")


class ResourceChanges(TypedDict, total=False):
    """The writable fields of a resource, for ``resource_create`` and ``resource_update``."""

    name: str
    kind: str  # Resource.Kind: staff, room, equipment
    is_active: bool
    timezone: str  # IANA name; its hours are in this zone
    services: list[int]  # ids of the services it delivers; replaces the list
    working_hours: list[dict]  # as a service's; empty: only the service's hours apply
    exceptions: list[dict]


RESOURCE_WRITABLE_FIELDS = tuple(ResourceChanges.__annotations__)


@transaction.atomic
def resource_create(*, name: str, **fields: Unpack[ResourceChanges]) -> Resource:
    """A new resource delivering ``services``: the model's validators (a known zone) and the schedule's rules apply."""
    related = {field: fields.pop(field) for field in ("services", *SCHEDULE_FIELDS) if field in fields}
    resource = Resource(name=name, **fields)
    resource.full_clean()
    resource.save()
    _write_resource_relations(resource, **related)
    return resource


@transaction.atomic
def resource_update(*, resource: Resource, **changes: Unpack[ResourceChanges]) -> Resource:
    """Change the given fields, as ``service_update`` does.

    A list of services, hours or exceptions replaces the resource's whole list.
    """
    unknown = set(changes) - set(RESOURCE_WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"resource_update() got fields it cannot write: {', '.join(sorted(unknown))}")
    related = {field: changes.pop(field) for field in ("services", *SCHEDULE_FIELDS) if field in changes}
    # Two edits of one resource's lists apply one after the other, and never to a resource deleted meanwhile.
    if related and not Resource.objects.select_for_update().filter(pk=resource.pk).exists():
        raise NotFoundError("This resource no longer exists.")
    model_update(instance=resource, data=changes)
    _write_resource_relations(resource, **related)
    return resource


def _write_resource_relations(resource: Resource, *, services: list[int] | None = None, **schedule) -> None:
    if services is not None:
        resource.services.set(_existing(Service, services, field="services", code="unknown_service"))
    _replace_schedule(resource, **schedule)


@transaction.atomic
def resource_delete(*, resource: Resource) -> None:
    """A resource that holds bookings keeps them (and their history): deactivate it instead."""
    _delete_unless_booked(resource, code="resource_has_bookings")


def service_set_active(*, services: QuerySet[Service], is_active: bool) -> int:
    """(De)activate many services in one UPDATE; returns how many changed.

    An inactive service keeps its bookings and reviews but takes no new bookings.
    """
    return services.exclude(is_active=is_active).update(is_active=is_active, updated_at=timezone.now())
