"""Reads of the catalog. The one home of "who sees which services": ``service_list_visible``."""

import functools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce, NullIf, Round

from bookit.db.replicas import read_connection
from bookit.domain_errors import NotFoundError
from catalog.models import Service
from catalog.schedule import Schedule

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
