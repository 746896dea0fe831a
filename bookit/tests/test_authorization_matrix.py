"""Who may do what: every endpoint x {anonymous, owner, other user, admin} -> status.

"owner" owns the booking and review in the path; on endpoints without an owner
it is simply a signed-in user. Other users' bookings and reviews are 404, never
403: a stranger cannot learn that they exist. The same table is in the README.
"""

import json

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, future
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory
from conftest import client_for
from notifications.models import WebhookEndpoint
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

# fmt: off
MATRIX = [
    # method  path                                anon  owner other admin
    ("GET",    "/services",                        200,  200,  200,  200),
    ("GET",    "/services/{service}",              200,  200,  200,  200),
    ("GET",    "/services/{inactive_service}",     404,  404,  404,  200),
    ("POST",   "/services",                        401,  403,  403,  201),
    ("PATCH",  "/services/{service}",              401,  403,  403,  200),
    ("DELETE", "/services/{spare_service}",        401,  403,  403,  204),
    ("GET",    "/resources",                       200,  200,  200,  200),
    ("GET",    "/resources/{resource}",            200,  200,  200,  200),
    ("GET",    "/resources/{inactive_resource}",   404,  404,  404,  200),
    ("POST",   "/resources",                       401,  403,  403,  201),
    ("PATCH",  "/resources/{resource}",            401,  403,  403,  200),
    ("DELETE", "/resources/{spare_resource}",      401,  403,  403,  204),
    ("DELETE", "/resources/{booked_resource}",     401,  403,  403,  409),
    ("POST",   "/bookings",                        401,  201,  201,  201),
    ("GET",    "/bookings",                        401,  200,  200,  200),
    ("GET",    "/bookings/{booking}",              401,  200,  404,  200),
    ("PATCH",  "/bookings/{booking}",              401,  200,  404,  200),
    ("PATCH",  "/bookings/{booking}/status",       401,  403,  403,  200),
    ("DELETE", "/bookings/{booking}",              401,  204,  404,  204),
    ("POST",   "/reviews",                         401,  201,  404,  404),
    ("GET",    "/reviews/services/{service}",      200,  200,  200,  200),
    ("PATCH",  "/reviews/{review}",                401,  200,  404,  403),
    ("DELETE", "/reviews/{review}",                401,  204,  404,  204),
    ("GET",    "/me",                              401,  200,  200,  200),
    ("PATCH",  "/me",                              401,  200,  200,  200),
    ("POST",   "/auth/logout",                     401,  204,  400,  400),
    ("POST",   "/auth/register",                   201,  201,  201,  201),
    ("POST",   "/auth/login",                      200,  200,  200,  200),
    ("POST",   "/auth/refresh",                    200,  200,  200,  200),
    ("GET",    "/webhooks",                        401,  403,  403,  200),
    ("POST",   "/webhooks",                        401,  403,  403,  201),
    ("GET",    "/webhooks/{webhook}",              401,  403,  403,  200),
    ("PATCH",  "/webhooks/{webhook}",              401,  403,  403,  200),
    ("POST",   "/webhooks/{webhook}/rotate-secret", 401, 403,  403,  200),
    ("POST",   "/webhooks/{webhook}/test",         401,  403,  403,  202),
    ("DELETE", "/webhooks/{spare_webhook}",        401,  403,  403,  204),
    ("GET",    "/health",                          200,  200,  200,  200),
    ("GET",    "/openapi.json",                    200,  200,  200,  200),
]
# fmt: on
CALLERS = ["anon", "owner", "other", "admin"]
PUBLIC_HOOK = "https://93.184.215.14/hook"  # a public address: allowed without resolving a name


@pytest.fixture
def world():
    owner = UserFactory(email="owner@example.com")
    service = ServiceFactory()
    return {
        "owner": owner,
        "other": UserFactory(),
        "admin": UserFactory(is_staff=True),
        "service": service,
        "inactive_service": ServiceFactory(is_active=False),
        "spare_service": ServiceFactory(),
        "resource": service.resources.get(),
        "inactive_resource": Resource.objects.create(name="Retired", is_active=False),
        "spare_resource": Resource.objects.create(name="Spare"),
        "booked_resource": service.resources.get(),
        "booking": BookingFactory(user=owner, service=service),
        "completed": BookingFactory(user=owner, service=service, status=Booking.Status.COMPLETED),
        "review": ReviewFactory(booking__user=owner, booking__service=service),
        "owner_refresh": str(RefreshToken.for_user(owner)),
        "webhook": WebhookEndpoint.objects.create(url=PUBLIC_HOOK),
        "spare_webhook": WebhookEndpoint.objects.create(url=PUBLIC_HOOK),
    }


def body_for(method, path, world):
    iso = future(500).isoformat()
    bodies = {
        ("POST", "/services"): {"name": "New", "price": "1.00", "duration_minutes": 30},
        ("PATCH", "/services/{service}"): {"name": "Renamed"},
        ("POST", "/resources"): {"name": "Ann", "services": [world["service"].id]},
        ("PATCH", "/resources/{resource}"): {"name": "Renamed"},
        ("POST", "/bookings"): {"service_id": world["service"].id, "start_time": iso},
        ("PATCH", "/bookings/{booking}"): {"notes": "changed"},
        ("PATCH", "/bookings/{booking}/status"): {"status": "confirmed"},
        ("POST", "/reviews"): {"booking_id": world["completed"].id, "rating": 5},
        ("PATCH", "/reviews/{review}"): {"rating": 2},
        ("PATCH", "/me"): {"full_name": "Changed"},
        ("POST", "/auth/logout"): {"refresh": world["owner_refresh"]},
        ("POST", "/auth/register"): {"email": "fresh@example.com", "password": "a-long-unusual-secret-9"},
        ("POST", "/auth/login"): {"email": "owner@example.com", "password": "correct-horse-battery-staple"},
        ("POST", "/auth/refresh"): {"refresh": world["owner_refresh"]},
        ("POST", "/webhooks"): {"url": PUBLIC_HOOK},
        ("PATCH", "/webhooks/{webhook}"): {"description": "CRM"},
    }
    return bodies.get((method, path))


@pytest.mark.parametrize(
    ("method", "path", "caller", "expected"),
    [
        pytest.param(method, path, caller, expected, id=f"{method} {path} as {caller}")
        for method, path, *statuses in MATRIX
        for caller, expected in zip(CALLERS, statuses, strict=True)
    ],
)
def test_authorization_matrix(world, method, path, caller, expected):
    client = client_for(None if caller == "anon" else world[caller])
    url = path.format(**{key: getattr(value, "id", value) for key, value in world.items()})
    response = client.generic(method, url, **_json(body_for(method, path, world)))
    assert response.status_code == expected, response.content


def _json(body):
    return {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
