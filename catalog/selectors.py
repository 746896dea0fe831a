"""Reads of the catalog."""

from django.db.models import Avg, Count, QuerySet
from django.db.models.functions import Round

from catalog.models import Service


def service_list(*, user) -> QuerySet[Service]:
    """Services the caller may see (active ones, or all for admins), with their ratings.

    ``average_rating`` (null without reviews) and ``review_count`` are computed
    in the same query as the rows. ``reviews`` is the reverse name of
    ``reviews.Review.service``: a lookup by name, so the catalog never imports upwards.
    """
    services = Service.objects.annotate(
        review_count=Count("reviews"),
        average_rating=Round(Avg("reviews__rating"), 2),
    ).order_by("name", "id")  # Meta.ordering does not apply to aggregating queries
    if not (user and user.is_staff):
        services = services.filter(is_active=True)
    return services
