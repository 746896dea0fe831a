"""The queue's worker as it runs in production: a real process, real SMTP and HTTP servers, and a SIGKILL.

The booking is made in this process and committed; a ``manage.py procrastinate
worker`` process (on the same test database, woken by LISTEN/NOTIFY) sends the
mails to an aiosmtpd server and the webhooks to an HTTP receiver that checks
their signatures with the standardwebhooks package.
"""

import threading
import time

import icalendar
import pytest
from standardwebhooks.webhooks import Webhook

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.tests.factories import future
from bookit.testing.jobs import HttpReceiver, QueueWorker, SmtpServer
from bookit.testing.live_server import sibling_env
from catalog.tests.factories import ServiceFactory
from notifications.models import WebhookDelivery
from notifications.services import webhook_endpoint_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds:g} s")


@pytest.fixture
def servers(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with SmtpServer() as smtp, HttpReceiver() as receiver:
        yield smtp, receiver


def worker_env(smtp: SmtpServer) -> dict:
    return sibling_env(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.controller.port}",
        STAFF_NOTIFICATION_EMAILS="desk@bookit.test",
        WEBHOOK_ALLOW_PRIVATE="true",
    )


def test_a_worker_sends_the_mails_and_signed_webhooks_of_a_commit(servers, tmp_path):
    smtp, receiver = servers
    endpoint = webhook_endpoint_create(url=receiver.url)
    user, admin = UserFactory(), UserFactory(is_staff=True)
    with QueueWorker(worker_env(smtp), log_path=tmp_path / "worker.log"):
        booking = services.booking_create(user=user, service=ServiceFactory(name="Massage"), start_time=future(48))
        committed = time.monotonic()
        wait_for(lambda: receiver.received, seconds=30, what="the webhook")
        latency = time.monotonic() - committed
        services.booking_set_status(booking=booking, status="confirmed", actor=admin)
        wait_for(lambda: smtp.of_kind("confirmed"), seconds=30, what="the confirmation")
        wait_for(lambda: len(receiver.received) == 2, seconds=30, what="the second webhook")
    assert latency < 5  # LISTEN/NOTIFY wakes the worker; the benchmark measures it properly
    payloads = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.received]
    assert [p["type"] for p in payloads] == ["booking.created", "booking.confirmed"]
    assert sorted(m["X-BookIt-Kind"] for m in smtp.messages) == ["confirmed", "received", "staff_pending"]
    (confirmed,) = smtp.of_kind("confirmed")
    (part,) = [p for p in confirmed.walk() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert calendar["METHOD"] == "REQUEST"
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [f"booking-{booking.pk}@bookit"]


def test_a_worker_killed_during_a_delivery_delivers_after_a_restart(servers, tmp_path):
    """SIGKILL while the receiver holds the request: the next worker finds the job stalled (no heartbeat)
    and delivers it again, with the same webhook-id, within a minute of starting."""
    smtp, receiver = servers
    receiver.hold = threading.Event()
    endpoint = webhook_endpoint_create(url=receiver.url)
    env = worker_env(smtp)
    with QueueWorker(env, log_path=tmp_path / "first.log") as first:
        services.booking_create(user=UserFactory(), service=ServiceFactory(), start_time=future(48))
        wait_for(lambda: receiver.received, seconds=30, what="the first attempt")
        first.kill()
    receiver.hold.set()  # the receiver answers 200 from now on
    with QueueWorker(env, log_path=tmp_path / "second.log"):
        started = time.monotonic()
        wait_for(lambda: len(receiver.received) == 2, seconds=60, what="the delivery after the restart")
        assert time.monotonic() - started < 60
        wait_for(lambda: WebhookDelivery.objects.filter(status_code=200).exists(), seconds=30, what="the log row")
    first_try, again = receiver.received
    assert first_try.headers["webhook-id"] == again.headers["webhook-id"]
    assert Webhook(endpoint.secret).verify(again.body, again.headers)["type"] == "booking.created"
    assert list(WebhookDelivery.objects.values_list("attempt", "status_code")) == [(1, 200)]
