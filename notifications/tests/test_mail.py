"""Mails to customers and staff: which change sends which mail, to whom, saying what, through a real SMTP server."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core.management import call_command
from django.db import transaction

from bookings import services
from bookings.models import Booking
from bookings.tests.factories import future
from bookit.testing.jobs import queued, run_jobs
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def ics_of(message) -> icalendar.Calendar:
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_payload(decode=True))


def book(user_client, service, hours=48):
    response = user_client.post("/bookings", {"service_id": service.pk, "start_time": future(hours).isoformat()})
    assert response.status_code == 201, response.content
    return Booking.objects.get(pk=response.json()["id"])


def test_a_new_booking_mails_the_customer_and_the_staff(smtp, user, user_client):
    service = ServiceFactory(name="Massage", timezone="Europe/Berlin")
    book(user_client, service)
    run_jobs()
    (received,) = smtp.of_kind("received")
    assert received["To"] == user.email
    assert received["Subject"].startswith("Booking received: Massage, ")
    assert received.is_multipart()
    assert {part.get_content_type() for part in received.walk()} >= {"text/plain", "text/html"}
    (staff,) = smtp.of_kind("staff_pending")
    assert staff["To"] == "desk@bookit.test"


def body_of(message) -> str:
    (part,) = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


def test_the_mail_names_the_staff_member_but_not_a_services_own_resource(smtp, user_client):
    haircut = ServiceFactory(name="Haircut")
    anna = Resource.objects.create(name="Anna", kind="staff")
    anna.services.add(haircut)
    user_client.post(
        "/bookings", {"service_id": haircut.pk, "start_time": future(48).isoformat(), "resource_id": anna.pk}
    )
    own = book(user_client, haircut, hours=96)  # another day: both free, the lower id wins, the service's own
    assert own.resource.name == "Haircut"
    run_jobs()
    bodies = [body_of(message) for message in smtp.of_kind("received")]
    assert "With: Anna" in bodies[0]
    assert "With:" not in bodies[1]


def test_a_service_with_its_own_staff_address_mails_that_one(smtp, user_client):
    book(user_client, ServiceFactory(notify_email="spa@bookit.test"))
    run_jobs()
    assert [m["To"] for m in smtp.of_kind("staff_pending")] == ["spa@bookit.test"]


def test_times_are_shown_in_the_services_zone(smtp, user, user_client):
    service = ServiceFactory(name="Sauna", timezone="Europe/Berlin")
    start = future(24 * 30).replace(hour=9, minute=0)  # 09:00 UTC
    user_client.post("/bookings", {"service_id": service.pk, "start_time": start.isoformat()})
    run_jobs()
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    (received,) = smtp.of_kind("received")
    assert f"{local:%H:%M} {local.tzname()}" in received["Subject"]


def test_confirmation_carries_an_invitation(smtp, user, user_client, admin_client):
    booking = book(user_client, ServiceFactory())
    assert admin_client.patch(f"/bookings/{booking.pk}/status", {"status": "confirmed"}).status_code == 200
    run_jobs()
    (confirmed,) = smtp.of_kind("confirmed")
    calendar = ics_of(confirmed)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"booking-{booking.pk}@bookit"
    assert event.decoded("DTSTART") == booking.start_time


def test_a_move_mails_the_new_time_with_an_invitation(smtp, user_client):
    booking = book(user_client, ServiceFactory())
    new_start = booking.start_time + timedelta(hours=3)
    assert user_client.patch(f"/bookings/{booking.pk}", {"start_time": new_start.isoformat()}).status_code == 200
    run_jobs()
    (moved,) = smtp.of_kind("rescheduled")
    (event,) = ics_of(moved).walk("VEVENT")
    assert event.decoded("DTSTART") == new_start
    assert ics_of(moved)["METHOD"] == "REQUEST"


@pytest.mark.parametrize(
    ("who", "says"),
    [("owner", "as you asked"), ("staff", "by our staff")],
)
def test_a_cancellation_says_by_whom_and_cancels_the_calendar_entry(smtp, user_client, admin_client, who, says):
    booking = book(user_client, ServiceFactory())
    client = user_client if who == "owner" else admin_client
    response = client.patch(f"/bookings/{booking.pk}", {"status": "cancelled", "cancellation_reason": "Flu"})
    assert response.status_code == 200
    run_jobs()
    (cancelled,) = smtp.of_kind("cancelled")
    text = cancelled.get_body(("plain",)).get_content()
    assert says in text and "Reason: Flu" in text
    calendar = ics_of(cancelled)
    (event,) = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL"
    assert str(event["UID"]) == f"booking-{booking.pk}@bookit"
    assert event["SEQUENCE"] == 1  # higher than the invitation's 0
    assert event["STATUS"] == "CANCELLED"


def test_an_expired_booking_says_it_was_not_confirmed(smtp, user):
    service = ServiceFactory()
    booking = services.booking_create(user=user, service=service, start_time=future(1))
    services.bookings_expire_pending(now=booking.start_time + timedelta(minutes=1))
    run_jobs()
    (cancelled,) = smtp.of_kind("cancelled")
    assert "not confirmed before its start time" in cancelled.get_body(("plain",)).get_content()


def test_a_customer_can_turn_off_mail_about_others_changes(smtp, user, user_client, admin_client):
    assert user_client.patch("/me", {"email_notifications": False}).json()["email_notifications"] is False
    booking = book(user_client, ServiceFactory())
    admin_client.patch(f"/bookings/{booking.pk}/status", {"status": "confirmed"})
    user_client.patch(f"/bookings/{booking.pk}", {"status": "cancelled"})
    run_jobs()
    # Their own actions are confirmed; staff's confirmation is not mailed.
    assert [m["X-BookIt-Kind"] for m in smtp.messages if m["To"] == user.email] == ["received", "cancelled"]


def test_a_rolled_back_change_defers_nothing_and_mails_nothing(smtp, user):
    service = ServiceFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.booking_create(user=user, service=service, start_time=future(48))
        raise RuntimeError("something after the booking failed")
    assert queued() == []
    assert run_jobs() == []
    assert smtp.messages == []


def test_a_refused_booking_defers_nothing(smtp, user_client):
    booking = book(user_client, ServiceFactory())
    run_jobs()
    waiting = queued()  # the first booking's reminder
    taken = user_client.post(
        "/bookings", {"service_id": booking.service_id, "start_time": booking.start_time.isoformat()}
    )
    assert taken.status_code == 409
    assert queued() == waiting


class TestEveryWritePathNotifies:
    """Notifications come from the history events, which every path writes: none can skip them."""

    def test_the_admin_form(self, smtp, staff_client, user):
        service = ServiceFactory()
        start = future(48)
        response = staff_client.post(
            "/admin/bookings/booking/add/",
            {
                "user": user.pk,
                "service": service.pk,
                "start_time_0": start.strftime("%Y-%m-%d"),
                "start_time_1": start.strftime("%H:%M:%S"),
                "status": "pending",
                "notes": "",
                "cancellation_reason": "",
            },
        )
        assert response.status_code == 302, response.content
        run_jobs()
        assert [m["X-BookIt-Kind"] for m in smtp.messages] == ["received", "staff_pending"]

    def test_the_admin_action(self, smtp, staff_client, user):
        booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
        run_jobs()
        response = staff_client.post(
            "/admin/bookings/booking/", {"action": "confirm", "_selected_action": [booking.pk]}
        )
        assert response.status_code == 302
        run_jobs()
        assert len(smtp.of_kind("confirmed")) == 1

    def test_the_maintenance_command(self, smtp, user):
        booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
        Booking.objects.filter(pk=booking.pk).update(
            start_time=booking.start_time - timedelta(days=3), end_time=booking.end_time - timedelta(days=3)
        )
        run_jobs()
        call_command("expire_pending_bookings", stdout=io.StringIO())
        run_jobs()
        assert len(smtp.of_kind("cancelled")) == 1


def test_text_is_plain_and_html_escaped_once(smtp, user, user_client):
    booking = book(user_client, ServiceFactory(name="Mike's cut & shave"))
    user_client.patch(f"/bookings/{booking.pk}", {"status": "cancelled", "cancellation_reason": "Flu & <fever>"})
    run_jobs()
    (cancelled,) = smtp.of_kind("cancelled")
    text = cancelled.get_body(("plain",)).get_content()
    html = cancelled.get_body(("html",)).get_content()
    assert "Mike's cut & shave" in text and "Reason: Flu & <fever>" in text
    assert "Mike&#x27;s cut &amp; shave" in html and "Flu &amp; &lt;fever&gt;" in html
    assert "&amp;amp;" not in html and "<fever>" not in html


def test_production_without_email_url_sends_nothing_to_the_logs(smtp, settings, user, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # what prod gets without EMAIL_URL
    book_for = services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    assert smtp.messages == [] and user.email not in capsys.readouterr().out
    assert book_for.pk
