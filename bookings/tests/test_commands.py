"""Maintenance commands: complete_past_bookings and expire_pending_bookings."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, future

pytestmark = pytest.mark.django_db
Status = Booking.Status


def run(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def past(status, hours_ago: float = 3) -> Booking:
    """A booking that started `hours_ago` and lasted one hour (factories skip the service rules)."""
    return BookingFactory(status=status, start_time=future(-hours_ago), end_time=future(-hours_ago + 1))


def statuses(*bookings) -> list[str]:
    return [Booking.objects.get(pk=b.pk).status for b in bookings]


@pytest.mark.parametrize("name", ["complete_past_bookings", "expire_pending_bookings"])
def test_help_describes_the_command_and_dry_run(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command(name, "--help")
    assert exit_.value.code == 0
    assert "--dry-run" in capsys.readouterr().out


class TestCompletePastBookings:
    def test_ended_confirmed_bookings_become_completed(self):
        ended = past(Status.CONFIRMED)
        running = BookingFactory(status=Status.CONFIRMED, start_time=future(-1), end_time=future(1))
        upcoming = BookingFactory(status=Status.CONFIRMED)
        pending, cancelled = past(Status.PENDING), past(Status.CANCELLED)
        assert run("complete_past_bookings") == "complete_past_bookings: 1 confirmed booking(s) completed.\n"
        assert statuses(ended, running, upcoming, pending, cancelled) == [
            Status.COMPLETED,
            Status.CONFIRMED,
            Status.CONFIRMED,
            Status.PENDING,
            Status.CANCELLED,
        ]

    def test_dry_run_counts_and_changes_nothing(self):
        ended = past(Status.CONFIRMED)
        assert "1 confirmed booking(s) would be completed (dry run)" in run("complete_past_bookings", "--dry-run")
        assert statuses(ended) == [Status.CONFIRMED]

    def test_a_second_run_has_nothing_to_do(self):
        past(Status.CONFIRMED)
        run("complete_past_bookings")
        assert "0 confirmed booking(s) completed" in run("complete_past_bookings")

    def test_large_backlogs_go_in_batches(self, monkeypatch):
        monkeypatch.setattr(services, "BATCH_SIZE", 2)
        ended = [past(Status.CONFIRMED, hours_ago=3 + 2 * i) for i in range(5)]
        assert services.bookings_complete_past() == 5
        assert statuses(*ended) == [Status.COMPLETED] * 5

    def test_now_decides_what_has_ended(self):
        booking = BookingFactory(status=Status.CONFIRMED)
        assert services.bookings_complete_past(now=booking.end_time - timedelta(seconds=1)) == 0
        assert services.bookings_complete_past(now=booking.end_time) == 1


class TestExpirePendingBookings:
    def test_started_pending_bookings_are_cancelled_with_a_reason(self):
        started = past(Status.PENDING)
        upcoming, confirmed = BookingFactory(), past(Status.CONFIRMED)
        before = timezone.now()
        assert run("expire_pending_bookings") == "expire_pending_bookings: 1 pending booking(s) cancelled.\n"
        started.refresh_from_db()
        assert (started.status, started.cancellation_reason) == (Status.CANCELLED, services.EXPIRED_REASON)
        assert started.cancelled_at >= before
        assert statuses(upcoming, confirmed) == [Status.PENDING, Status.CONFIRMED]

    def test_custom_reason(self):
        started = past(Status.PENDING)
        run("expire_pending_bookings", "--reason", "No-show")
        started.refresh_from_db()
        assert started.cancellation_reason == "No-show"

    def test_reason_must_fit(self):
        with pytest.raises(CommandError, match="1 to 500 characters"):
            run("expire_pending_bookings", "--reason", "x" * 501)

    def test_dry_run_counts_and_changes_nothing(self):
        started = past(Status.PENDING)
        assert "1 pending booking(s) would be cancelled (dry run)" in run("expire_pending_bookings", "--dry-run")
        assert statuses(started) == [Status.PENDING]

    def test_expired_slot_is_free_again(self):
        started = past(Status.PENDING, hours_ago=0.5)  # began half an hour ago, ends in half an hour
        services.bookings_expire_pending()
        replacement = BookingFactory(service=started.service, start_time=started.start_time, end_time=started.end_time)
        assert replacement.status == Status.PENDING
