"""The API under the least-privilege role of the README's Deployment section: it works, and the history is out of reach.

The suite's superuser created and migrated the test database, as the owner
role does in production. Here a role of the test's own gets the README's grants
(``bookit.db.privileges``), Django's connection is pointed at it for the test,
and back at the superuser afterwards (who empties the tables, as after every
transactional test). Roles belong to the whole cluster, so its name carries the
test database's and it is dropped at the end.
"""

import secrets

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.tests.factories import PASSWORD, UserFactory
from bookings import services
from bookings.models import BookingEvent
from bookings.tests.factories import future
from bookit.db import privileges
from bookit.db.sqlstate import sqlstate
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory
from conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)
INSUFFICIENT_PRIVILEGE = "42501"


def drop_role(cursor, role: str) -> None:
    """Drop ``role`` with its grants in this database, if it exists (a run that died may have left it)."""
    cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone()[0]:
        quoted = connection.ops.quote_name(role)
        cursor.execute(f"DROP OWNED BY {quoted}")
        cursor.execute(f"DROP ROLE {quoted}")


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@pytest.fixture
def app_role(transactional_db):
    """Django's default connection logged in as a fresh role with the README's grants; the superuser's again after."""
    settings_dict = connection.settings_dict
    role = f"{settings_dict['NAME']}_app"[:63]
    password = secrets.token_hex(16)  # hex: safe inside the statement's literal
    owner = current_user()
    with connection.cursor() as cursor:
        drop_role(cursor, role)
        cursor.execute(f"CREATE ROLE {connection.ops.quote_name(role)} LOGIN PASSWORD '{password}'")
        grants = privileges.app_role_grants(
            database=connection.ops.quote_name(settings_dict["NAME"]),
            owner=connection.ops.quote_name(owner),
            app=connection.ops.quote_name(role),
        )
        for statement in privileges.statements(grants):
            cursor.execute(statement)
    saved = settings_dict["USER"], settings_dict["PASSWORD"]
    connection.close()
    settings_dict["USER"], settings_dict["PASSWORD"] = role, password
    try:
        assert current_user() == role
        yield role
    finally:
        connection.close()
        settings_dict["USER"], settings_dict["PASSWORD"] = saved
        assert current_user() == owner
        with connection.cursor() as cursor:
            drop_role(cursor, role)


def test_the_api_books_moves_and_cancels_under_the_app_role(app_role, anon):
    admin = client_for(UserFactory(is_staff=True))
    service = admin.post("/services", {"name": "Massage", "price": "40.00", "duration_minutes": 60}).json()
    assert anon.post("/auth/register", {"email": "least@example.com", "password": PASSWORD}).status_code == 201
    login = anon.post("/auth/login", {"email": "least@example.com", "password": PASSWORD}).json()
    user = client_for()
    user.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")

    created = user.post("/bookings", {"service_id": service["id"], "start_time": iso_z(future(48))})
    assert created.status_code == 201, created.json()
    booking = created.json()["id"]
    assert admin.patch(f"/bookings/{booking}/status", {"status": "confirmed"}).status_code == 200
    moved = user.patch(f"/bookings/{booking}", {"start_time": iso_z(future(72))}, HTTP_IDEMPOTENCY_KEY="move-1")
    assert moved.status_code == 200 and moved.json()["status"] == "pending"
    taken = user.post("/bookings", {"service_id": service["id"], "start_time": iso_z(future(72))})
    assert (taken.status_code, taken.json()["code"]) == (409, "booking_conflict")
    cancelled = user.patch(f"/bookings/{booking}", {"status": "cancelled", "cancellation_reason": "ill"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    history = user.get(f"/bookings/{booking}/history").json()["results"]
    assert [event["action"] for event in history] == ["created", "status_changed", "rescheduled", "cancelled"]
    assert user.delete(f"/bookings/{booking}").status_code == 204
    assert admin.get(f"/bookings/{booking}/history").json()["count"] == 5  # the delete is on record too

    # A new password fires the user's trigger under this role: refresh tokens revoked, the feed ended.
    feed = user.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
    new = {"password": "a-brand-new-secret-42", "current_password": PASSWORD}
    assert user.patch("/me", new).status_code == 200
    assert anon.get(feed).status_code == 404
    assert anon.post("/auth/refresh", {"refresh": login["refresh"]}).status_code == 401
    assert current_user() == app_role  # all of it through the app's role


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE bookings_bookingevent SET action = 'created'",
        "DELETE FROM bookings_bookingevent",
        "TRUNCATE bookings_bookingevent",
    ],
)
def test_the_app_role_may_not_change_or_empty_the_history(app_role, statement):
    user = UserFactory()
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(30), actor=user)
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    # Refused for want of the privilege, before any trigger is asked (theirs is restrict_violation).
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
    assert BookingEvent.objects.count() == 1
