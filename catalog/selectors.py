"""Reads of the catalog."""

import functools

from django.db.models import Avg, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Round

from catalog.models import Service


def service_list_visible(*, user) -> QuerySet[Service]:
    """Services the caller may see: active ones, or all for admins. No ratings: for lookups."""
    services = Service.objects.all()
    if not (user and user.is_staff):
        services = services.filter(is_active=True)
    return services


def service_list(*, user) -> QuerySet[Service]:
    """Services the caller may see (active ones, or all for admins), with their ratings.

    ``average_rating`` (null without reviews) and ``review_count`` are computed
    in the same query as the rows, as correlated subqueries: PostgreSQL
    evaluates them for the rows of the page only, and the page's ``count()``
    leaves them out. ``reviews`` is the reverse name of ``reviews.Review.service``:
    a lookup by name, so the catalog never imports upwards.
    """
    return _rated_services(staff=bool(user and user.is_staff)).all()


@functools.cache
def _rated_services(*, staff: bool) -> QuerySet[Service]:
    """Built once per process: resolving the annotations costs more than the query's own SQL.

    Never evaluated itself; callers get a copy (``.all()``), so no rows are cached here.
    """
    services = Service.objects.all() if staff else Service.objects.filter(is_active=True)
    return (
        services.defer("search_vector")  # only `?q=` reads it, in the WHERE clause
        .annotate(
            review_count=Coalesce(_per_service("reviews", Count("pk")), 0),
            average_rating=Round(_per_service("reviews", Avg("rating")), 2),
        )
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
        average_rating=Round(_per_service("reviews", Avg("rating")), 2),
    )
