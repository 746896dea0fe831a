"""Webhooks: what is sent, signed how (checked by the standardwebhooks package), retried and refused when."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from bookings import services
from bookings.tests.factories import future
from bookit.testing.jobs import queued, run_jobs
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory
from notifications.models import Dispatch, WebhookDelivery, WebhookEndpoint, WebhookMessage
from notifications.services import webhook_endpoint_create
from notifications.tasks import booking_event
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

LATER = timedelta(days=3)  # run_jobs(at=now + LATER): every retry is due


def verified(endpoint: WebhookEndpoint, request) -> dict:
    """The payload, once the signature checks out with an implementation none of us wrote."""
    return Webhook(endpoint.secret).verify(request.body, request.headers)


@pytest.fixture
def endpoint(receiver):
    return webhook_endpoint_create(url=receiver.url)


def test_a_new_booking_is_posted_signed_with_the_booking_as_the_api_shows_it(receiver, endpoint, user, user_client):
    response = user_client.post("/bookings", {"service_id": ServiceFactory().pk, "start_time": future(48).isoformat()})
    run_jobs()
    (request,) = receiver.received
    payload = verified(endpoint, request)
    assert payload["type"] == "booking.created"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"] == {**response.json(), "sequence": 1}
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60


def test_the_payload_names_the_resource_also_once_the_booking_is_deleted(receiver, endpoint, user):
    service = ServiceFactory()
    anna = Resource.objects.create(name="Anna", kind="staff")
    anna.services.add(service)
    booking = services.booking_create(user=user, service=service, start_time=future(48), resource_id=anna.pk)
    services.booking_delete(booking=booking, actor=user)
    run_jobs()
    payloads = [verified(endpoint, request) for request in receiver.received]
    assert [(p["type"], p["data"]["resource"]) for p in payloads] == [
        ("booking.created", {"id": anna.pk, "name": "Anna"}),
        ("booking.deleted", {"id": anna.pk, "name": "Anna"}),
    ]


def test_each_change_is_its_own_event_with_a_growing_sequence(receiver, endpoint, user, admin_user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    services.booking_edit_notes(booking=booking, notes="window seat", actor=user)  # no webhook, one change
    services.booking_set_status(booking=booking, status="confirmed", actor=admin_user)
    services.booking_reschedule(booking=booking, start_time=booking.start_time + timedelta(hours=2), actor=user)
    services.booking_cancel(booking=booking, actor=user)
    services.booking_delete(booking=booking, actor=user)
    run_jobs()
    payloads = [verified(endpoint, request) for request in receiver.received]
    assert [(p["type"], p["data"]["sequence"]) for p in payloads] == [
        ("booking.created", 1),
        ("booking.confirmed", 3),
        ("booking.rescheduled", 4),
        ("booking.cancelled", 5),
        ("booking.deleted", 6),
    ]
    # Built when the change was recorded: the confirmed event still shows the booking confirmed.
    assert payloads[1]["data"]["status"] == "confirmed"
    assert payloads[4]["data"]["id"] == booking.pk


def test_completed_and_review_events(receiver, endpoint, user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    services.booking_set_status(booking=booking, status="confirmed")
    services.booking_set_status(booking=booking, status="completed", now=booking.end_time)
    run_jobs()
    review = ReviewFactory(booking=booking, user=user, service=booking.service)
    assert [verified(endpoint, r)["type"] for r in receiver.received][-1] == "booking.completed"
    from reviews.services import review_create

    review.delete()
    created = review_create(user=user, booking_id=booking.pk, rating=5, comment="Lovely")
    run_jobs()
    payload = verified(endpoint, receiver.received[-1])
    assert payload["type"] == "review.created"
    assert payload["data"]["id"] == created.pk and payload["data"]["rating"] == 5


def test_an_endpoint_gets_only_the_events_it_asked_for(receiver, user):
    endpoint = webhook_endpoint_create(url=receiver.url, events=["booking.cancelled"])
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    services.booking_cancel(booking=booking, actor=user)
    run_jobs()
    assert [verified(endpoint, r)["type"] for r in receiver.received] == ["booking.cancelled"]


def test_a_rolled_back_change_is_never_posted(receiver, endpoint, user):
    from django.db import transaction

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
        1 / 0  # noqa: B018
    run_jobs(at=timezone.now() + LATER)
    assert receiver.received == []


def test_500_500_200_is_three_attempts_of_one_event(receiver, endpoint, user):
    receiver.answers = [(500, {}), (500, {})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs(at=timezone.now() + LATER)
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    for request in receiver.received:
        verified(endpoint, request)
    log = list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code", "message_id"))
    assert [(a, s) for a, s, _ in log] == [(1, 500), (2, 500), (3, 200)]
    assert {m for *_, m in log} == {receiver.received[0].headers["webhook-id"]}
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_retries_follow_the_schedule(receiver, endpoint, user):
    receiver.answers = [(500, {})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    wait = failed.next_attempt_at - failed.at
    assert timedelta(seconds=4.5) <= wait <= timedelta(seconds=5.5)  # "about 5 s", with jitter
    (retry,) = queued("deliver_webhook")
    assert retry["attempt"] == 2 and retry["scheduled_at"] == failed.next_attempt_at


def test_retry_after_on_503_waits_for_the_later_of_the_two(receiver, endpoint, user):
    receiver.answers = [(503, {"Retry-After": "120"})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    assert failed.next_attempt_at - failed.at == timedelta(seconds=120)


def test_retry_after_is_capped_at_an_hour(receiver, endpoint, user):
    receiver.answers = [(429, {"Retry-After": "86400"})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    assert failed.next_attempt_at - failed.at == timedelta(hours=1)


def test_410_gone_disables_the_endpoint_at_once(receiver, endpoint, user):
    receiver.answers = [(410, {})]
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs(at=timezone.now() + LATER)
    services.booking_cancel(booking=booking, actor=user)
    run_jobs(at=timezone.now() + LATER)
    assert len(receiver.received) == 1
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.disabled_reason


def test_an_endpoint_failing_every_attempt_is_disabled_saying_why(receiver, endpoint, user):
    receiver.answers = [(500, {})] * 8
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs(at=timezone.now() + timedelta(days=5))
    assert len(receiver.received) == 8  # the first attempt and seven retries
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason.startswith("All 8 attempts failed") and "HTTP 500" in endpoint.disabled_reason
    assert WebhookDelivery.objects.filter(next_attempt_at__isnull=True).count() == 1


def test_a_dispatch_run_twice_sends_once(receiver, endpoint, user):
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    (job,) = queued("booking_event")
    run_jobs()
    args = {key: value for key, value in job.items() if key != "scheduled_at"}
    booking_event(**args)  # as a worker killed after the dispatch committed would run it again
    run_jobs()
    assert len(receiver.received) == 1


def test_a_url_that_resolves_to_a_private_address_at_delivery_is_not_called(receiver, user, settings):
    webhook_endpoint_create(url=receiver.url.replace("http://127.0.0.1", "https://localhost"))
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    settings.WEBHOOK_ALLOW_PRIVATE = False  # production: the host now resolves to 127.0.0.1
    run_jobs()
    assert receiver.received == []
    (failed,) = WebhookDelivery.objects.all()
    assert failed.status_code is None and "127.0.0.1" in failed.error and "not allowed" in failed.error


def test_the_log_is_purged_after_its_days(receiver, endpoint, user, settings):
    from django.core.management import call_command

    settings.WEBHOOK_LOG_DAYS = 30
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(96))
    run_jobs()
    old = WebhookDelivery.objects.order_by("id").first()
    WebhookDelivery.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    WebhookMessage.objects.filter(pk=old.message_id).update(created_at=timezone.now() - timedelta(days=31))
    Dispatch.objects.filter(pk=Dispatch.objects.order_by("at").first().pk).update(
        at=timezone.now() - timedelta(days=31)
    )
    output = io.StringIO()
    call_command("purge_webhook_deliveries", stdout=output)
    assert "1 row(s)" in output.getvalue()
    assert list(WebhookDelivery.objects.all()) == [WebhookDelivery.objects.exclude(pk=old.pk).get()]
    assert not WebhookMessage.objects.filter(pk=old.message_id).exists()
    assert Dispatch.objects.count() == 1


@pytest.mark.parametrize("retry_after", ["²", "99999999999999", "soon"])
def test_an_unreadable_retry_after_follows_the_schedule(receiver, endpoint, user, retry_after):
    receiver.answers = [(503, {"Retry-After": retry_after})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    assert failed.status_code == 503
    assert failed.next_attempt_at - failed.at <= timedelta(hours=1)


def test_retry_after_as_an_http_date(receiver, endpoint, user):
    from email.utils import format_datetime

    receiver.answers = [(503, {"Retry-After": format_datetime(timezone.now() + timedelta(minutes=10), usegmt=True)})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    assert timedelta(minutes=9) <= failed.next_attempt_at - failed.at <= timedelta(minutes=10)


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(receiver, endpoint, user, monkeypatch):
    import threading

    from notifications import webhooks

    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)
    receiver.hold = threading.Event()  # never answers
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    (failed,) = WebhookDelivery.objects.all()
    assert failed.status_code is None and "within 1 s" in failed.error
    assert 900 <= failed.duration_ms < 5000
    assert failed.next_attempt_at is not None


def test_an_attempt_run_again_after_it_was_logged_posts_nothing(receiver, endpoint, user):
    from notifications.tasks import deliver_webhook

    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    delivery = WebhookDelivery.objects.get()
    deliver_webhook(message_id=delivery.message_id, endpoint_id=endpoint.pk, attempt=1)
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_retry_due_after_its_endpoint_was_disabled_is_logged_as_not_sent(receiver, endpoint, user):
    receiver.answers = [(500, {})]
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    WebhookEndpoint.objects.update(is_active=False)
    run_jobs(at=timezone.now() + LATER)
    assert len(receiver.received) == 1
    log = list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code", "error"))
    assert log == [(1, 500, "HTTP 500 Internal Server Error"), (2, None, "Not sent: the endpoint is disabled.")]
