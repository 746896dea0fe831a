"""Resources and seats, through the services and the API: which resource a booking gets, and which it never gets."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.models import Booking
from bookit.domain_errors import ConflictError, DomainError
from catalog.models import Resource, WorkingHours
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # a Monday
TUESDAY = datetime(2027, 1, 12, tzinfo=UTC)


def at(hhmm: str, day: datetime = TUESDAY) -> datetime:
    return datetime.combine(day.date(), time.fromisoformat(hhmm), tzinfo=UTC)


def staff(service, name: str, *, hours: tuple[str, str] | None = None) -> Resource:
    """A staff member who delivers ``service`` (on Tuesdays only within ``hours``, when given)."""
    resource = Resource.objects.create(name=name, kind="staff")
    resource.services.add(service)
    if hours:
        WorkingHours.objects.create(resource=resource, weekday=2, start=hours[0], end=hours[1])
    return resource


def book(service, start, *, user=None, resource=None, end=None):
    return services.booking_create(
        user=user or UserFactory(),
        service=service,
        start_time=start,
        end_time=end,
        resource_id=resource.pk if resource else None,
        now=NOW,
    )


def code_of(call) -> str:
    with pytest.raises(DomainError) as error:
        call()
    return error.value.code


class TestOwnResource:
    def test_a_new_service_has_one_resource_named_after_it(self):
        service = ServiceFactory(name="Sauna", timezone="Europe/Berlin")
        (own,) = service.resources.all()
        assert (own.name, own.timezone, own.is_active) == ("Sauna", "Europe/Berlin", True)

    def test_one_service_is_still_one_calendar(self):
        service = ServiceFactory(duration_minutes=60)
        first = book(service, at("10:00"))
        assert first.resource.name == service.name
        with pytest.raises(ConflictError) as error:
            book(service, at("10:30"))
        assert error.value.code == "booking_conflict"


class TestChosenResource:
    def test_the_resource_asked_for(self):
        service = ServiceFactory()
        anna = staff(service, "Anna")
        assert book(service, at("10:00"), resource=anna).resource_id == anna.pk

    def test_one_that_does_not_deliver_the_service_or_is_off_work_is_a_400(self):
        service, other = ServiceFactory(), ServiceFactory()
        anna = staff(service, "Anna", hours=("13:00", "17:00"))
        outsider = staff(other, "Bob")
        assert code_of(lambda: book(service, at("10:00"), resource=outsider)) == "resource_unavailable"
        assert code_of(lambda: book(service, at("10:00"), resource=anna)) == "resource_unavailable"
        anna.is_active = False
        anna.save()
        assert code_of(lambda: book(service, at("14:00"), resource=anna)) == "resource_unavailable"
        assert not Booking.objects.exists()

    def test_busy_then_is_a_409_even_with_others_free(self):
        service = ServiceFactory()
        anna = staff(service, "Anna")
        book(service, at("10:00"), resource=anna)
        with pytest.raises(ConflictError):
            book(service, at("10:00"), resource=anna)


class TestAnyAvailable:
    def test_the_fairest_free_resource_that_works_then(self):
        service = ServiceFactory()
        service.resources.all().delete()
        anna, bob = staff(service, "Anna"), staff(service, "Bob")
        book(service, at("09:00"), resource=anna)  # Anna has one booking that day
        assert book(service, at("11:00")).resource_id == bob.pk  # fewest that day
        assert book(service, at("13:00")).resource_id == anna.pk  # a tie: the lower id
        off = staff(service, "Carla", hours=("16:00", "18:00"))
        first, second = book(service, at("15:00")), book(service, at("15:00"))
        assert {first.resource_id, second.resource_id} == {anna.pk, bob.pk}  # Carla is off then
        with pytest.raises(ConflictError) as error:
            book(service, at("15:00"))
        assert error.value.code == "booking_conflict"
        assert book(service, at("16:00")).resource_id == off.pk

    def test_nobody_working_then_is_a_400(self):
        service = ServiceFactory()
        service.resources.all().delete()
        staff(service, "Anna", hours=("13:00", "17:00"))
        assert code_of(lambda: book(service, at("10:00"))) == "resource_unavailable"

    def test_one_stylist_for_two_services_is_never_booked_twice(self):
        haircut, colour = ServiceFactory(), ServiceFactory()
        anna = staff(haircut, "Anna")
        anna.services.add(colour)
        book(haircut, at("10:00"), resource=anna)
        with pytest.raises(ConflictError):
            book(colour, at("10:30"), resource=anna)

    def test_the_history_names_the_resource_picked(self):
        service = ServiceFactory()
        booking = book(service, at("10:00"))
        (event,) = booking.events.all()
        assert event.changes["resource_id"] == [None, booking.resource_id]


class TestMoves:
    def test_a_move_stays_on_its_resource_when_free_else_moves_on(self):
        service = ServiceFactory()
        service.resources.all().delete()
        anna, bob = staff(service, "Anna"), staff(service, "Bob")
        booking = book(service, at("10:00"), resource=bob)
        moved = services.booking_reschedule(booking=booking, start_time=at("12:00"), now=NOW)
        assert moved.resource_id == bob.pk
        book(service, at("14:00"), resource=bob)
        moved = services.booking_reschedule(booking=moved, start_time=at("14:00"), now=NOW)
        assert moved.resource_id == anna.pk
        (last,) = moved.events.filter(action="rescheduled").order_by("-id")[:1]
        assert last.changes["resource_id"] == [bob.pk, anna.pk]

    def test_a_move_to_a_named_resource(self):
        service = ServiceFactory()
        anna = staff(service, "Anna")
        booking = book(service, at("10:00"))
        moved = services.booking_reschedule(booking=booking, resource_id=anna.pk, now=NOW)
        assert (moved.resource_id, moved.start_time) == (anna.pk, at("10:00"))


class TestSessions:
    def test_seats_one_to_capacity_then_full(self):
        yoga = ServiceFactory(capacity=3, duration_minutes=60)
        seats = [book(yoga, at("10:00")).seat for _ in range(3)]
        assert seats == [1, 2, 3]
        with pytest.raises(ConflictError) as error:
            book(yoga, at("10:00"))
        assert error.value.code == "booking_conflict"

    def test_a_cancelled_seat_is_free_at_once(self):
        yoga = ServiceFactory(capacity=2, duration_minutes=60)
        first, _ = book(yoga, at("10:00")), book(yoga, at("10:00"))
        services.booking_cancel(booking=first, now=NOW)
        assert book(yoga, at("10:00")).seat == 1

    def test_a_start_off_the_grid_or_another_length_is_a_400(self):
        yoga = ServiceFactory(capacity=5, duration_minutes=60)
        assert code_of(lambda: book(yoga, at("10:30"))) == "not_a_session_start"
        assert code_of(lambda: book(yoga, at("10:00"), end=at("10:30"))) == "bad_length"

    def test_another_session_or_service_cannot_share_the_room(self):
        yoga, pilates = ServiceFactory(capacity=5, duration_minutes=60), ServiceFactory(duration_minutes=60)
        (room,) = yoga.resources.all()
        room.services.add(pilates)
        book(yoga, at("10:00"))
        with pytest.raises(ConflictError):
            book(pilates, at("10:30"), resource=room)
        assert book(yoga, at("11:00")).seat == 1  # the next session, back to back

    def test_a_one_to_one_booking_never_shares_its_resource(self):
        """The session key is the booking's own id: two one-to-one bookings with one start still clash."""
        service = ServiceFactory()
        first = book(service, at("10:00"))
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.create(
                user=first.user,
                service=service,
                resource=first.resource,
                start_time=first.start_time,
                end_time=first.end_time,
            )

    def test_the_database_refuses_a_second_person_on_a_seat_and_a_seat_above_capacity(self):
        yoga = ServiceFactory(capacity=2, duration_minutes=60)
        first = book(yoga, at("10:00"))
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.create(
                user=UserFactory(),
                service=yoga,
                resource=first.resource,
                start_time=first.start_time,
                end_time=first.end_time,
                seat=1,
            )
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE bookings_booking SET seat = 3 WHERE id = %s", [first.pk])


def test_the_api_shows_the_resource_and_filters_by_it(user_client, admin_client):
    service = ServiceFactory()
    anna = staff(service, "Anna")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    created = user_client.post(
        "/bookings", {"service_id": service.pk, "start_time": start.isoformat(), "resource_id": anna.pk}
    )
    assert created.status_code == 201, created.content
    assert (created.json()["resource"], created.json()["seat"]) == ({"id": anna.pk, "name": "Anna"}, None)
    listed = admin_client.get("/bookings", {"resource": anna.pk}).json()["results"]
    assert [row["id"] for row in listed] == [created.json()["id"]]
    assert listed[0]["resource"] == {"id": anna.pk, "name": "Anna"}
    assert admin_client.get("/bookings", {"resource": anna.pk + 1000}).json()["results"] == []
    refused = user_client.post(
        "/bookings", {"service_id": service.pk, "start_time": start.isoformat(), "resource_id": anna.pk + 1000}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "resource_unavailable")
