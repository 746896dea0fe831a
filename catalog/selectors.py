"""Reads of the catalog."""

from django.db.models import QuerySet

from catalog.models import Service


def service_list(*, user) -> QuerySet[Service]:
    """Services the caller may see: active ones, or all of them for admins."""
    services = Service.objects.all()
    if not (user and user.is_staff):
        services = services.filter(is_active=True)
    return services
