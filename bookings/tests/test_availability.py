"""GET /services/{id}/availability: exactly the slots that book, across daylight-saving changes too."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bookings import selectors, services
from bookings.tests.factories import BookingFactory
from bookit.domain_errors import DomainError
from bookit.utc import iso_z
from catalog import services as catalog_services
from catalog.models import ScheduleException, WorkingHours
from catalog.schedule import Schedule
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def slots(client, service, start, end, **params):
    query = {"from": start, "to": end, **params}
    response = client.get(f"/services/{service.id}/availability", query)
    assert response.status_code == 200, response.json()
    return response.json()


def local_starts(body, zone=None) -> list[str]:
    """Each slot's start as wall-clock ``YYYY-MM-DD HH:MM`` in ``zone`` (default: the offsets given)."""
    moments = [datetime.fromisoformat(slot["start"]) for slot in body["slots"]]
    return [(m.astimezone(zone) if zone else m).strftime("%Y-%m-%d %H:%M") for m in moments]


class TestEndpoint:
    def test_a_service_without_hours_offers_every_step_from_midnight(self, anon):
        service = ServiceFactory(duration_minutes=90, slot_step_minutes=60)
        body = slots(anon, service, "2027-02-01", "2027-02-02")
        assert body["service_id"] == service.id and body["timezone"] == "UTC"
        assert len(body["slots"]) == 24
        assert body["slots"][0] == {
            "start": "2027-02-01T00:00:00+00:00",
            "end": "2027-02-01T01:30:00+00:00",
            "free": 1,
        }

    def test_hours_bookings_and_buffers_shape_the_slots(self, anon):
        service = ServiceFactory(duration_minutes=60, slot_step_minutes=30, buffer_minutes=15, timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=1, start=time(9), end=time(12))
        BookingFactory(service=service, start_time=datetime(2027, 2, 1, 9, 30, tzinfo=UTC), buffer_minutes=15)
        body = slots(anon, service, "2027-02-01", "2027-02-02")
        # Local 10:30-11:30 is taken until 11:45 with its buffer; a slot needs its own 15 minutes after it.
        assert [s[-5:] for s in local_starts(body)] == ["09:00"]
        assert body["slots"][0]["end"] == "2027-02-01T10:00:00+01:00"

    def test_tz_changes_the_offsets_not_the_slots(self, anon):
        service = ServiceFactory(timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=1, start=time(9), end=time(10))
        body = slots(anon, service, "2027-02-01", "2027-02-02", tz="America/New_York")
        assert body["timezone"] == "America/New_York"
        assert body["slots"] == [{"start": "2027-02-01T03:00:00-05:00", "end": "2027-02-01T04:00:00-05:00", "free": 1}]

    def test_notice_and_horizon_trim_the_window(self, anon):
        service = ServiceFactory(min_notice_minutes=24 * 60, max_advance_days=2)
        now = datetime.now(UTC)
        body = slots(anon, service, iso_z(now), iso_z(now + timedelta(days=5)))
        starts = [datetime.fromisoformat(s["start"]) for s in body["slots"]]
        assert starts and now + timedelta(hours=24) <= starts[0] and starts[-1] <= now + timedelta(days=2)

    @pytest.mark.parametrize(
        "query",
        [
            {"to": "2027-02-02"},
            {"from": "2027-02-01"},
            {"from": "2027-02-02", "to": "2027-02-01"},
            {"from": "2027-02-01", "to": "2027-03-05"},
            {"from": "2027-02-01", "to": "2027-02-02", "tz": "Mars/Olympus"},
            {"from": "2027-02-01T10:00:00", "to": "2027-02-02"},
            {"from": "soon", "to": "2027-02-02"},
            {"from": "9999-12-30", "to": "9999-12-31"},
            {"from": "0001-01-01", "to": "0001-01-02", "tz": "Asia/Tokyo"},
        ],
    )
    def test_bad_windows_are_400(self, anon, query):
        response = anon.get(f"/services/{ServiceFactory().id}/availability", query)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"

    def test_inactive_or_unknown_service_is_404(self, anon, admin_client):
        inactive = ServiceFactory(is_active=False)
        window = {"from": "2027-02-01", "to": "2027-02-02"}
        assert anon.get(f"/services/{inactive.id}/availability", window).status_code == 404
        assert admin_client.get(f"/services/{inactive.id}/availability", window).status_code == 404
        assert anon.get("/services/999999/availability", window).status_code == 404

    def test_every_offered_slot_books_through_the_api(self, user_client):
        service = ServiceFactory(duration_minutes=45, buffer_minutes=10, timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=2, start=time(8), end=time(12))
        BookingFactory(service=service, start_time=datetime(2027, 2, 2, 9, 0, tzinfo=UTC))
        offered = slots(user_client, service, "2027-02-02", "2027-02-03")["slots"]
        assert offered
        for slot in offered[::2]:  # every other one: neighbours would block each other
            body = {"service_id": service.id, "start_time": slot["start"]}
            assert user_client.post("/bookings", body).status_code == 201
        taken = {slot["start"] for slot in slots(user_client, service, "2027-02-02", "2027-02-03")["slots"]}
        assert not taken & {slot["start"] for slot in offered[::2]}

    def test_the_same_window_asked_again_sees_every_change(self, anon, user_client):
        """Answers are remembered per worker (bookings.selectors): asking again after a booking, a
        cancellation, a policy change or a closed day must never give the earlier answer."""
        service = ServiceFactory(duration_minutes=60, slot_step_minutes=60)
        window = ("2027-02-01", "2027-02-02")
        assert len(slots(anon, service, *window)["slots"]) == 24
        booked = user_client.post("/bookings", {"service_id": service.id, "start_time": "2027-02-01T10:00:00Z"})
        assert booked.status_code == 201
        assert "2027-02-01 10:00" not in local_starts(slots(anon, service, *window))
        assert len(slots(anon, service, *window)["slots"]) == 23
        cancel = {"status": "cancelled", "cancellation_reason": "changed plans"}
        assert user_client.patch(f"/bookings/{booked.json()['id']}", cancel).status_code == 200
        assert len(slots(anon, service, *window)["slots"]) == 24
        catalog_services.service_update(service=service, buffer_minutes=60)
        BookingFactory(service=service, start_time=datetime(2027, 2, 1, 12, tzinfo=UTC), buffer_minutes=60)
        starts = local_starts(slots(anon, service, *window))
        assert "2027-02-01 11:00" not in starts and "2027-02-01 13:00" not in starts and len(starts) == 21
        ScheduleException.objects.create(service=service, date=date(2027, 2, 1))
        assert slots(anon, service, *window)["slots"] == []

    def test_a_policy_change_in_the_admin_shows_at_once(self, anon, staff_client):
        service = ServiceFactory(duration_minutes=60)
        assert len(slots(anon, service, "2027-02-01", "2027-02-02")["slots"]) == 24
        form = {
            **{"name": service.name, "description": "", "price": "25.00", "duration_minutes": 60, "is_active": "on"},
            **{
                "timezone": "UTC",
                "buffer_minutes": 0,
                "min_notice_minutes": 0,
                "cancellation_cutoff_hours": 0,
                "capacity": 1,
            },
            **{"exceptions-TOTAL_FORMS": 0, "exceptions-INITIAL_FORMS": 0},
            **{"working_hours-TOTAL_FORMS": 1, "working_hours-INITIAL_FORMS": 0},
            **{"working_hours-0-weekday": 1, "working_hours-0-start": "10:00", "working_hours-0-end": "12:00"},
        }
        assert staff_client.post(f"/admin/catalog/service/{service.pk}/change/", form).status_code == 302
        assert local_starts(slots(anon, service, "2027-02-01", "2027-02-02")) == [
            "2027-02-01 10:00",
            "2027-02-01 11:00",
        ]


class TestDaylightSaving:
    def test_berlin_hours_keep_their_wall_clock_across_both_changes(self, anon):
        service = ServiceFactory(timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=7, start=time(9), end=time(10))
        for first, last in (("2027-03-21", "2027-04-05"), ("2027-10-24", "2027-11-08")):  # change: 28.3. and 31.10.
            body = slots(anon, service, first, last)
            assert [s[-5:] for s in local_starts(body)] == ["09:00", "09:00", "09:00"]
            assert len({datetime.fromisoformat(s["start"]).utcoffset() for s in body["slots"]}) == 2

    def test_the_skipped_hour_is_never_offered(self, anon):
        service = ServiceFactory(duration_minutes=60, slot_step_minutes=30, timezone="Europe/Berlin")
        WorkingHours.objects.create(service=service, weekday=7, start=time(1), end=time(5))
        starts = [s[-5:] for s in local_starts(slots(anon, service, "2027-03-28", "2027-03-29"))]
        assert starts == ["01:00", "01:30", "03:00", "03:30", "04:00"]

    def test_hours_inside_the_skipped_hour_offer_nothing(self, anon):
        """Berlin skips 02:00-03:00 on 28 March 2027: 02:00, 02:15 and 02:30 never exist, so an
        exception 02:00-02:45 has no start to offer (not 03:00, 03:15 and 03:30, an hour later)."""
        service = ServiceFactory(duration_minutes=15, slot_step_minutes=15, timezone="Europe/Berlin")
        ScheduleException.objects.create(service=service, date=date(2027, 3, 28), start=time(2), end=time(2, 45))
        assert slots(anon, service, "2027-03-28", "2027-03-29")["slots"] == []

    def test_hours_running_into_the_skipped_hour_offer_only_the_starts_before_it(self, anon):
        service = ServiceFactory(duration_minutes=15, slot_step_minutes=15, timezone="Europe/Berlin")
        ScheduleException.objects.create(service=service, date=date(2027, 3, 28), start=time(1), end=time(2, 30))
        starts = [s[-5:] for s in local_starts(slots(anon, service, "2027-03-28", "2027-03-29"))]
        assert starts == ["01:00", "01:15", "01:30", "01:45"]

    def test_a_half_hour_shift_lord_howe(self, anon):
        service = ServiceFactory(duration_minutes=30, timezone="Australia/Lord_Howe")
        WorkingHours.objects.create(service=service, weekday=7, start=time(9), end=time(9, 30))
        body = slots(anon, service, "2027-09-26", "2027-10-11")  # clocks go forward half an hour on 3 October
        assert [s[-5:] for s in local_starts(body)] == ["09:00", "09:00", "09:00"]
        night = ServiceFactory(duration_minutes=30, timezone="Australia/Lord_Howe")
        starts = local_starts(slots(anon, night, "2027-10-03", "2027-10-04"))
        assert "2027-10-03 02:00" not in starts and "2027-10-03 02:30" in starts and len(starts) == 47


# --- Property: what is offered books; what is aligned but not offered fails with the rule that says no ---

NOW = datetime(2027, 3, 26, 6, 0, tzinfo=UTC)  # the window below spans Berlin's change on 28 March
WINDOW = (datetime(2027, 3, 26, tzinfo=UTC), datetime(2027, 3, 30, tzinfo=UTC))
intervals = st.lists(
    st.tuples(st.integers(1, 7), st.integers(0, 46), st.integers(1, 12)), max_size=6
)  # (weekday, start in half hours, length in half hours)
# Hours on the night Berlin skips 02:00-03:00 (Sunday 28 March 2027), as that date's exceptions:
# inside the gap, across its start or its end, or around it (quarter hours from 01:00 to 03:45).
gap_night = st.lists(st.tuples(st.integers(4, 15), st.integers(1, 8)), max_size=3)
policies = st.fixed_dictionaries(
    {
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
        "duration_minutes": st.sampled_from([30, 45, 60, 90]),
        "slot_step_minutes": st.sampled_from([None, 15, 30, 60]),
        "buffer_minutes": st.sampled_from([0, 10, 30]),
        "min_notice_minutes": st.sampled_from([0, 90, 24 * 60]),
        "max_advance_days": st.sampled_from([None, 1, 3]),
    }
)


def weekly_hours(raw) -> list[dict]:
    """Random intervals, overlapping ones dropped (the services refuse those)."""
    kept: list[dict] = []
    for weekday, start, length in raw:
        begin, end = start * 30, min(start * 30 + length * 30, 23 * 60 + 59)
        if end <= begin or any(h["weekday"] == weekday and begin < h["end_m"] and h["start_m"] < end for h in kept):
            continue
        kept.append({"weekday": weekday, "start_m": begin, "end_m": end})
    return [
        {
            "weekday": h["weekday"],
            "start": time(h["start_m"] // 60, h["start_m"] % 60),
            "end": time(h["end_m"] // 60, h["end_m"] % 60),
        }
        for h in kept
    ]


def gap_night_exceptions(raw) -> list[dict]:
    """Random intervals (start, length in quarter hours) on 28 March 2027, overlapping ones dropped."""
    kept: list[tuple[int, int]] = []
    for start, length in raw:
        begin, end = start * 15, start * 15 + length * 15
        if not any(begin < other_end and other_begin < end for other_begin, other_end in kept):
            kept.append((begin, end))
    return [
        {"date": date(2027, 3, 28), "start": time(begin // 60, begin % 60), "end": time(end // 60, end % 60)}
        for begin, end in kept
    ]


def expected_refusal(service, schedule, start, busy, now) -> str:
    """The rule a slot-aligned start not offered must break, worked out independently of the services."""
    end = start + timedelta(minutes=service.duration_minutes)
    if start <= now:
        return "start_in_past"
    if not schedule.allows(start, end):
        return "outside_hours"
    if start < now + timedelta(minutes=service.min_notice_minutes):
        return "too_soon"
    if service.max_advance_days is not None and start > now + timedelta(days=service.max_advance_days):
        return "too_far"
    occupied_end = end + timedelta(minutes=service.buffer_minutes)
    assert any(b_start < occupied_end and start < b_end for b_start, b_end in busy), start
    return "booking_conflict"


def aligned_starts(schedule, service, window=WINDOW):
    """Every wall-clock step of every interval (or of each day) in ``window``, whether or not its slot fits,
    with whether the slot fits that interval's own instants (a wall time the clocks skip moves forward)."""
    first, last = (moment.astimezone(schedule.zone).date() for moment in window)
    length = timedelta(minutes=service.duration_minutes)
    day = first
    while day <= last:
        walls = schedule.wall_intervals(day)
        for wall_start, wall_end in walls or [(time(0), time(23, 59))]:
            low, high = (datetime.combine(day, wall, tzinfo=schedule.zone) for wall in (wall_start, wall_end))
            if walls is None:  # open all day: slots end wherever they end
                high = datetime.max.replace(tzinfo=UTC)
            cursor = datetime.combine(day, wall_start)
            while cursor < datetime.combine(day, wall_end):
                moment = cursor.replace(tzinfo=schedule.zone).astimezone(UTC)
                if moment.astimezone(schedule.zone).replace(tzinfo=None) == cursor and window[0] <= moment < window[1]:
                    yield moment, low <= moment and moment + length <= high
                cursor += timedelta(minutes=service.slot_step)
        day += timedelta(days=1)


def allowed_by_a_neighbour_ending_in_the_gap(schedule, service, start) -> bool:
    """Whether ``start``, a step of an interval it does not fit, is inside another interval of Berlin's
    night without 02:00-03:00. An interval ending in the skipped hour ends when that hour would have
    ended (01:45-02:30 closes at 03:30 summer time), so it allows 03:00, a step of the next interval
    (02:30-03:15, which starts at 03:30 and is empty): bookable, never a step of its own, not offered."""
    allowed = schedule.allows(start, start + timedelta(minutes=service.duration_minutes))
    night = start.astimezone(schedule.zone).date() == date(2027, 3, 28) and schedule.zone == BERLIN
    assert not allowed or night, f"{start}: a step that does not fit its interval is allowed by another"
    return allowed


# Always tried, whatever the draw: hours inside Berlin's skipped hour (02:00-02:45), and across its
# start (01:00-02:30) beside hours from inside it to after it (02:30-03:15).
GAP_NIGHT_POLICY = {
    **{"timezone": "Europe/Berlin", "duration_minutes": 30, "slot_step_minutes": 15, "buffer_minutes": 0},
    **{"min_notice_minutes": 0, "max_advance_days": None},
}


@example(policy=GAP_NIGHT_POLICY, raw_hours=[], raw_night=[(8, 3)], taken=[])
@example(policy=GAP_NIGHT_POLICY, raw_hours=[], raw_night=[(4, 6), (10, 3)], taken=[])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, raw_hours=intervals, raw_night=gap_night, taken=st.lists(st.integers(0, 200), max_size=6))
def test_offered_slots_book_and_the_others_fail_with_their_rule(user, admin_user, policy, raw_hours, raw_night, taken):
    with transaction.atomic():
        service = ServiceFactory(**policy)
        catalog_services.service_update(
            service=service, working_hours=weekly_hours(raw_hours), exceptions=gap_night_exceptions(raw_night)
        )
        service = type(service).objects.prefetch_related("working_hours", "exceptions").get(pk=service.pk)
        schedule = Schedule.of(service)
        offered = selectors.service_availability(service=service, start=WINDOW[0], end=WINDOW[1], now=NOW)
        for index in sorted(set(taken)):  # book some offered slots first, as staff (no notice, no cap)
            if index < len(offered) and offered[index] in selectors.service_availability(
                service=service, start=WINDOW[0], end=WINDOW[1], now=NOW
            ):
                services.booking_create(
                    user=user, service=service, start_time=offered[index], now=NOW, actor=admin_user
                )
        offered = selectors.service_availability(service=service, start=WINDOW[0], end=WINDOW[1], now=NOW)
        busy = [(b.start_time, b.end_time + timedelta(minutes=b.buffer_minutes)) for b in service.bookings.all()]
        for start in offered:
            with transaction.atomic():
                booking = services.booking_create(user=user, service=service, start_time=start, now=NOW)
                assert booking.pk
                transaction.set_rollback(True)
        offered_set, aligned = set(offered), list(aligned_starts(schedule, service))
        assert offered_set <= {start for start, _ in aligned}, "offered a start the clocks skip, or off the steps"
        for start, fits_its_interval in aligned:
            if start in offered_set:
                continue
            if not fits_its_interval and allowed_by_a_neighbour_ending_in_the_gap(schedule, service, start):
                continue
            with pytest.raises(DomainError) as refused, transaction.atomic():
                services.booking_create(user=user, service=service, start_time=start, now=NOW)
            assert refused.value.code == expected_refusal(service, schedule, start, busy, NOW), start
        transaction.set_rollback(True)


def test_property_sees_the_dst_day(user):
    """The property's window really contains a daylight-saving change in Berlin."""
    offsets = {(WINDOW[0] + timedelta(days=d)).astimezone(BERLIN).utcoffset() for d in range(4)}
    assert len(offsets) == 2 and date(2027, 3, 28) < WINDOW[1].date()
