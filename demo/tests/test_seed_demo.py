"""seed_demo: realistic, idempotent, never overlapping."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking
from bookings.selectors import overlapping_pairs
from catalog.models import Service
from catalog.selectors import service_list_with_stats
from demo.management.commands import seed_demo
from reviews.models import Review

pytestmark = pytest.mark.django_db
Status = Booking.Status


def seed(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts() -> tuple[int, int, int, int]:
    return User.objects.count(), Service.objects.count(), Booking.objects.count(), Review.objects.count()


def test_defaults_give_the_demo_logins_services_bookings_and_ratings():
    out, _ = seed()
    admin, user = User.objects.get(email="admin@bookit.local"), User.objects.get(email="user@bookit.local")
    assert (admin.is_staff, admin.is_superuser, admin.check_password("admin-demo-pass")) == (True, True, True)
    assert (user.is_staff, user.check_password("user-demo-pass")) == (False, True)
    assert "admin@bookit.local / admin-demo-pass" in out
    assert "user@bookit.local / user-demo-pass" in out
    assert counts()[:3] == (22, 5, 200)
    assert out.splitlines()[0] == f"seed_demo: created 22 users, 5 services, 200 bookings, {counts()[3]} reviews."
    assert user.bookings.exists()
    assert all(s.average_rating is not None for s in service_list_with_stats())


def test_second_run_creates_nothing():
    seed()
    before = counts()
    out, _ = seed()
    assert counts() == before
    assert out.startswith("seed_demo: created 0 users, 0 services, 0 bookings, 0 reviews.")


def test_larger_counts_top_up_without_overlaps():
    seed("--users", "3", "--services", "2", "--bookings", "40")
    seed("--users", "5", "--services", "7", "--bookings", "300")
    assert counts()[:3] == (2 + 5, 7, 300)
    assert Service.objects.filter(name="Haircut 2").exists()
    assert overlapping_pairs() == []


def test_statuses_and_reviews_follow_the_rules():
    seed("--bookings", "400")
    now = timezone.now()
    by_status = dict(Booking.objects.values_list("status").annotate(Count("pk")))
    assert set(by_status) == set(Status.values)
    assert not Booking.objects.filter(status=Status.COMPLETED, end_time__gt=now).exists()
    cancelled = Booking.objects.filter(status=Status.CANCELLED)
    assert not cancelled.filter(cancelled_at__isnull=True).exists()
    assert not cancelled.filter(cancellation_reason="").exists()
    assert Booking.objects.filter(start_time__lt=now).exists()
    assert Booking.objects.filter(start_time__gt=now).exists()
    reviews = Review.objects.all()
    assert reviews.exists()
    assert not reviews.exclude(booking__status=Status.COMPLETED).exists()
    assert not reviews.exclude(user=F("booking__user"), service=F("booking__service")).exists()


def test_progress_bar_on_large_counts_only(monkeypatch):
    monkeypatch.setattr(seed_demo, "PROGRESS_FROM", 50)
    monkeypatch.setattr(seed_demo, "BATCH_SIZE", 20)
    _, err = seed("--bookings", "30")
    assert err == ""
    _, err = seed("--bookings", "90")  # 60 more: shown, redrawn per batch of 20
    assert err.count("\r  bookings") == 3
    assert err.endswith("60/60\n")


def test_refuses_to_run_in_production(settings):
    from django.core.management import CommandError, call_command

    settings.IS_PROD = True
    with pytest.raises(CommandError, match="never runs in prod"):
        call_command("seed_demo")
    assert not User.objects.filter(email="admin@bookit.local").exists()
