"""Writes to the catalog. The API, the admin and the commands come through here."""

from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from bookit.errors import Conflict
from catalog.models import Service

WRITABLE_FIELDS = ("name", "description", "price", "duration_minutes", "is_active")


def service_create(**fields) -> Service:
    service = Service(**{k: v for k, v in fields.items() if k in WRITABLE_FIELDS})
    service.full_clean(exclude=["search_vector"])
    service.save()
    return service


def service_update(*, service: Service, **fields) -> Service:
    for name, value in fields.items():
        if name in WRITABLE_FIELDS:
            setattr(service, name, value)
    service.full_clean(exclude=["search_vector"])
    service.save()
    return service


@transaction.atomic
def service_delete(*, service: Service) -> None:
    """A service with bookings keeps its history: deactivate it instead."""
    try:
        service.delete()
    except ProtectedError as exc:
        raise Conflict(
            "This service has bookings and cannot be deleted; deactivate it instead (is_active=false).",
            code="service_has_bookings",
        ) from exc


def service_set_active(*, services: QuerySet[Service], is_active: bool) -> int:
    """(De)activate many services in one UPDATE; returns how many changed.

    An inactive service keeps its bookings and reviews but takes no new bookings.
    """
    return services.exclude(is_active=is_active).update(is_active=is_active, updated_at=timezone.now())
