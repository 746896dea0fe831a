"""GET /services/{id}/availability over resources and group sessions: a slot is offered while one resource
that delivers the service can take it, says how many can (``free``) and, for sessions, the seats left."""

import contextlib
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookings import selectors, services
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from bookings.tests.test_availability import (
    aligned_starts,
    allowed_by_a_neighbour_ending_in_the_gap,
    local_starts,
    slots,
    weekly_hours,
)
from bookit.domain_errors import ConflictError, DomainError
from catalog import services as catalog_services
from catalog.models import Resource, WorkingHours
from catalog.schedule import Schedule
from catalog.selectors import bookable_resources
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
MONDAY = ("2027-02-01", "2027-02-02")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 2, 1, hour, minute, tzinfo=UTC)


def resource_of(*delivered, name: str = "Stylist", timezone: str = "UTC", hours=(), is_active: bool = True):
    """A resource delivering ``delivered``, with weekly ``hours`` ((weekday, start, end) wall-clock tuples)."""
    resource = Resource.objects.create(name=name, timezone=timezone, is_active=is_active)
    resource.services.add(*delivered)
    for weekday, start, end in hours:
        WorkingHours.objects.create(resource=resource, weekday=weekday, start=start, end=end)
    return resource


def by_start(body) -> dict[str, dict]:
    """Each slot by its start as ``HH:MM`` (the window is one UTC day), without its start and end."""
    return {
        start[-5:]: {k: v for k, v in slot.items() if k not in ("start", "end")}
        for start, slot in zip(local_starts(body), body["slots"], strict=True)
    }


@pytest.fixture
def salon():
    """Haircuts, Monday 09:00-12:00, by the service's own resource (no hours of its own), ``late`` (10:00-12:00)
    and ``shared``, who also does colouring and is colouring someone 10:00-11:00."""
    haircut = ServiceFactory(duration_minutes=60)
    WorkingHours.objects.create(service=haircut, weekday=1, start=time(9), end=time(12))
    colouring = ServiceFactory(duration_minutes=60)
    late = resource_of(haircut, name="Late", hours=[(1, time(10), time(12))])
    shared = resource_of(haircut, colouring, name="Shared")
    BookingFactory(service=colouring, resource=shared, start_time=at(10), end_time=at(11))
    return {
        "haircut": haircut,
        "colouring": colouring,
        "own": haircut.resources.get(name=haircut.name),
        "late": late,
        "shared": shared,
    }


class TestResources:
    def test_each_slot_says_how_many_resources_are_free(self, anon, salon):
        body = slots(anon, salon["haircut"], *MONDAY)
        # 09:00: late does not work yet; 10:00: shared is colouring (another service: still busy).
        assert by_start(body) == {"09:00": {"free": 2}, "10:00": {"free": 2}, "11:00": {"free": 3}}

    def test_a_slot_no_resource_can_take_is_not_offered(self, anon, salon):
        for resource in ("own", "late"):
            BookingFactory(service=salon["haircut"], resource=salon[resource], start_time=at(10), end_time=at(11))
        assert "10:00" not in by_start(slots(anon, salon["haircut"], *MONDAY))

    def test_buffers_of_another_services_booking_count_on_the_shared_resource(self, anon, salon):
        BookingFactory(
            service=salon["colouring"],
            resource=salon["shared"],
            start_time=at(8),
            end_time=at(8, 30),
            buffer_minutes=45,
        )  # blocked until 09:15
        assert by_start(slots(anon, salon["haircut"], *MONDAY))["09:00"] == {"free": 1}

    def test_resource_id_narrows_to_that_resource(self, anon, salon):
        body = slots(anon, salon["haircut"], *MONDAY, resource_id=salon["late"].id)
        assert by_start(body) == {"10:00": {"free": 1}, "11:00": {"free": 1}}
        assert list(by_start(slots(anon, salon["haircut"], *MONDAY, resource_id=salon["shared"].id))) == [
            "09:00",
            "11:00",
        ]

    def test_a_resource_that_does_not_deliver_the_service_is_400(self, anon, salon):
        colourist = resource_of(salon["colouring"], name="Colour only")
        retired = resource_of(salon["haircut"], name="Retired", is_active=False)
        for resource in (colourist, retired):
            response = anon.get(
                f"/services/{salon['haircut'].id}/availability",
                {"from": MONDAY[0], "to": MONDAY[1], "resource_id": resource.id},
            )
            assert response.status_code == 400
            assert response.json()["code"] == "resource_unavailable"
        response = anon.get(
            f"/services/{salon['haircut'].id}/availability", {"from": MONDAY[0], "to": MONDAY[1], "resource_id": "x"}
        )
        assert response.status_code == 400 and response.json()["code"] == "invalid"

    def test_an_inactive_resource_offers_nothing(self, anon, salon):
        Resource.objects.filter(pk__in=[salon["late"].pk, salon["shared"].pk]).update(is_active=False)
        assert by_start(slots(anon, salon["haircut"], *MONDAY)) == {h: {"free": 1} for h in ("09:00", "10:00", "11:00")}

    def test_the_offered_count_books_and_one_more_is_409(self, user_client, anon, salon):
        haircut = salon["haircut"]
        for _ in range(by_start(slots(anon, haircut, *MONDAY))["11:00"]["free"]):
            booked = user_client.post("/bookings", {"service_id": haircut.id, "start_time": "2027-02-01T11:00:00Z"})
            assert booked.status_code == 201, booked.json()
        again = user_client.post("/bookings", {"service_id": haircut.id, "start_time": "2027-02-01T11:00:00Z"})
        assert again.status_code == 409 and again.json()["code"] == "booking_conflict"
        assert "11:00" not in by_start(slots(anon, haircut, *MONDAY))

    def test_five_resources_cost_no_more_queries(self, anon, django_assert_num_queries):
        service = ServiceFactory(duration_minutes=30)
        for n in range(4):
            resource = resource_of(service, name=f"R{n}", hours=[(1, time(8 + n), time(18))])
            BookingFactory(service=service, resource=resource, start_time=at(12), end_time=at(12, 30))
        with django_assert_num_queries(2):  # the service with its hours and resources; every resource's bookings
            body = slots(anon, service, *MONDAY)
        assert by_start(body)["12:00"] == {"free": 1} and by_start(body)["12:30"] == {"free": 5}


@pytest.fixture
def yoga():
    """A class for 3, hourly sessions Monday 09:00-12:00, in its own room and in a hall that also hosts talks."""
    yoga = ServiceFactory(duration_minutes=60, capacity=3)
    WorkingHours.objects.create(service=yoga, weekday=1, start=time(9), end=time(12))
    talks = ServiceFactory(duration_minutes=60)
    hall = resource_of(yoga, talks, name="Hall")
    return {"yoga": yoga, "talks": talks, "room": yoga.resources.get(name=yoga.name), "hall": hall}


class TestSessions:
    def book(self, user, service, hour, resource):
        return services.booking_create(user=user, service=service, start_time=at(hour), resource_id=resource.id)

    def test_seats_left_sum_over_the_free_resources(self, anon, user, yoga):
        self.book(user, yoga["yoga"], 10, yoga["room"])
        self.book(user, yoga["yoga"], 10, yoga["room"])
        assert by_start(slots(anon, yoga["yoga"], *MONDAY)) == {
            "09:00": {"free": 2, "seats_left": 6},
            "10:00": {"free": 2, "seats_left": 4},  # one seat in the room, three in the hall
            "11:00": {"free": 2, "seats_left": 6},
        }

    def test_a_full_session_and_another_services_booking_are_not_offered(self, anon, user, yoga):
        for _ in range(3):
            self.book(user, yoga["yoga"], 10, yoga["room"])
        self.book(user, yoga["talks"], 10, yoga["hall"])
        assert "10:00" not in by_start(slots(anon, yoga["yoga"], *MONDAY))
        full = anon.get(f"/services/{yoga['yoga'].id}/availability", {"from": MONDAY[0], "to": MONDAY[1]})
        assert full.status_code == 200

    def test_a_session_blocks_the_overlapping_sessions_on_its_resource(self, anon, user, yoga):
        yoga["yoga"].slot_step_minutes = 30
        yoga["yoga"].save(update_fields=["slot_step_minutes"])
        self.book(user, yoga["yoga"], 10, yoga["room"])
        body = by_start(slots(anon, yoga["yoga"], *MONDAY, resource_id=yoga["room"].id))
        assert body["10:00"] == {"free": 1, "seats_left": 2}
        assert "09:30" not in body and "10:30" not in body

    def test_seats_left_book_and_the_next_is_409(self, user_client, anon, yoga):
        seats = by_start(slots(anon, yoga["yoga"], *MONDAY))["09:00"]["seats_left"]
        seen = set()
        for _ in range(seats):
            booked = user_client.post(
                "/bookings", {"service_id": yoga["yoga"].id, "start_time": "2027-02-01T09:00:00Z"}
            )
            assert booked.status_code == 201, booked.json()
            seen.add((booked.json()["resource"]["id"], booked.json()["seat"]))
        assert len(seen) == 6
        again = user_client.post("/bookings", {"service_id": yoga["yoga"].id, "start_time": "2027-02-01T09:00:00Z"})
        assert again.status_code == 409 and again.json()["code"] == "booking_conflict"


# --- Property: over resources and sessions, every offered slot books (``free`` times over, or ``seats_left``),
# --- and every slot-aligned start not offered fails with the rule that says no

NOW = datetime(2027, 3, 26, 6, 0, tzinfo=UTC)
WINDOW = (
    datetime(2027, 3, 27, tzinfo=UTC),
    datetime(2027, 3, 29, 12, tzinfo=UTC),
)  # Berlin's clocks change on the 28th
ZONES = st.sampled_from(["UTC", "Europe/Berlin"])
session_policies = st.fixed_dictionaries(
    {
        "timezone": ZONES,
        "duration_minutes": st.sampled_from([30, 60, 90]),
        "slot_step_minutes": st.sampled_from([None, 30, 60]),
        "buffer_minutes": st.sampled_from([0, 15]),
        "min_notice_minutes": st.sampled_from([0, 30 * 60]),
        "max_advance_days": st.sampled_from([None, 2]),
        "capacity": st.sampled_from([1, 3]),
    }
)
# Hours on the window's weekdays (Saturday to Monday): (weekday, start in half hours, length in half hours).
window_hours = st.one_of(
    st.just([]), st.lists(st.tuples(st.sampled_from([6, 7, 1]), st.integers(0, 40), st.integers(2, 16)), max_size=4)
)
# The service's own resource first, then up to two more; each with its own zone and hours (none: always),
# and whether it also delivers another service (of capacity 1 or 2), which books it too.
resource_draws = st.lists(
    st.fixed_dictionaries({"timezone": ZONES, "hours": window_hours, "shared": st.booleans()}), min_size=1, max_size=3
)
other_service = st.fixed_dictionaries(
    {
        "capacity": st.sampled_from([1, 2]),
        # (which resource, hours from the window's start minus 6, seats)
        "bookings": st.lists(st.tuples(st.integers(0, 2), st.integers(0, 65), st.integers(1, 2)), max_size=6),
    }
)


def blocked_by(rows, service, resource_id: int, start: datetime) -> bool:
    """Whether ``rows`` (the resources' bookings) keep ``resource_id`` from a booking of ``service`` at
    ``start``: a booking overlaps it with the buffers, unless it is a seat of this very session and seats are left."""
    end = start + timedelta(minutes=service.duration_minutes + service.buffer_minutes)
    overlapping = [
        row
        for row in rows
        if row["resource_id"] == resource_id
        and row["start_time"] < end
        and start < row["end_time"] + timedelta(minutes=row["buffer_minutes"])
    ]
    session = [
        row
        for row in overlapping
        if service.capacity > 1 and row["service_id"] == service.id and row["seat"] and row["start_time"] == start
    ]
    return (
        len(session) < len(overlapping) or sum(row["seat"] <= service.capacity for row in session) >= service.capacity
    )


def expected_refusal(service, schedule, resources, rows, start) -> str:
    """The rule a start not offered must break, worked out here, in the order booking_create checks them."""
    end = start + timedelta(minutes=service.duration_minutes)
    if start <= NOW:
        return "start_in_past"
    if not schedule.allows(start, end):
        return "outside_hours"
    if start < NOW + timedelta(minutes=service.min_notice_minutes):
        return "too_soon"
    if service.max_advance_days is not None and start > NOW + timedelta(days=service.max_advance_days):
        return "too_far"
    if service.capacity > 1:
        day = start.astimezone(schedule.zone).date()
        if start.timestamp() not in set(
            schedule.slot_moments(day, day, step=service.slot_step, length=service.duration_minutes)
        ):
            return "not_a_session_start"
    working = [resource for resource in resources if resource.schedule.allows(start, end)]
    if not working:
        return "resource_unavailable"
    free = [resource.id for resource in working if not blocked_by(rows, service, resource.id, start)]
    assert not free, f"{start}: resources {free} could take it, yet it was not offered"
    return "booking_conflict"


def book(user, service, moment: float, **kwargs) -> Booking:
    return services.booking_create(
        user=user, service=service, start_time=datetime.fromtimestamp(moment, UTC), now=NOW, **kwargs
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    policy=session_policies,
    raw_hours=window_hours,
    drawn=resource_draws,
    other=other_service,
    taken=st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 3)), max_size=8),
)
def test_offered_slots_book_on_some_resource_and_the_others_fail_with_their_rule(
    user, admin_user, policy, raw_hours, drawn, other, taken
):
    with transaction.atomic():
        service = ServiceFactory(**policy)
        catalog_services.service_update(service=service, working_hours=weekly_hours(raw_hours), exceptions=[])
        talks = ServiceFactory(duration_minutes=60, capacity=other["capacity"])
        made = [service.resources.get()]
        made += [Resource.objects.create(name=f"Extra {n}") for n in range(1, len(drawn))]
        for resource, draw in zip(made, drawn, strict=True):
            resource.timezone = draw["timezone"]
            resource.save(update_fields=["timezone"])
            resource.services.add(service, *([talks] if draw["shared"] else []))
            for hours in weekly_hours(draw["hours"]):
                WorkingHours.objects.create(resource=resource, **hours)
        shared = [resource for resource, draw in zip(made, drawn, strict=True) if draw["shared"]]
        for which, hour, seats in other["bookings"] if shared else []:
            # The other service's bookings (a session's seats when it has them), whatever the resource's
            # hours now (booked before they changed); the constraint refuses the clashing ones: skipped.
            begin = WINDOW[0] + timedelta(hours=hour - 6)
            for seat in range(1, seats + 1) if talks.capacity > 1 else [None]:
                with contextlib.suppress(IntegrityError), transaction.atomic():
                    BookingFactory(
                        service=talks,
                        resource=shared[which % len(shared)],
                        seat=seat,
                        start_time=begin,
                        end_time=begin + timedelta(hours=1),
                        buffer_minutes=15 * (which % 2),
                    )
        service = type(service).objects.prefetch_related("working_hours", "exceptions").get(pk=service.pk)
        schedule = Schedule.of(service)

        def availability(resource_id=None):
            return selectors.service_free_moments(
                service=service, start=WINDOW[0], end=WINDOW[1], now=NOW, resource_id=resource_id
            )

        for index, times in taken:  # book some offered slots first, as staff: 1-3 seats (or resources) of each
            starts = availability().starts
            for _ in range(times) if starts else []:
                with contextlib.suppress(ConflictError):  # the slot's last place went
                    book(user, service, starts[index % len(starts)], actor=admin_user)
        offered = availability()
        sessions = service.capacity > 1
        places = offered.seats_left if sessions else offered.free
        assert all(places) and all(offered.free)

        # Narrowed to each resource, the answers add up to the whole one.
        resources = bookable_resources(service)
        assert [resource.id for resource in resources] == sorted(resource.id for resource in made)
        added: dict[float, list[int]] = defaultdict(lambda: [0, 0])
        for resource in resources:
            alone = availability(resource.id)
            assert set(alone.free) <= {1}
            for position, moment in enumerate(alone.starts):
                added[moment][0] += 1
                added[moment][1] += alone.seats_left[position] if sessions else 1
            if alone.starts:  # its first slot books on it
                with transaction.atomic():
                    assert book(user, service, alone.starts[0], resource_id=resource.id).resource_id == resource.id
                    transaction.set_rollback(True)
        assert sorted(added) == list(offered.starts)
        assert [added[moment][0] for moment in offered.starts] == list(offered.free)
        assert [added[moment][1] for moment in offered.starts] == list(places)

        # Every offered slot books; on some (all partly taken ones), exactly as many times as it says, and once
        # more is a 409.
        exhausted = set(offered.starts[:: max(1, len(offered.starts) // 4)]) | {
            moment  # and every slot with fewer places than all resources with all seats
            for moment, count in zip(offered.starts, places, strict=True)
            if count < len(resources) * service.capacity
        }
        for moment, count in zip(offered.starts, places, strict=True):
            with transaction.atomic():
                for _ in range(count if moment in exhausted else 1):
                    assert book(user, service, moment).pk
                if moment in exhausted:
                    with pytest.raises(ConflictError) as full, transaction.atomic():
                        book(user, service, moment)
                    assert full.value.code == "booking_conflict"
                transaction.set_rollback(True)

        # Every aligned start not offered fails with its rule's code (and a session's off-grid start too).
        rows = list(
            Booking.objects.exclude(status=Booking.Status.CANCELLED)
            .filter(resource__in=made)
            .values("resource_id", "service_id", "seat", "start_time", "end_time", "buffer_minutes")
        )
        offered_set = {datetime.fromtimestamp(moment, UTC) for moment in offered.starts}
        probes = [
            start
            for start, fits in aligned_starts(schedule, service, WINDOW)
            if start not in offered_set
            and (sessions or fits or not allowed_by_a_neighbour_ending_in_the_gap(schedule, service, start))
        ]
        if sessions:
            probes += [start + timedelta(minutes=5) for start in sorted(offered_set)[:3]]
        for start in probes:
            with pytest.raises(DomainError) as refused, transaction.atomic():
                book(user, service, start.timestamp())
            assert refused.value.code == expected_refusal(service, schedule, resources, rows, start), start
        transaction.set_rollback(True)
