"""The booking admin speaks the service's local time: lists, forms, filters and messages, across DST."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from bookings import selectors
from bookings.models import Booking, BookingEvent
from bookings.tests.factories import BookingFactory, zone_at_midday
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status
CHANGELIST = "/admin/bookings/booking/"
BERLIN = "Europe/Berlin"
YEAR = timezone.now().year + 1  # dates ahead, so the booking rules let them move
WINTER = datetime(YEAR, 1, 15, 9, 0, tzinfo=UTC)  # 10:00 CET
SUMMER = datetime(YEAR, 7, 15, 9, 0, tzinfo=UTC)  # 11:00 CEST


def last_sunday_of_march(year: int) -> date:
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def last_sunday_of_october(year: int) -> date:
    day = date(year, 10, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def berlin_booking(start: datetime = WINTER, **kwargs) -> Booking:
    return BookingFactory(service__timezone=BERLIN, start_time=start, end_time=start + timedelta(hours=1), **kwargs)


def url(booking: Booking) -> str:
    return f"{CHANGELIST}{booking.pk}/change/"


def local_inputs(name: str, day: str, clock: str) -> dict:
    return {f"{name}_0": day, f"{name}_1": clock}


def form_data(booking: Booking, **inputs) -> dict:
    """The change form as the browser posts it: the times as shown (local), with ``inputs`` replacing some."""
    page = {
        **local_inputs("start_time", *shown(booking.start_time, booking.service.timezone)),
        **local_inputs("end_time", *shown(booking.end_time, booking.service.timezone)),
        "status": booking.status,
        "cancellation_reason": booking.cancellation_reason,
        "notes": booking.notes,
        **{"events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0},
    }
    return {**page, **inputs}


def shown(moment: datetime, tz_name: str) -> tuple[str, str]:
    local = moment.astimezone(zoneinfo.ZoneInfo(tz_name))
    return f"{local:%Y-%m-%d}", f"{local:%H:%M:%S}"


def errors(response) -> dict:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors


class TestShown:
    @pytest.mark.parametrize(("start", "clock"), [(WINTER, "10:00 CET"), (SUMMER, "11:00 CEST")])
    def test_list_shows_the_services_local_time(self, staff_client, start, clock):
        berlin_booking(start)
        page = staff_client.get(CHANGELIST).content.decode()
        assert f"{start:%a} {start.day} {start:%b %Y}, {clock}" in page
        assert f"{start:%H:%M}" not in page  # the UTC clock appears nowhere

    def test_each_row_shows_its_own_zone(self, staff_client):
        berlin_booking()
        BookingFactory(service__timezone="America/New_York", start_time=WINTER + timedelta(hours=2))
        page = staff_client.get(CHANGELIST).content.decode()
        assert "10:00 CET" in page
        assert "06:00 EST" in page

    @pytest.mark.parametrize(("start", "clock"), [(WINTER, "10:00:00"), (SUMMER, "11:00:00")])
    def test_change_form_shows_and_names_the_local_time(self, staff_client, start, clock):
        booking = berlin_booking(start)
        response = staff_client.get(url(booking))
        form = response.context["adminform"].form
        assert form["start_time"].value() == datetime(start.year, start.month, start.day, int(clock[:2]))
        assert f'name="start_time_1" value="{clock}"' in response.content.decode()
        assert "Europe/Berlin time" in form.fields["start_time"].help_text
        assert "Europe/Berlin time" in form.fields["end_time"].help_text

    def test_timestamps_on_the_page_are_local(self, staff_client):
        booking = berlin_booking(status=Status.CANCELLED, cancelled_at=WINTER - timedelta(days=3))
        page = staff_client.get(url(booking)).content.decode()
        cancelled = WINTER - timedelta(days=3)
        assert f"{cancelled:%a} {cancelled.day} {cancelled:%b %Y}, 10:00 CET" in page

    def test_action_messages_name_the_local_time(self, staff_client):
        booking = berlin_booking(status=Status.COMPLETED)
        response = staff_client.post(CHANGELIST, {"action": "confirm", "_selected_action": [booking.pk]})
        [warning] = [m.message for m in get_messages(response.wsgi_request)]
        assert f"#{booking.pk} {booking.service.name}, {WINTER:%a} {WINTER.day} {WINTER:%b %Y}, 10:00 CET" in warning


class TestTyped:
    def test_an_unchanged_save_keeps_the_instant_and_writes_nothing(self, staff_client):
        booking = berlin_booking()
        updated, events = booking.updated_at, BookingEvent.objects.count()
        assert staff_client.post(url(booking), form_data(booking)).status_code == 302
        booking.refresh_from_db()
        assert (booking.start_time, booking.updated_at) == (WINTER, updated)
        assert BookingEvent.objects.count() == events

    def test_an_edit_is_read_in_the_services_zone(self, staff_client):
        booking = berlin_booking()
        day = f"{WINTER:%Y-%m-%d}"
        data = form_data(booking, **local_inputs("start_time", day, "10:30"), **local_inputs("end_time", "", ""))
        assert staff_client.post(url(booking), data).status_code == 302
        booking.refresh_from_db()
        assert (booking.start_time, booking.end_time) == (
            WINTER + timedelta(minutes=30),
            WINTER + timedelta(minutes=90),
        )

    def test_summer_times_are_two_hours_ahead(self, staff_client):
        booking = berlin_booking(SUMMER)
        data = form_data(booking, **local_inputs("start_time", f"{SUMMER:%Y-%m-%d}", "10:30"))
        data.update(local_inputs("end_time", f"{SUMMER:%Y-%m-%d}", "11:30"))
        assert staff_client.post(url(booking), data).status_code == 302
        booking.refresh_from_db()
        assert booking.start_time == datetime(YEAR, 7, 15, 8, 30, tzinfo=UTC)

    def test_a_time_the_clocks_skip_is_a_form_error(self, staff_client):
        booking = berlin_booking()
        spring = f"{last_sunday_of_march(YEAR):%Y-%m-%d}"
        data = form_data(booking, **local_inputs("start_time", spring, "02:30"), **local_inputs("end_time", "", ""))
        [message] = errors(staff_client.post(url(booking), data))["start_time"]
        assert "does not exist in Europe/Berlin" in message
        booking.refresh_from_db()
        assert booking.start_time == WINTER

    def test_a_time_the_clocks_show_twice_is_a_form_error(self, staff_client):
        booking = berlin_booking()
        autumn = f"{last_sunday_of_october(YEAR):%Y-%m-%d}"
        data = form_data(booking, **local_inputs("start_time", autumn, "02:30"), **local_inputs("end_time", "", ""))
        [message] = errors(staff_client.post(url(booking), data))["start_time"]
        assert "is ambiguous in Europe/Berlin" in message

    def test_a_booking_in_the_repeated_hour_saves_unchanged(self, staff_client):
        # 01:30 UTC is the second 02:30 that night: the form shows 02:30, which it could not read back.
        start = datetime.combine(last_sunday_of_october(YEAR), datetime.min.time(), tzinfo=UTC) + timedelta(hours=1.5)
        booking = berlin_booking(start)
        data = form_data(booking, notes="window seat")
        assert data["start_time_1"] == "02:30:00"
        assert staff_client.post(url(booking), data).status_code == 302
        booking.refresh_from_db()
        assert (booking.start_time, booking.notes) == (start, "window seat")

    def test_a_new_booking_is_read_in_its_services_zone(self, staff_client, user):
        service = ServiceFactory(timezone=BERLIN)
        data = {"user": user.pk, "service": service.pk, "notes": ""}
        data.update(local_inputs("start_time", f"{WINTER:%Y-%m-%d}", "10:00"), **local_inputs("end_time", "", ""))
        assert staff_client.post(CHANGELIST + "add/", data).status_code == 302
        assert Booking.objects.get().start_time == WINTER


class TestLocalDates:
    """Filters and the date hierarchy go by each booking's local date in its service's zone."""

    def listed(self, client, **params) -> set[Booking]:
        return set(client.get(CHANGELIST, params).context["cl"].result_list)

    def test_a_day_is_the_services_local_day(self, staff_client):
        late = datetime(YEAR, 1, 14, 23, 30, tzinfo=UTC)  # 00:30 on the 15th in Berlin
        berlin = berlin_booking(late)
        utc = BookingFactory(start_time=late, end_time=late + timedelta(hours=1))
        assert self.listed(staff_client, start_local=f"{YEAR}-01-15") == {berlin}
        assert self.listed(staff_client, start_local=f"{YEAR}-01-14") == {utc}
        new_year = datetime(YEAR, 12, 31, 23, 30, tzinfo=UTC)
        moved = berlin_booking(new_year)  # Berlin's new year
        assert moved in self.listed(staff_client, start_local=str(YEAR + 1))
        assert moved not in self.listed(staff_client, start_local=str(YEAR))
        assert self.listed(staff_client, start_local=f"{YEAR + 1}-01") == {moved}

    def test_hierarchy_links_drill_down_by_local_dates(self, staff_client):
        berlin_booking(datetime(YEAR, 1, 31, 23, 30, tzinfo=UTC))  # 1 Feb in Berlin
        berlin_booking(SUMMER)
        page = staff_client.get(CHANGELIST, {"start_local": str(YEAR)}).content.decode()
        assert f"?start_local={YEAR}-02" in page
        assert f"?start_local={YEAR}-07" in page
        assert f"?start_local={YEAR}-01" not in page
        page = staff_client.get(CHANGELIST, {"start_local": f"{YEAR}-02"}).content.decode()
        assert f"?start_local={YEAR}-02-01" in page

    def test_unknown_date_is_the_admins_error_page(self, staff_client):
        assert staff_client.get(CHANGELIST, {"start_local": "soon"})["Location"].endswith("?e=1")

    def test_today_is_each_services_own_today(self):
        now = datetime(YEAR, 1, 14, 23, 0, tzinfo=UTC)  # already the 15th in Berlin, still the 14th in UTC
        berlin_tonight = berlin_booking(datetime(YEAR, 1, 14, 22, 0, tzinfo=UTC))  # 23:00 on the 14th
        berlin_morning = berlin_booking(datetime(YEAR, 1, 15, 8, 0, tzinfo=UTC))  # 09:00 on the 15th
        utc_tonight = BookingFactory(start_time=now, end_time=now + timedelta(minutes=30))
        today = selectors.booking_filter_local_days_from_today(Booking.objects.all(), first=0, last=0, now=now)
        assert set(today) == {berlin_morning, utc_tonight}
        yesterday = selectors.booking_filter_local_days_from_today(Booking.objects.all(), first=-1, last=-1, now=now)
        assert set(yesterday) == {berlin_tonight}

    def test_the_today_filter_lists_bookings_starting_today(self, staff_client):
        now = timezone.now()
        service = ServiceFactory(timezone=zone_at_midday(now))
        today = BookingFactory(service=service, start_time=now, end_time=now + timedelta(minutes=30))
        BookingFactory(service=service, start_time=now + timedelta(days=1), end_time=now + timedelta(days=1, hours=1))
        assert self.listed(staff_client, start_local="today") == {today}
        assert len(self.listed(staff_client, start_local="next7")) == 2
