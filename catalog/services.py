"""Writes to the catalog. The API, the admin and the commands come through here."""

from decimal import Decimal
from typing import TypedDict, Unpack

from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from bookit.db.updates import model_update
from bookit.domain_errors import ConflictError
from catalog.models import Service


class ServiceChanges(TypedDict, total=False):
    """The writable fields of a service, for ``service_update`` (any subset)."""

    name: str
    description: str
    price: Decimal
    duration_minutes: int
    is_active: bool


WRITABLE_FIELDS = tuple(ServiceChanges.__annotations__)


def service_create(
    *, name: str, price: Decimal, duration_minutes: int, description: str = "", is_active: bool = True
) -> Service:
    """A new service; the model's validators and check constraints (price >= 0, 1..1440 minutes) apply."""
    service = Service(
        name=name, description=description, price=price, duration_minutes=duration_minutes, is_active=is_active
    )
    service.full_clean(exclude=["search_vector"])
    service.save()
    return service


def service_update(*, service: Service, **changes: Unpack[ServiceChanges]) -> Service:
    """Change the given fields (None leaves one as it is); same validation as on create.

    Only the given columns are written, so the rating totals that the reviews'
    trigger keeps, or an activation made meanwhile, are never written back stale.
    """
    unknown = set(changes) - set(WRITABLE_FIELDS)
    if unknown:
        raise TypeError(f"service_update() got fields it cannot write: {', '.join(sorted(unknown))}")
    model_update(instance=service, data=changes)
    return service


@transaction.atomic
def service_delete(*, service: Service) -> None:
    """A service with bookings keeps its history: deactivate it instead."""
    try:
        service.delete()
    except ProtectedError as exc:
        raise ConflictError(
            "This service has bookings and cannot be deleted; deactivate it instead (is_active=false).",
            code="service_has_bookings",
        ) from exc


def service_set_active(*, services: QuerySet[Service], is_active: bool) -> int:
    """(De)activate many services in one UPDATE; returns how many changed.

    An inactive service keeps its bookings and reviews but takes no new bookings.
    """
    return services.exclude(is_active=is_active).update(is_active=is_active, updated_at=timezone.now())
