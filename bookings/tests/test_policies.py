"""A service's booking policy, through the services: length, hours, notice, horizon, buffers, cap, cutoff."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction

from bookings import services
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from bookit.domain_errors import ConflictError, DomainError
from catalog.models import WorkingHours
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # a Monday
MONDAY_NEXT = datetime(2027, 1, 11, tzinfo=UTC)


def at(day: datetime, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


def book(user, service, start, end=None, *, actor=None, now=NOW):
    return services.booking_create(user=user, service=service, start_time=start, end_time=end, now=now, actor=actor)


def code_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    return error.value.code


class TestLength:
    def test_a_booking_is_one_duration_long_by_default(self, user):
        service = ServiceFactory(duration_minutes=60)
        start = at(MONDAY_NEXT, "09:30")
        assert code_of(lambda: book(user, service, start, datetime(9999, 12, 31, tzinfo=UTC))) == "bad_length"
        assert code_of(lambda: book(user, service, start, start + timedelta(minutes=30))) == "bad_length"
        assert book(user, service, start).end_time == start + timedelta(hours=1)
        assert not Booking.objects.filter(end_time__year=9999).exists()

    def test_a_widened_range_allows_other_lengths(self, user):
        service = ServiceFactory(duration_minutes=60, min_length_minutes=30, max_length_minutes=240)
        start = at(MONDAY_NEXT, "09:00")
        assert book(user, service, start, start + timedelta(hours=4)).end_time == at(MONDAY_NEXT, "13:00")
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT, "14:00"), at(MONDAY_NEXT, "18:01"))) == "bad_length"


class TestHours:
    @pytest.fixture
    def service(self):
        service = ServiceFactory(duration_minutes=60, timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=1, start=time(9), end=time(12))
        WorkingHours.objects.create(service=service, weekday=1, start=time(13), end=time(17))
        return service

    def test_inside_one_interval_in_local_time(self, user, service):
        assert book(user, service, at(MONDAY_NEXT, "08:00"))  # 09:00 in Berlin (UTC+1 in January)
        assert book(user, service, at(MONDAY_NEXT, "15:00"))  # 16:00-17:00

    @pytest.mark.parametrize("utc_start", ["07:30", "10:30", "11:30", "15:30"])
    def test_outside_or_across_intervals_is_refused(self, user, service, utc_start):
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT, utc_start))) == "outside_hours"

    def test_a_day_without_hours_is_closed(self, user, service):
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT + timedelta(days=1), "09:00"))) == "outside_hours"

    def test_an_exception_replaces_or_closes_a_date(self, user, service):
        service.exceptions.create(date=MONDAY_NEXT.date(), start=time(18), end=time(20))
        service.exceptions.create(date=(MONDAY_NEXT + timedelta(days=7)).date())
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT, "08:00"))) == "outside_hours"
        assert book(user, service, at(MONDAY_NEXT, "17:00"))  # 18:00 local
        closed = MONDAY_NEXT + timedelta(days=7)
        assert code_of(lambda: book(user, service, at(closed, "08:00"))) == "outside_hours"

    def test_staff_are_held_to_hours_too(self, user, service, admin_user):
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT, "07:30"), actor=admin_user)) == "outside_hours"


class TestNoticeAndHorizon:
    def test_too_soon_and_too_far_for_customers_not_for_staff(self, user, admin_user):
        service = ServiceFactory(min_notice_minutes=120, max_advance_days=7)
        assert code_of(lambda: book(user, service, NOW + timedelta(minutes=119))) == "too_soon"
        assert code_of(lambda: book(user, service, NOW + timedelta(days=7, minutes=1))) == "too_far"
        assert book(user, service, NOW + timedelta(minutes=120))
        assert book(user, service, NOW + timedelta(days=7))
        assert book(user, service, NOW + timedelta(minutes=30), actor=admin_user)
        assert book(user, service, NOW + timedelta(days=30), actor=admin_user)


class TestBuffers:
    def test_the_buffer_after_a_booking_stays_free(self, user, other_user):
        service = ServiceFactory(duration_minutes=60, buffer_minutes=15)
        first = book(user, service, at(MONDAY_NEXT, "09:00"))
        assert first.buffer_minutes == 15
        with pytest.raises(ConflictError):
            book(other_user, service, at(MONDAY_NEXT, "10:10"))
        assert book(other_user, service, at(MONDAY_NEXT, "10:15"))

    def test_a_new_booking_keeps_its_own_buffer_before_the_next(self, user, other_user):
        service = ServiceFactory(duration_minutes=60, buffer_minutes=30)
        book(user, service, at(MONDAY_NEXT, "11:00"))
        with pytest.raises(ConflictError):
            book(other_user, service, at(MONDAY_NEXT, "09:45"))  # its buffer runs until 11:15
        assert book(other_user, service, at(MONDAY_NEXT, "09:30"))

    def test_a_later_policy_change_does_not_move_existing_buffers(self, user, other_user):
        service = ServiceFactory(duration_minutes=60, buffer_minutes=0)
        book(user, service, at(MONDAY_NEXT, "09:00"))
        service.buffer_minutes = 60
        service.save()
        assert book(other_user, service, at(MONDAY_NEXT, "12:00")).buffer_minutes == 60
        with pytest.raises(ConflictError):  # the new booking's own buffer reaches the 13:30 one
            book(other_user, service, at(MONDAY_NEXT, "13:30"))
        assert book(other_user, service, at(MONDAY_NEXT, "14:00"))

    def test_the_database_enforces_buffers_for_raw_writes(self, user):
        service = ServiceFactory()
        BookingFactory(service=service, start_time=at(MONDAY_NEXT, "09:00"), buffer_minutes=30)
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.create(
                user=user, service=service, start_time=at(MONDAY_NEXT, "10:20"), end_time=at(MONDAY_NEXT, "11:20")
            )


class TestActiveCap:
    def test_at_most_n_upcoming_bookings_per_user_on_a_service(self, user, other_user):
        service = ServiceFactory(max_active_bookings_per_user=2)
        first = book(user, service, at(MONDAY_NEXT, "09:00"))
        book(user, service, at(MONDAY_NEXT, "11:00"))
        assert code_of(lambda: book(user, service, at(MONDAY_NEXT, "13:00"))) == "too_many_active"
        assert book(other_user, service, at(MONDAY_NEXT, "13:00"))  # per user
        assert book(user, ServiceFactory(max_active_bookings_per_user=2), at(MONDAY_NEXT, "13:00"))  # per service
        services.booking_cancel(booking=first, now=NOW)
        assert book(user, service, at(MONDAY_NEXT, "15:00"))  # cancelled ones do not count

    def test_past_bookings_do_not_count_and_staff_are_not_capped(self, user, admin_user):
        service = ServiceFactory(max_active_bookings_per_user=1)
        BookingFactory(user=user, service=service, start_time=NOW - timedelta(days=3))
        assert book(user, service, at(MONDAY_NEXT, "09:00"))
        assert book(user, service, at(MONDAY_NEXT, "11:00"), actor=admin_user)


class TestCancellationCutoff:
    @pytest.fixture
    def booking(self, user):
        service = ServiceFactory(cancellation_cutoff_hours=24)
        return book(user, service, NOW + timedelta(hours=30))

    def test_owners_cannot_cancel_or_move_inside_the_cutoff(self, booking):
        later = NOW + timedelta(hours=7)  # 23 hours before the start
        with pytest.raises(ConflictError) as cancelled:
            services.booking_cancel(booking=booking, now=later)
        with pytest.raises(ConflictError) as moved:
            services.booking_reschedule(booking=booking, start_time=NOW + timedelta(hours=50), now=later)
        assert cancelled.value.code == moved.value.code == "cancellation_cutoff"

    def test_owners_can_before_it_and_staff_always(self, booking, admin_user):
        moved = services.booking_reschedule(booking=booking, start_time=NOW + timedelta(hours=31), now=NOW)
        late = NOW + timedelta(hours=20)
        assert services.booking_cancel(booking=moved, now=late, actor=admin_user).status == Booking.Status.CANCELLED

    def test_an_owners_delete_is_held_to_it_as_a_cancellation_is(self, booking, user):
        later = NOW + timedelta(hours=7)  # 23 hours before the start
        with pytest.raises(ConflictError) as cancelled:
            services.booking_cancel(booking=booking, now=later, actor=user)
        with pytest.raises(ConflictError) as deleted:
            services.booking_delete(booking=booking, now=later, actor=user)
        assert cancelled.value.code == deleted.value.code == "cancellation_cutoff"
        started = NOW + timedelta(hours=31)
        with pytest.raises(ConflictError) as cancelled:
            services.booking_cancel(booking=booking, now=started, actor=user)
        with pytest.raises(ConflictError) as deleted:
            services.booking_delete(booking=booking, now=started, actor=user)
        assert cancelled.value.code == deleted.value.code == "booking_started"
        assert Booking.objects.filter(pk=booking.pk).exists()
        services.booking_delete(booking=booking, now=NOW + timedelta(hours=5), actor=user)  # 25 hours before
        assert not Booking.objects.filter(pk=booking.pk).exists()

    def test_staff_delete_inside_it_and_after_the_start(self, booking, admin_user):
        services.booking_delete(booking=booking, now=NOW + timedelta(hours=31), actor=admin_user)
        assert not Booking.objects.filter(pk=booking.pk).exists()

    def test_a_cancelled_booking_is_deleted_by_its_owner_any_time(self, booking, user):
        cancelled = services.booking_cancel(booking=booking, now=NOW, actor=user)
        services.booking_delete(booking=cancelled, now=NOW + timedelta(hours=31), actor=user)
        assert not Booking.objects.filter(pk=booking.pk).exists()

    def test_staff_status_moves_ignore_notice_horizon_and_cutoff(self, booking):
        confirmed = services.booking_set_status(booking=booking, status=Booking.Status.CONFIRMED)
        assert confirmed.status == Booking.Status.CONFIRMED


class TestThroughTheApi:
    def test_the_year_9999_booking_is_a_400_naming_the_rule(self, user_client):
        service = ServiceFactory(duration_minutes=60)
        body = {"service_id": service.id, "start_time": "2027-01-05T09:30:00Z", "end_time": "9999-12-31T00:00:00Z"}
        response = user_client.post("/bookings", body)
        assert response.status_code == 400
        assert response.json()["code"] == "bad_length"
        assert not Booking.objects.exists()

    @pytest.mark.parametrize(("field", "code"), [("min_notice_minutes", "too_soon"), ("max_advance_days", "too_far")])
    def test_notice_and_horizon_are_400_with_their_code(self, user_client, field, code):
        service = ServiceFactory(**{field: 3 * 24 * 60 if field == "min_notice_minutes" else 1})
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
        response = user_client.post("/bookings", {"service_id": service.id, "start_time": start.isoformat()})
        assert (response.status_code, response.json()["code"]) == (400, code)

    def test_owner_is_409_inside_the_cutoff_and_admin_may(self, user, user_client, admin_client):
        service = ServiceFactory(cancellation_cutoff_hours=48)
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=30)
        booking = book(user, service, start, now=datetime.now(UTC))
        cancelled = {"status": "cancelled"}
        refused = user_client.patch(f"/bookings/{booking.id}", cancelled)
        assert (refused.status_code, refused.json()["code"]) == (409, "cancellation_cutoff")
        assert admin_client.patch(f"/bookings/{booking.id}", cancelled).status_code == 200
