"""A client generated from the live /openapi.json by a public generator books through BookIt as is.

openapi-python-client (pinned in requirements-dev.txt) believes the schema: an
id typed ``number``, a calendar declared as JSON or an error that is not the
``Error`` it says would make it send the wrong thing or raise. So the client is
generated afresh from what a running gunicorn serves and used as a new client
author would, through a short booking flow: register, log in, list services,
ask for free slots, book, read the booking and its calendar, the calendar feed,
cancel. ``bookit/tests/test_schema_types.py`` walks the schema for the same
mistakes without a generator.
"""

import importlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from bookit.testing.live_server import LiveServer, sibling_env
from catalog.tests.factories import ServiceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "bookit_generated_client"


def generate(schema: bytes, where: Path):
    """The package openapi-python-client makes of ``schema``, imported; the generator must not warn."""
    (where / "openapi.json").write_bytes(schema)
    # No post-generation hooks: they only run ruff over the generated code, which this test does not read.
    (where / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta", "none"]
    result = subprocess.run(
        [*command, "--output-path", PACKAGE], cwd=where, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output  # what it could not understand, it leaves out
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


@pytest.fixture
def generated(tmp_path):
    """A live server and the client generated from the schema it serves."""
    ServiceFactory(name="Sauna", duration_minutes=60)
    with LiveServer(sibling_env(GUNICORN_WORKERS="2")) as server:
        status, headers, schema = server.exchange("GET", "/openapi.json")
        assert status == 200 and headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
        json.loads(schema)
        try:
            yield server, generate(schema, tmp_path)
        finally:
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]


def operation(name: str):
    """``bookit_generated_client.api.<tag>.<operationId>``: the module of one operation."""
    tag = {"auth": "auth", "bookings": "bookings", "services": "services", "calendar": "me", "me": "me"}
    return importlib.import_module(f"{PACKAGE}.api.{tag[name.split('_')[0]]}.{name}")


def test_a_generated_client_books_reads_the_calendar_and_cancels(generated):
    server, client_package = generated
    models = importlib.import_module(f"{PACKAGE}.models")
    anonymous = client_package.Client(base_url=server.url, raise_on_unexpected_status=True)

    account = {"email": "grace@example.com", "password": "a-long-enough-password-1"}
    user = operation("auth_register_create").sync(
        client=anonymous, body=models.RegisterRequest(**account, full_name="Grace")
    )
    assert isinstance(user, models.User) and user.email == account["email"]
    tokens = operation("auth_login_create").sync(client=anonymous, body=models.LoginRequest(**account))
    assert isinstance(tokens, models.Login)
    client = client_package.AuthenticatedClient(
        base_url=server.url, token=tokens.access, raise_on_unexpected_status=True
    )

    services = operation("services_list").sync(client=client)
    [sauna] = [service for service in services.results if service.name == "Sauna"]
    assert isinstance(sauna.id, int)

    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    free = operation("services_availability_retrieve").sync(
        id=sauna.id, client=client, from_=tomorrow, to=tomorrow + timedelta(days=7)
    )
    assert isinstance(free, models.Availability) and free.service_id == sauna.id
    slot = free.slots[0]
    assert isinstance(slot.start, datetime) and slot.start.utcoffset() is not None

    booking = operation("bookings_create").sync(
        client=client, body=models.BookingCreateRequest(service_id=sauna.id, start_time=slot.start, notes="Towel")
    )
    assert isinstance(booking, models.Booking), booking
    assert (booking.service_id, booking.start_time, booking.status) == (sauna.id, slot.start, "pending")

    again = operation("bookings_retrieve").sync(id=booking.id, client=client)
    assert isinstance(again, models.Booking) and again.id == booking.id
    listed = operation("bookings_list").sync(client=client, service=sauna.id)  # an int: the filter's type
    assert [row.id for row in listed.results] == [booking.id]

    ics = operation("bookings_ics_retrieve").sync(id=booking.id, client=client)
    assert isinstance(ics, str), ics  # the calendar's text, not a JSON parse error
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert (str(event["UID"]), event.decoded("DTSTART")) == (f"booking-{booking.id}@bookit", slot.start)

    feed = operation("me_calendar_token_create").sync(client=client)
    token = feed.url.rsplit("/", 1)[1].removesuffix(".ics")
    subscribed = operation("calendar_ics_retrieve").sync(token=token, client=anonymous)
    assert [str(event["UID"]) for event in Calendar.from_ical(subscribed).walk("VEVENT")] == [str(event["UID"])]

    cancelled = operation("bookings_partial_update").sync(
        id=booking.id,
        client=client,
        body=models.PatchedBookingUpdateRequest(
            status=models.CancelStatusEnum.CANCELLED, cancellation_reason="Plans changed"
        ),
    )
    assert isinstance(cancelled, models.Booking), cancelled
    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Plans changed")

    missing = operation("bookings_retrieve").sync(id=booking.id + 1000, client=client)
    assert isinstance(missing, models.Error) and missing.code == "not_found"  # errors parse as the Error they are
