"""Reads of the catalog. The one home of "who sees which services": ``service_list_visible``."""

import functools
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce, NullIf, Round

from bookit.db.replicas import read_connection
from bookit.domain_errors import NotFoundError
from catalog import localtime
from catalog.models import MAX_LENGTH, Resource, Service
from catalog.schedule import Schedule, local_instant

# rating_sum / review_count, rounded to 2 places; NULL for a service without reviews.
AVERAGE_RATING = Round(
    Cast("rating_sum", DecimalField(max_digits=12, decimal_places=2)) / NullIf(F("review_count"), 0),
    2,
    output_field=DecimalField(max_digits=3, decimal_places=2),
)
# The columns of a row of GET /services: ServiceSerializer's fields.
SERVICE_ROW = (
    *("id", "name", "description", "price", "duration_minutes", "is_active"),
    *("created_at", "updated_at", "average_rating", "review_count"),
)


def service_list_visible(*, user) -> QuerySet[Service]:
    """Services the caller may see: active ones, or all for admins. No ratings: for lookups."""
    return _visible(Service.objects.all(), staff=bool(user and user.is_staff))


def _visible(services: QuerySet[Service], *, staff: bool) -> QuerySet[Service]:
    return services if staff else services.filter(is_active=True)


def service_visible(service: Service, *, user) -> bool:
    """Whether the caller may see this service (read already): the rule of ``service_list_visible``."""
    return service.is_active or bool(user and user.is_staff)


def catalog_version() -> int:
    """The version of everything the catalog shows; it changes in the transaction of every change (migration 0004)."""
    with read_connection(Service).cursor() as cursor:
        cursor.execute("SELECT version FROM catalog_version")
        return cursor.fetchone()[0]


def service_list(*, user) -> QuerySet[Service]:
    """Services the caller may see, with their ratings.

    ``review_count`` and ``rating_sum`` are stored on the service (a trigger on
    reviews keeps them); ``average_rating`` (null without reviews, 2 decimals)
    is their quotient, so a page of services never aggregates the reviews.
    """
    return _rated_services(staff=bool(user and user.is_staff)).all()


def service_list_detailed(*, user) -> QuerySet[Service]:
    """``service_list`` with each service's weekly hours and exceptions (two more queries in all)."""
    return service_list(user=user).prefetch_related("working_hours", "exceptions")


# One service with its weekly hours and exceptions as JSON arrays, in one fixed query: every
# booking and every availability read needs them, and building this with the ORM (two
# subqueries) cost more than running it. Schedule.of reads the arrays.
_SERVICE_FIELDS = [field for field in Service._meta.concrete_fields if field.name != "search_vector"]
# A schedule's rows as JSON arrays, of `{owner}_id = {alias}.id`: what Schedule.from_rows reads.
_SCHEDULE_ROWS = """
    (SELECT coalesce(json_agg(json_build_object('weekday', weekday, 'start', start, 'end', "end")), '[]')
       FROM catalog_workinghours WHERE {owner}_id = {alias}.id),
    (SELECT coalesce(json_agg(json_build_object('date', date, 'start', start, 'end', "end")), '[]')
       FROM catalog_scheduleexception WHERE {owner}_id = {alias}.id)"""
# The active resources that deliver service `s.id`, each with its own schedule, by id.
_SERVICE_RESOURCES = """
    (SELECT coalesce(json_agg(json_build_array(r.id, r.name, r.timezone, {resource_schedule}) ORDER BY r.id), '[]')
       FROM catalog_resource AS r JOIN catalog_resource_services AS link ON link.resource_id = r.id
      WHERE link.service_id = s.id AND r.is_active)""".format(  # noqa: S608
    resource_schedule=_SCHEDULE_ROWS.format(owner="resource", alias="r")
)
_SERVICE_WITH_SCHEDULE = """
SELECT {columns}, {schedule}, {resources}
FROM catalog_service AS s WHERE id = %s
""".format(
    columns=", ".join(f"s.{connection.ops.quote_name(field.column)}" for field in _SERVICE_FIELDS),
    schedule=_SCHEDULE_ROWS.format(owner="service", alias="s"),
    resources=_SERVICE_RESOURCES,
)
_RESOURCES_OF_SERVICE = f"SELECT {_SERVICE_RESOURCES} FROM catalog_service AS s WHERE id = %s"  # noqa: S608


@dataclass(frozen=True)
class BookableResource:
    """An active resource that delivers a service, with its own hours (``Schedule``; empty: always open)."""

    id: int
    name: str
    schedule: Schedule


def _bookable(rows) -> list[BookableResource]:
    return [
        BookableResource(pk, name, Schedule.from_rows(zone, hours, exceptions))
        for pk, name, zone, hours, exceptions in rows
    ]


def bookable_resources(service: Service) -> list[BookableResource]:
    """The active resources that deliver ``service``, by id: read with it by ``service_by_id_with_schedule``,
    or in one query for a service read otherwise (the admin's, a booking's)."""
    rows = getattr(service, "resource_rows", None)
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(_RESOURCES_OF_SERVICE, [service.pk])
            found = cursor.fetchone()
        rows = found[0] if found else []
    return _bookable(rows)


def service_by_id_with_schedule(pk: int) -> Service | None:
    """The service with this id (active or not) and its schedule (``Schedule.of`` uses it), or None."""
    with read_connection(Service).cursor() as cursor:
        cursor.execute(_SERVICE_WITH_SCHEDULE, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    service = Service.from_db(connection.alias, [field.attname for field in _SERVICE_FIELDS], row[:-3])
    service.schedule_hours, service.schedule_exceptions, service.resource_rows = row[-3:]
    return service


def service_with_schedule(*, pk: int, bookable: bool = False) -> Service:
    """One service with its weekly hours and exceptions; an unknown (or, if ``bookable``, inactive) one is a 404."""
    service = service_by_id_with_schedule(pk)
    if service is None or (bookable and not service.is_active):
        raise NotFoundError("No service with this id takes bookings.", code="service_not_found")
    return service


def service_rows(*, user) -> QuerySet:
    """``service_list`` as the list endpoint's rows: dicts with ``SERVICE_ROW``'s keys."""
    return service_list(user=user).values(*SERVICE_ROW)


@functools.cache
def _rated_services(*, staff: bool) -> QuerySet[Service]:
    """Built once per process: resolving the annotations costs more than the query's own SQL.

    Never evaluated itself; callers get a copy (``.all()``), so no rows are cached here.
    """
    return (
        _visible(Service.objects.all(), staff=staff)
        .defer("search_vector")  # only `?q=` reads it, in the WHERE clause
        .annotate(average_rating=AVERAGE_RATING)
        .order_by("name", "id")
    )


def _per_service(relation: str, aggregate) -> Subquery:
    """One aggregate over a reverse relation of Service, as a correlated subquery.

    Two aggregates over two relations in one GROUP BY would join bookings x
    reviews per service; a subquery per relation scans only its own rows, and
    only for the rows the page shows. The related model is looked up by the
    relation's name, so the catalog still imports nothing from above.
    """
    model = Service._meta.get_field(relation).related_model
    rows = model.objects.filter(service=OuterRef("pk")).order_by().values("service")
    return Subquery(rows.annotate(value=aggregate).values("value"))


def service_list_with_stats() -> QuerySet[Service]:
    """Every service with ``booking_count`` and ``average_rating`` (null without reviews), for staff screens."""
    return Service.objects.annotate(
        booking_count=Coalesce(_per_service("bookings", Count("pk")), 0),
        average_rating=AVERAGE_RATING,
    )


# The columns of a row of GET /resources: the public ones, and what staff see besides.
RESOURCE_ROW = ("id", "name", "kind", "service_ids")
RESOURCE_STAFF_ROW = (*RESOURCE_ROW, "is_active", "timezone")


def _service_ids(*, staff: bool) -> ArraySubquery:
    """The ids of the services a resource delivers, in order; the public sees the active ones only,
    as it sees only active services (an inactive service is a 404 to it)."""
    links = Resource.services.through.objects.filter(resource_id=OuterRef("pk"))
    if not staff:
        links = links.filter(service__is_active=True)
    return ArraySubquery(links.order_by("service_id").values("service_id"))


def resource_list(*, user) -> QuerySet[Resource]:
    """Resources the caller may see (active ones, or all for staff), each with ``service_ids``, by name.

    The ids come in the same query (an array subquery), so a page costs one
    query however many services each resource delivers.
    """
    staff = bool(user and user.is_staff)
    resources = Resource.objects.all() if staff else Resource.objects.filter(is_active=True)
    return resources.annotate(service_ids=_service_ids(staff=staff)).order_by("name", "id")


def resource_list_detailed(*, user) -> QuerySet[Resource]:
    """``resource_list`` with each resource's weekly hours and exceptions (two more queries in all)."""
    return resource_list(user=user).prefetch_related("working_hours", "exceptions")


def resource_rows(*, user) -> QuerySet:
    """``resource_list`` as the list endpoint's rows: dicts with ``RESOURCE_ROW``'s keys (staff: the staff row's)."""
    return resource_list(user=user).values(*(RESOURCE_STAFF_ROW if user and user.is_staff else RESOURCE_ROW))


def resource_day(*, resource: Resource, day: date) -> QuerySet:
    """The bookings ``resource`` holds on ``day`` in its own zone (any that overlap it, cancelled ones too), by start.

    Each comes with its service and its customer (one query). The bookings are
    reached through the reverse relation, so the catalog imports nothing from
    the bookings app. A booking lasts at most ``MAX_LENGTH``, so only starts
    that recent can reach into the day: the bound keeps the scan of the
    (resource, start_time) index to those, however long the resource's history.
    """
    # Midnight by the schedule's rule (fold=0): where the clocks skip it, the day starts when they jump.
    start, end = (local_instant(d, time(0), localtime.zone(resource.timezone)) for d in (day, day + timedelta(days=1)))
    return (
        resource.bookings.filter(
            start_time__gte=start - timedelta(minutes=MAX_LENGTH), start_time__lt=end, end_time__gt=start
        )
        .select_related("service", "user")
        .order_by("start_time", "seat", "id")
    )
