"""Recurring bookings (issue 21): all or nothing, each occurrence judged as a single booking, on the wall clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from bookings.models import Booking, BookingEvent, BookingSeries
from bookings.selectors import overlapping_pairs
from bookings.tests.factories import BookingFactory, future
from bookit.tests.http import race, request, token_for
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory
from conftest import client_for

pytestmark = pytest.mark.django_db


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/bookings/series", body, format="json", **headers)


def weekly(service, start, count=10, **extra):
    return {"service_id": service.id, "start_time": iso_z(start), "recurrence": f"FREQ=WEEKLY;COUNT={count}", **extra}


def next_year_on(month: int, day: int, hour: int, minute: int = 0, *, tz=UTC) -> datetime:
    """A moment on ``month``/``day`` of next year, as the clocks in ``tz`` show it (always in the future)."""
    return datetime(timezone.now().year + 1, month, day, hour, minute, tzinfo=tz)


def test_a_weekly_series_books_every_occurrence_with_its_series_id(user, user_client):
    service = ServiceFactory()
    start = future(48)
    answer = post(user_client, weekly(service, start))
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    series = BookingSeries.objects.get()
    assert body["id"] == series.pk and body["recurrence"] == "FREQ=WEEKLY;COUNT=10"
    assert body["service_id"] == service.id and body["skipped"] == []
    assert [o["start_time"] for o in body["occurrences"]] == [iso_z(start + timedelta(weeks=i)) for i in range(10)]
    assert {o["verdict"] for o in body["occurrences"]} == {"ok"}
    bookings = Booking.objects.filter(series=series).order_by("start_time")
    assert [b.pk for b in bookings] == [o["booking_id"] for o in body["occurrences"]]
    assert all(b.user_id == user.pk for b in bookings)
    one = user_client.get(f"/bookings/{bookings[0].pk}").json()
    assert one["series_id"] == series.pk
    single = user_client.post("/bookings", {"service_id": service.id, "start_time": iso_z(future(30))}, format="json")
    assert single.json()["series_id"] is None
    listed = user_client.get("/bookings").json()["results"]
    assert sorted(row["series_id"] or 0 for row in listed) == [0] + [series.pk] * 10


def test_fail_books_nothing_and_lists_every_verdict(user_client):
    service = ServiceFactory()
    start = future(48)
    taken = BookingFactory(service=service, start_time=start + timedelta(weeks=3))
    answer = post(user_client, weekly(service, start, count=5))
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "series_conflict" and body["status"] == 409 and body["detail"]
    verdicts = [o["verdict"] for o in body["occurrences"]]
    assert verdicts == ["ok", "ok", "ok", "booking_conflict", "ok"]
    assert all(o["booking_id"] is None for o in body["occurrences"])
    assert list(Booking.objects.values_list("pk", flat=True)) == [taken.pk]
    assert not BookingSeries.objects.exists()
    assert BookingEvent.objects.count() == 0  # the factory writes no event; the series left none either


def test_skip_reports_exactly_the_refused_occurrences_with_their_codes(user_client):
    service = ServiceFactory(max_advance_days=30)
    start = future(48)
    BookingFactory(service=service, start_time=start + timedelta(weeks=1, minutes=30))
    answer = post(user_client, weekly(service, start, count=6, on_conflict="skip"))
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    # Week 1 overlaps a booking; the weeks beyond the 30-day horizon are too far.
    too_far = {i for i in range(6) if start + timedelta(weeks=i) > timezone.now() + timedelta(days=30)}
    expected = {1: "booking_conflict", **dict.fromkeys(too_far, "too_far")}
    skipped = [(o["start_time"], o["verdict"]) for o in body["skipped"]]
    assert skipped == [(iso_z(start + timedelta(weeks=i)), code) for i, code in sorted(expected.items())]
    assert all(o["booking_id"] is None for o in body["skipped"])
    booked = [o for o in body["occurrences"] if o["verdict"] == "ok"]
    assert len(booked) == 6 - len(expected)
    assert Booking.objects.filter(series_id=body["id"]).count() == len(booked)
    assert user_client.get(f"/bookings/series/{body['id']}").json()["skipped"] == body["skipped"]


def test_skip_with_nothing_bookable_is_a_series_conflict(user_client):
    service = ServiceFactory()
    start = future(48)
    BookingFactory(service=service, start_time=start)
    answer = post(user_client, weekly(service, start, count=1, on_conflict="skip"))
    assert answer.status_code == 409 and answer.json()["code"] == "series_conflict"
    assert not BookingSeries.objects.exists()


def test_the_per_user_cap_counts_each_occurrence(user_client):
    service = ServiceFactory(max_active_bookings_per_user=3)
    answer = post(user_client, weekly(service, future(48), count=5, on_conflict="skip"))
    assert answer.status_code == 201
    assert [o["verdict"] for o in answer.json()["occurrences"]] == ["ok"] * 3 + ["too_many_active"] * 2


def test_each_occurrence_meets_the_working_hours(user_client):
    service = ServiceFactory(timezone="UTC")
    service.working_hours.create(weekday=1, start="09:00", end="17:00")  # Mondays only
    monday = next_year_on(1, 1, 10)
    monday += timedelta(days=(7 - monday.weekday()) % 7)
    body = {
        "service_id": service.id,
        "start_time": iso_z(monday),
        "recurrence": "FREQ=DAILY;COUNT=3",
        "dry_run": True,
    }
    answer = user_client.post("/bookings/series", body, format="json")
    assert answer.status_code == 200
    assert [o["verdict"] for o in answer.json()["occurrences"]] == ["ok", "outside_hours", "outside_hours"]


def test_berlin_ten_oclock_weekly_stays_ten_local_across_both_changes(user_client):
    service = ServiceFactory(timezone="Europe/Berlin")
    year = timezone.now().year + 1
    # Weekly from early March to November of next year: both changes (last Sundays of March and October).
    first = datetime(year, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 CET
    body = {
        "service_id": service.id,
        "start_time": iso_z(first),
        "recurrence": f"FREQ=WEEKLY;INTERVAL=4;UNTIL={year}1201T000000Z",
    }
    answer = user_client.post("/bookings/series", body, format="json")
    assert answer.status_code == 201, answer.json()
    berlin = ZoneInfo("Europe/Berlin")
    starts = [datetime.fromisoformat(o["start_time"]) for o in answer.json()["occurrences"]]
    assert {start.astimezone(berlin).strftime("%H:%M") for start in starts} == {"10:00"}
    hours_utc = [start.hour for start in starts]
    summer = [s for s in starts if s.astimezone(berlin).utcoffset() == timedelta(hours=2)]
    assert summer and len(summer) < len(starts)  # some on each side of a change
    assert hours_utc == [8 if s in summer else 9 for s in starts]
    assert hours_utc[0] == 9 and hours_utc[-1] == 9 and 8 in hours_utc


def test_a_nonexistent_local_time_is_reported_never_shifted(user_client):
    service = ServiceFactory(timezone="America/New_York")
    year = timezone.now().year + 1
    # 02:30 daily across the second Sunday of March, when New York's clocks skip 02:00-03:00.
    second_sunday = next(day for day in (datetime(year, 3, d) for d in range(8, 15)) if day.weekday() == 6)
    first = (second_sunday - timedelta(days=1)).replace(hour=2, minute=30, tzinfo=ZoneInfo("America/New_York"))
    body = {"service_id": service.id, "start_time": iso_z(first), "recurrence": "FREQ=DAILY;COUNT=3"}
    refused = post(user_client, body)  # on_conflict "fail": the missing hour refuses the whole series
    assert refused.status_code == 409 and refused.json()["code"] == "series_conflict"
    assert [o["verdict"] for o in refused.json()["occurrences"]] == ["ok", "nonexistent_local_time", "ok"]
    assert not Booking.objects.exists()
    answer = post(user_client, {**body, "on_conflict": "skip"})
    assert answer.status_code == 201, answer.json()
    occurrences = answer.json()["occurrences"]
    assert [o["verdict"] for o in occurrences] == ["ok", "nonexistent_local_time", "ok"]
    assert [o["verdict"] for o in answer.json()["skipped"]] == ["nonexistent_local_time"]
    booked = Booking.objects.filter(series_id=answer.json()["id"]).order_by("start_time")
    new_york = ZoneInfo("America/New_York")
    assert [b.start_time.astimezone(new_york).strftime("%d %H:%M") for b in booked] == [
        f"{second_sunday.day - 1:02d} 02:30",
        f"{second_sunday.day + 1:02d} 02:30",
    ]


@pytest.mark.parametrize(
    ("rule", "part"),
    [
        ("FREQ=YEARLY;COUNT=2", "FREQ"),
        ("FREQ=WEEKLY;COUNT=53", "COUNT"),
        ("FREQ=DAILY;BYDAY=MO;COUNT=2", "BYDAY"),
        ("FREQ=WEEKLY;UNTIL=20991231T000000Z", "UNTIL"),
        ("garbage", "garbage"),
        ("FREQ=WEEKLY", "COUNT"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20991231", "COUNT"),
        ("FREQ=WEEKLY;COUNT=2;BYMONTHDAY=3", "BYMONTHDAY"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=2", "INTERVAL"),
        ("FREQ=DAILY;UNTIL=20991301", "UNTIL"),
    ],
)
def test_a_bad_recurrence_is_a_400_naming_the_part(user_client, rule, part):
    service = ServiceFactory(max_advance_days=365)
    answer = post(user_client, {"service_id": service.id, "start_time": iso_z(future(48)), "recurrence": rule})
    assert answer.status_code == 400, answer.json()
    body = answer.json()
    assert body["code"] == "bad_recurrence" and body["detail"].startswith(f"{part}:")
    assert body["errors"] == {"recurrence": [body["detail"]]}
    assert not BookingSeries.objects.exists()


def test_more_than_52_occurrences_by_until_is_refused(user_client):
    service = ServiceFactory()
    until = (future(48) + timedelta(days=60)).strftime("%Y%m%dT%H%M%SZ")
    answer = post(
        user_client,
        {"service_id": service.id, "start_time": iso_z(future(48)), "recurrence": f"FREQ=DAILY;UNTIL={until}"},
    )
    assert answer.status_code == 400 and answer.json()["code"] == "bad_recurrence"


def test_a_dry_run_writes_nothing_and_says_it_may_change(user_client):
    service = ServiceFactory()
    start = future(48)
    BookingFactory(service=service, start_time=start + timedelta(weeks=2))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        jobs_before = cursor.fetchone()[0]
    answer = post(user_client, weekly(service, start, count=4, dry_run=True))
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] is None and "may change" in body["note"]
    assert [o["verdict"] for o in body["occurrences"]] == ["ok", "ok", "booking_conflict", "ok"]
    assert all(o["booking_id"] is None for o in body["occurrences"])
    assert [o["verdict"] for o in body["skipped"]] == ["booking_conflict"]
    assert Booking.objects.count() == 1 and not BookingSeries.objects.exists()
    assert BookingEvent.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        assert cursor.fetchone()[0] == jobs_before


def test_get_shows_each_occurrence_with_its_status(user_client, admin_client):
    service = ServiceFactory()
    body = post(user_client, weekly(service, future(48), count=3)).json()
    first = body["occurrences"][0]["booking_id"]
    admin_client.patch(f"/bookings/{first}/status", {"status": "confirmed"}, format="json")
    shown = user_client.get(f"/bookings/series/{body['id']}")
    assert shown.status_code == 200
    occurrences = shown.json()["occurrences"]
    assert [o["status"] for o in occurrences] == ["confirmed", "pending", "pending"]
    assert [o["booking_id"] for o in occurrences] == [o["booking_id"] for o in body["occurrences"]]
    assert admin_client.get(f"/bookings/series/{body['id']}").status_code == 200


def test_another_users_series_is_404_to_read_and_to_cancel(user_client, other_client):
    body = post(user_client, weekly(ServiceFactory(), future(48), count=2)).json()
    assert other_client.get(f"/bookings/series/{body['id']}").status_code == 404
    answer = other_client.post(f"/bookings/series/{body['id']}/cancel", {}, format="json")
    assert answer.status_code == 404
    assert not Booking.objects.filter(status="cancelled").exists()
    assert client_for(None).get(f"/bookings/series/{body['id']}").status_code == 401


def test_cancel_this_and_following_leaves_earlier_occurrences_untouched(user_client):
    body = post(user_client, weekly(ServiceFactory(), future(48), count=5)).json()
    starts = [o["start_time"] for o in body["occurrences"]]
    answer = user_client.post(
        f"/bookings/series/{body['id']}/cancel", {"from": starts[2], "reason": "Moving away"}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    assert [o["status"] for o in answer.json()["occurrences"]] == ["pending"] * 2 + ["cancelled"] * 3
    assert answer.json()["not_cancelled"] == []
    cancelled = Booking.objects.filter(series_id=body["id"], status="cancelled")
    assert {b.cancellation_reason for b in cancelled} == {"Moving away"}
    events = BookingEvent.objects.filter(action="cancelled")
    assert sorted(e.booking_id for e in events) == sorted(b.pk for b in cancelled)
    assert all(e.in_digest for e in events)


def test_cancel_leaves_occurrences_inside_the_cutoff_unless_staff(user_client, admin_client):
    service = ServiceFactory(cancellation_cutoff_hours=72)
    body = post(user_client, {**weekly(service, future(30), count=3)}).json()
    answer = user_client.post(f"/bookings/series/{body['id']}/cancel", {}, format="json")
    assert answer.status_code == 200
    left = answer.json()["not_cancelled"]
    assert [(o["booking_id"], o["verdict"]) for o in left] == [
        (body["occurrences"][0]["booking_id"], "cancellation_cutoff")
    ]
    assert [o["status"] for o in answer.json()["occurrences"]] == ["pending", "cancelled", "cancelled"]
    by_staff = admin_client.post(f"/bookings/series/{body['id']}/cancel", {}, format="json")
    assert by_staff.json()["not_cancelled"] == []
    assert [o["status"] for o in by_staff.json()["occurrences"]] == ["cancelled"] * 3


def test_an_idempotent_replay_books_the_series_once(user_client):
    service = ServiceFactory()
    body = weekly(service, future(48), count=4)
    first = post(user_client, body, key="series-1")
    again = post(user_client, body, key="series-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert BookingSeries.objects.count() == 1 and Booking.objects.count() == 4
    cancel = {"reason": "no"}
    url = f"/bookings/series/{first.json()['id']}/cancel"
    once = user_client.post(url, cancel, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    twice = user_client.post(url, cancel, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert once.status_code == twice.status_code == 200 and twice["Idempotent-Replayed"] == "true"
    assert BookingEvent.objects.filter(action="cancelled").count() == 4


def test_a_series_on_a_named_resource_keeps_it(user_client):
    service = ServiceFactory()
    resource = service.resources.get()
    answer = post(user_client, weekly(service, future(48), count=2, resource_id=resource.id))
    assert answer.status_code == 201
    assert BookingSeries.objects.get().resource_id == resource.id
    assert set(Booking.objects.values_list("resource_id", flat=True)) == {resource.id}


@pytest.mark.django_db(transaction=True)
def test_a_series_racing_single_bookings_is_all_or_nothing(live_server):
    """A 10-week series against single bookings of its slots from many threads: 10 rows or none, never overlap."""
    service = ServiceFactory()
    start = future(48)
    tokens = [token_for(UserFactory()) for _ in range(12)]
    series_body = weekly(service, start, count=10)
    calls = [lambda t=tokens[0]: request("POST", f"{live_server.url}/bookings/series", token=t, body=series_body)]
    for i, token in enumerate(tokens[1:], start=1):
        single = {"service_id": service.id, "start_time": iso_z(start + timedelta(weeks=i % 10, minutes=15 * (i % 3)))}
        calls.append(lambda t=token, b=single: request("POST", f"{live_server.url}/bookings", token=t, body=b))
    results = race(calls)
    assert all(status in (201, 409) for status, _ in results), results
    series_status, series_answer = results[0]
    in_series = Booking.objects.filter(series__isnull=False).count()
    if series_status == 201:
        assert in_series == 10 and Booking.objects.filter(series_id=series_answer["id"]).count() == 10
    else:
        assert series_answer["code"] == "series_conflict" and in_series == 0
        assert not BookingSeries.objects.exists()
    singles = [status for status, _ in results[1:]]
    assert Booking.objects.filter(series__isnull=True).count() == singles.count(201)
    assert overlapping_pairs(service_id=service.id) == []
