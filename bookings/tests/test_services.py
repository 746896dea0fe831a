"""The booking rules, through the service layer."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from bookings import services
from bookings.models import Booking
from bookings.tests.factories import BookingFactory, future
from bookit.domain_errors import ConflictError, DomainError
from bookit.utc import iso_z
from catalog.models import Service
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status


def book(user, service, start, end=None):
    return services.booking_create(user=user, service=service, start_time=start, end_time=end)


class TestCreate:
    def test_new_booking_is_pending_and_lasts_the_service_duration(self, user):
        service = ServiceFactory(duration_minutes=45)
        booking = book(user, service, future())
        assert booking.status == Status.PENDING
        assert booking.end_time - booking.start_time == timedelta(minutes=45)

    def test_start_must_be_in_the_future(self, user):
        with pytest.raises(DomainError) as error:
            book(user, ServiceFactory(), future(-1))
        assert error.value.field == "start_time"

    def test_end_must_be_after_start(self, user):
        start = future()
        with pytest.raises(DomainError) as error:
            book(user, ServiceFactory(), start, start)
        assert error.value.field == "end_time"

    def test_inactive_service_cannot_be_booked(self, user):
        with pytest.raises(DomainError):
            book(user, ServiceFactory(is_active=False), future())
        assert not Booking.objects.exists()

    def test_overlap_is_a_conflict_naming_the_taken_slot(self, user, other_user):
        service = ServiceFactory()
        start = future()
        book(user, service, start, start + timedelta(hours=1))
        with pytest.raises(ConflictError) as error:
            book(other_user, service, start + timedelta(minutes=30))
        assert error.value.code == "booking_conflict"
        assert iso_z(start) in error.value.message
        assert Booking.objects.count() == 1

    def test_back_to_back_bookings_are_fine(self, user):
        service = ServiceFactory()
        start = future()
        book(user, service, start, start + timedelta(hours=1))
        book(user, service, start + timedelta(hours=1), start + timedelta(hours=2))
        book(user, service, start - timedelta(hours=1), start)
        assert Booking.objects.count() == 3

    def test_same_time_on_another_service_is_fine(self, user):
        start = future()
        book(user, ServiceFactory(), start)
        book(user, ServiceFactory(), start)
        assert Booking.objects.count() == 2

    def test_cancelled_booking_frees_its_slot(self, user):
        service = ServiceFactory()
        start = future()
        first = book(user, service, start)
        services.booking_cancel(booking=first, reason="changed plans")
        second = book(user, service, start)
        assert second.status == Status.PENDING

    def test_conflict_inside_an_outer_transaction_leaves_it_usable(self, user):
        service = ServiceFactory()
        start = future()
        with transaction.atomic():
            book(user, service, start)
            with pytest.raises(ConflictError):
                book(user, service, start)
            book(user, service, start + timedelta(hours=3))  # the savepoint kept the transaction alive
        assert Booking.objects.count() == 2


class TestDatabaseGuards:
    """The constraints hold even for writes that bypass the services."""

    def test_exclusion_constraint_rejects_raw_overlap(self):
        booking = BookingFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.bulk_create(
                [
                    Booking(
                        user=booking.user,
                        service=booking.service,
                        start_time=booking.start_time,
                        end_time=booking.end_time,
                    )
                ]
            )

    @pytest.mark.parametrize("bad", [{"end_offset": 0}, {"status": "lost"}])
    def test_check_constraints(self, bad):
        booking = BookingFactory.build(user=BookingFactory().user, service=ServiceFactory())
        if "end_offset" in bad:
            booking.end_time = booking.start_time
        else:
            booking.status = bad["status"]
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.bulk_create([booking])

    def test_model_validation_knows_the_exclusion_constraint(self):
        booking = BookingFactory()
        clash = Booking(
            user=booking.user,
            service=booking.service,
            resource=booking.resource,
            start_time=booking.start_time,
            end_time=booking.end_time,
        )
        with pytest.raises(ValidationError) as error:
            clash.validate_constraints()
        assert "already booked" in str(error.value)

    def test_service_and_user_with_bookings_cannot_be_deleted(self):
        from django.db.models import ProtectedError

        booking = BookingFactory()
        with pytest.raises(ProtectedError):
            booking.service.delete()
        with pytest.raises(ProtectedError):
            booking.user.delete()


class TestReschedule:
    def test_move_keeps_length(self, user):
        booking = BookingFactory(user=user)
        new_start = future(100)
        moved = services.booking_reschedule(booking=booking, start_time=new_start)
        assert (moved.start_time, moved.end_time) == (new_start, new_start + timedelta(hours=1))

    def test_move_onto_a_taken_slot_is_a_conflict_and_changes_nothing(self, user):
        taken = BookingFactory()
        mine = BookingFactory(user=user, service=taken.service)
        with pytest.raises(ConflictError):
            services.booking_reschedule(booking=mine, start_time=taken.start_time)
        mine.refresh_from_db()
        assert mine.start_time != taken.start_time

    def test_extending_over_own_slot_is_fine(self, user):
        booking = BookingFactory(user=user, service__max_length_minutes=120)
        longer = services.booking_reschedule(booking=booking, end_time=booking.end_time + timedelta(minutes=30))
        assert longer.end_time - longer.start_time == timedelta(minutes=90)

    @pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED])
    def test_final_bookings_cannot_move(self, status):
        booking = BookingFactory(status=status)
        with pytest.raises(ConflictError) as error:
            services.booking_reschedule(booking=booking, start_time=future(200))
        assert error.value.code == "booking_final"

    def test_started_booking_cannot_move_or_be_cancelled(self):
        booking = BookingFactory()
        later = booking.start_time + timedelta(minutes=1)
        with pytest.raises(ConflictError) as moved:
            services.booking_reschedule(booking=booking, start_time=future(200), now=later)
        with pytest.raises(ConflictError) as cancelled:
            services.booking_cancel(booking=booking, now=later)
        assert moved.value.code == cancelled.value.code == "booking_started"

    def test_status_change_locks_only_the_booking_row(self):
        from django.test.utils import CaptureQueriesContext

        booking = BookingFactory()
        with CaptureQueriesContext(connection) as queries:
            services.booking_set_status(booking=booking, status=Status.CONFIRMED)
        locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
        assert locking and all('FOR UPDATE OF "bookings_booking"' in sql for sql in locking)


class TestWorkflow:
    @pytest.mark.parametrize(
        ("start", "target"),
        [
            (Status.PENDING, Status.CONFIRMED),
            (Status.PENDING, Status.CANCELLED),
            (Status.CONFIRMED, Status.CANCELLED),
        ],
    )
    def test_allowed_moves(self, start, target):
        booking = BookingFactory(status=start)
        assert services.booking_set_status(booking=booking, status=target).status == target

    @pytest.mark.parametrize(
        ("start", "target"),
        [
            (Status.PENDING, Status.COMPLETED),
            (Status.CONFIRMED, Status.PENDING),
            (Status.CANCELLED, Status.CONFIRMED),
            (Status.CANCELLED, Status.PENDING),
            (Status.COMPLETED, Status.CANCELLED),
            (Status.COMPLETED, Status.CONFIRMED),
        ],
    )
    def test_forbidden_moves_name_the_current_status(self, start, target):
        booking = BookingFactory(status=start)
        with pytest.raises(ConflictError) as error:
            services.booking_set_status(booking=booking, status=target, now=booking.end_time + timedelta(hours=1))
        assert start in error.value.message
        booking.refresh_from_db()
        assert booking.status == start

    def test_completed_only_after_the_end(self):
        booking = BookingFactory(status=Status.CONFIRMED)
        with pytest.raises(ConflictError) as error:
            services.booking_set_status(booking=booking, status=Status.COMPLETED)
        assert error.value.code == "not_ended"
        done = services.booking_set_status(booking=booking, status=Status.COMPLETED, now=booking.end_time)
        assert done.status == Status.COMPLETED

    def test_cancel_records_time_and_reason(self):
        booking = BookingFactory()
        cancelled = services.booking_cancel(booking=booking, reason="sick")
        assert cancelled.cancelled_at is not None and cancelled.cancellation_reason == "sick"


def test_overlap_checker_finds_overlaps_when_the_constraint_is_gone():
    """The checker the stress test trusts must be able to fail."""
    from bookings.selectors import overlapping_pairs

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE bookings_booking DROP CONSTRAINT bookings_booking_no_overlap")
        booking = BookingFactory()
        clash = BookingFactory(
            service=booking.service,
            start_time=booking.start_time + timedelta(minutes=10),
            end_time=booking.end_time + timedelta(minutes=10),
        )
        assert overlapping_pairs(service_id=booking.service_id) == [(booking.id, clash.id)]
        transaction.set_rollback(True)
    assert overlapping_pairs() == []


class TestDeadlockRetry:
    """PostgreSQL may abort one of two racing overlapping inserts with deadlock_detected; we retry it."""

    @staticmethod
    def inject_deadlocks(count: int) -> None:
        # A real PostgreSQL error, raised by the database for the first `count` inserts.
        # A sequence, because nextval() survives the savepoint rollback that follows the error.
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE deadlock_budget; SELECT setval('deadlock_budget', 1, false)")
            cursor.execute(f"""
                CREATE FUNCTION fake_deadlock() RETURNS trigger AS $$
                BEGIN
                    IF nextval('deadlock_budget') <= {count} THEN
                        RAISE EXCEPTION 'deadlock detected (injected)' USING ERRCODE = 'deadlock_detected';
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql;
                CREATE TRIGGER fake_deadlock BEFORE INSERT ON bookings_booking
                    FOR EACH ROW EXECUTE FUNCTION fake_deadlock();
            """)

    def test_a_deadlock_is_retried_and_the_booking_written(self, user):
        self.inject_deadlocks(2)
        booking = book(user, ServiceFactory(), future())
        assert Booking.objects.filter(pk=booking.pk).count() == 1

    def test_persistent_deadlocks_give_up(self, user):
        from django.db import OperationalError

        self.inject_deadlocks(3)
        with pytest.raises(OperationalError):
            book(user, ServiceFactory(), future())
        assert not Booking.objects.exists()


class TestDeletedMeanwhile:
    """A change racing a delete finds the row gone: a NotFoundError (404), never an error or a resurrected row."""

    @pytest.mark.parametrize(
        "change",
        [
            lambda b: services.booking_cancel(booking=b),
            lambda b: services.booking_reschedule(booking=b, start_time=future(500)),
            lambda b: services.booking_edit_notes(booking=b, notes="x"),
            lambda b: services.booking_set_status(booking=b, status=Status.CONFIRMED),
            lambda b: services.booking_delete(booking=b),
        ],
    )
    def test_change_of_a_deleted_booking_is_not_found(self, change):
        from bookit.domain_errors import NotFoundError

        booking = BookingFactory()
        Booking.objects.filter(pk=booking.pk).delete()
        with pytest.raises(NotFoundError):
            change(booking)
        assert not Booking.objects.exists()


class TestDeactivatedMeanwhile:
    """A service deactivated between the request's read and the booking's INSERT takes no booking."""

    def test_a_customer_is_told_no_such_service_and_nothing_is_written(self, user):
        service = ServiceFactory()
        Service.objects.filter(pk=service.pk).update(is_active=False)  # staff, after the request read it
        with pytest.raises(ValidationError) as error:
            book(user, service, future())
        assert error.value.message_dict == {"service_id": [f"No service with id {service.pk}."]}
        assert not Booking.objects.exists()

    def test_staff_get_the_inactive_service_conflict(self, user, admin_user):
        service = ServiceFactory()
        Service.objects.filter(pk=service.pk).update(is_active=False)
        with pytest.raises(ConflictError) as error:
            services.booking_create(user=user, service=service, start_time=future(), actor=admin_user)
        assert error.value.code == "service_inactive"
