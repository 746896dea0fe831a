"""A series cancellation: one digest mail for its occurrences, a webhook for each, through real servers."""

import icalendar
import pytest
from standardwebhooks.webhooks import Webhook

from bookings.models import Booking
from bookings.tests.factories import future
from bookit.testing.jobs import queued, run_jobs
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory
from notifications.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def book_series(client, service, count=4):
    body = {"service_id": service.pk, "start_time": iso_z(future(48)), "recurrence": f"FREQ=WEEKLY;COUNT={count}"}
    answer = client.post("/bookings/series", body, format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_cancelling_a_series_mails_one_digest_and_posts_a_webhook_per_occurrence(smtp, receiver, user, user_client):
    endpoint = webhook_endpoint_create(url=receiver.url, events=["booking.cancelled"])
    service = ServiceFactory(name="Yoga", timezone="Europe/Berlin")
    series = book_series(user_client, service, count=4)
    run_jobs()
    smtp.messages.clear()
    starts = [o["start_time"] for o in series["occurrences"]]
    answer = user_client.post(
        f"/bookings/series/{series['id']}/cancel", {"from": starts[1], "reason": "Holiday"}, format="json"
    )
    assert answer.status_code == 200
    assert len(queued("send_series_mail")) == 1  # deferred in the cancellation's own transaction
    run_jobs()
    assert smtp.of_kind("cancelled") == []  # no mail per occurrence
    (digest,) = smtp.of_kind("series_cancelled")
    assert digest["To"] == user.email
    assert digest["Subject"].startswith("Bookings cancelled: Yoga, 3 from ")
    text = digest.get_body(("plain",)).get_content()
    assert "3 bookings of Yoga are cancelled, as you asked" in text and "Reason: Holiday" in text
    assert text.count("\n- ") == 3
    (part,) = [p for p in digest.walk() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert calendar["METHOD"] == "CANCEL"
    cancelled = Booking.objects.filter(status="cancelled").order_by("start_time")
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"booking-{b.pk}@bookit" for b in cancelled]
    assert {str(e["RELATED-TO"]) for e in events} == {f"series-{series['id']}@bookit"}
    payloads = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.received]
    assert sorted(p["data"]["id"] for p in payloads) == sorted(b.pk for b in cancelled)
    assert {p["data"]["series_id"] for p in payloads} == {series["id"]}


def test_one_occurrence_cancelled_alone_still_gets_its_own_mail(smtp, user_client):
    series = book_series(user_client, ServiceFactory(), count=3)
    run_jobs()
    smtp.messages.clear()
    one = series["occurrences"][1]["booking_id"]
    assert user_client.patch(f"/bookings/{one}", {"status": "cancelled"}, format="json").status_code == 200
    run_jobs()
    assert len(smtp.of_kind("cancelled")) == 1 and smtp.of_kind("series_cancelled") == []


def test_a_series_cancelled_by_staff_says_so(smtp, user_client, admin_client):
    series = book_series(user_client, ServiceFactory(), count=2)
    assert admin_client.post(f"/bookings/series/{series['id']}/cancel", {}, format="json").status_code == 200
    run_jobs()
    (digest,) = smtp.of_kind("series_cancelled")
    assert "by our staff" in digest.get_body(("plain",)).get_content()


def test_a_series_cancel_that_cancels_nothing_mails_nothing(smtp, user_client):
    service = ServiceFactory(cancellation_cutoff_hours=24 * 365)
    series = book_series(user_client, service, count=2)
    answer = user_client.post(f"/bookings/series/{series['id']}/cancel", {}, format="json")
    assert [o["verdict"] for o in answer.json()["not_cancelled"]] == ["cancellation_cutoff"] * 2
    assert queued("send_series_mail") == []


def test_the_ics_of_an_occurrence_is_related_to_its_series(user_client):
    series = book_series(user_client, ServiceFactory(), count=2)
    booking_id = series["occurrences"][0]["booking_id"]
    response = user_client.get(f"/bookings/{booking_id}/ics")
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == f"booking-{booking_id}@bookit"
    assert str(event["RELATED-TO"]) == f"series-{series['id']}@bookit"
    single = user_client.post("/bookings", {"service_id": series["service_id"], "start_time": iso_z(future(30))})
    (alone,) = icalendar.Calendar.from_ical(user_client.get(f"/bookings/{single.json()['id']}/ics").content).walk(
        "VEVENT"
    )
    assert "RELATED-TO" not in alone


def test_the_digest_skips_occurrences_deleted_before_it_ran(smtp, user_client, admin_client):
    series = book_series(user_client, ServiceFactory(), count=2)
    user_client.post(f"/bookings/series/{series['id']}/cancel", {}, format="json")
    for occurrence in series["occurrences"]:
        admin_client.delete(f"/bookings/{occurrence['booking_id']}")
    run_jobs()
    assert smtp.of_kind("series_cancelled") == []
