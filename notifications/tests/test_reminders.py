"""Reminders: at the booking's UTC start minus the service's minutes, only while the booking still stands there."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings import services
from bookings.tests.factories import future
from bookit.testing.jobs import queued, run_jobs
from catalog.tests.factories import ServiceFactory
from notifications.services import reminder_send

pytestmark = pytest.mark.django_db


def reminders() -> list[dict]:
    return queued("send_reminder")


def remind_now(job: dict, *, late: timedelta = timedelta(0)) -> str:
    """What the reminder job does when a worker takes it ``late`` after it was due."""
    args = {key: value for key, value in job.items() if key != "scheduled_at"}
    return reminder_send(**args, now=job["scheduled_at"] + late)


def test_each_of_the_services_reminders_is_scheduled_before_the_start(user):
    service = ServiceFactory(reminder_minutes_before=[1440, 60])
    booking = services.booking_create(user=user, service=service, start_time=future(72))
    run_jobs()
    assert sorted(job["scheduled_at"] for job in reminders()) == [
        booking.start_time - timedelta(minutes=1440),
        booking.start_time - timedelta(minutes=60),
    ]


def test_a_reminder_is_mailed_when_due(smtp, user):
    booking = services.booking_create(user=user, service=ServiceFactory(name="Yoga"), start_time=future(72))
    run_jobs()
    (job,) = reminders()
    assert remind_now(job, late=timedelta(seconds=3)) == "sent"
    (mail,) = smtp.of_kind("reminder")
    assert mail["To"] == user.email
    assert mail["Subject"].startswith("Reminder: Yoga")
    assert booking.pk


def test_no_reminder_for_a_cancelled_booking(smtp, user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    services.booking_cancel(booking=booking, actor=user)
    (job,) = reminders()
    assert remind_now(job) == "obsolete"
    assert smtp.of_kind("reminder") == []


def test_a_move_reminds_of_the_new_time_only(smtp, user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    new_start = booking.start_time + timedelta(hours=5)
    services.booking_reschedule(booking=booking, start_time=new_start, actor=user)
    run_jobs()
    old, new = reminders()
    assert new["scheduled_at"] == new_start - timedelta(days=1)
    assert remind_now(old) == "obsolete"
    assert remind_now(new) == "sent"
    (mail,) = smtp.of_kind("reminder")
    assert f"{new_start.astimezone(UTC):%H:%M}" in mail["Subject"]


def test_a_confirmation_or_a_notes_change_keeps_the_reminder(user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    services.booking_set_status(booking=booking, status="confirmed")
    services.booking_edit_notes(booking=booking, notes="Bring a towel")
    run_jobs()
    (job,) = reminders()
    assert remind_now(job) == "sent"


def test_a_reminder_after_a_daylight_saving_change_is_at_the_right_instant(user):
    """10:00 Berlin on the Monday after the spring change is 08:00Z; a day before is Sunday 08:00Z (10:00 CEST),
    not 09:00Z (the same wall-clock time on the winter side)."""
    service = ServiceFactory(timezone="Europe/Berlin", max_advance_days=None)
    start = datetime(2027, 3, 29, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    services.booking_create(user=user, service=service, start_time=start, now=start - timedelta(days=10))
    run_jobs()
    (job,) = reminders()
    assert job["scheduled_at"] == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


def test_a_worker_down_past_the_grace_sends_no_late_reminder(smtp, user, settings):
    settings.REMINDER_GRACE_MINUTES = 60
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    (job,) = reminders()
    assert remind_now(job, late=timedelta(minutes=61)) == "dropped"
    assert remind_now(job, late=timedelta(minutes=59)) == "sent"
    assert len(smtp.of_kind("reminder")) == 1


def test_no_reminder_once_the_booking_has_started(user):
    service = ServiceFactory(reminder_minutes_before=[30])
    booking = services.booking_create(user=user, service=service, start_time=future(72))
    run_jobs()
    (job,) = reminders()
    assert remind_now(job, late=timedelta(minutes=30)) == "dropped"
    assert booking.start_time == job["scheduled_at"] + timedelta(minutes=30)


def test_a_reminder_already_due_when_booked_is_not_scheduled(user):
    services.booking_create(user=user, service=ServiceFactory(reminder_minutes_before=[1440]), start_time=future(3))
    run_jobs()
    assert reminders() == []


def test_customers_who_turned_mail_off_get_no_reminder(smtp, user):
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    user.email_notifications = False
    user.save()
    (job,) = reminders()
    assert remind_now(job) == "opted_out"
    assert smtp.of_kind("reminder") == []


def test_reminder_minutes_are_set_through_the_api(admin_client):
    response = admin_client.post(
        "/services",
        {"name": "Pilates", "price": "10.00", "duration_minutes": 60, "reminder_minutes_before": [2880, 120]},
    )
    assert response.status_code == 201, response.content
    assert response.json()["reminder_minutes_before"] == [2880, 120]
    assert "notify_email" not in response.json()  # a staff address is never shown
    bad = admin_client.patch(f"/services/{response.json()['id']}", {"reminder_minutes_before": [0]})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["reminder_minutes_before.0"]


def test_a_move_there_and_back_reminds_once(smtp, user):
    booking = services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
    run_jobs()
    start = booking.start_time
    services.booking_reschedule(booking=booking, start_time=start + timedelta(hours=5), actor=user)
    services.booking_reschedule(booking=booking, start_time=start, actor=user)
    run_jobs()
    outcomes = sorted(remind_now(job) for job in reminders())
    assert outcomes == ["obsolete", "obsolete", "sent"]
