"""The resource admin: writes through catalog.services, and a read-only day page of each resource's bookings."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.factories import UserFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory
from catalog.localtime import local_today
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/catalog/resource/"
INLINES = {
    f"{prefix}-{name}": value
    for prefix in ("working_hours", "exceptions")
    for name, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MIN_NUM_FORMS", 0), ("MAX_NUM_FORMS", 1000))
}
# A Monday in winter: Berlin is on CET (UTC+1).
MONDAY = datetime(2031, 1, 13, tzinfo=UTC)


def form(**fields) -> dict:
    return {"name": "Ann", "kind": "staff", "is_active": "on", "timezone": "Europe/Berlin", **INLINES, **fields}


def day_url(resource: Resource, day: str | None = None) -> str:
    return f"{CHANGELIST}{resource.pk}/day/" + (f"?date={day}" if day else "")


def book(resource: Resource, start: datetime, **fields) -> Booking:
    service = fields.pop("service", None) or resource.services.first()
    return BookingFactory(
        service=service, resource=resource, start_time=start, end_time=start + timedelta(hours=1), **fields
    )


@pytest.fixture
def berlin():
    """Ann, a stylist in Berlin, delivering a cut (its service's zone is UTC)."""
    ann = Resource.objects.create(name="Ann", timezone="Europe/Berlin")
    ann.services.add(ServiceFactory(name="Cut"))
    return ann


class TestChangelistAndForms:
    def test_lists_name_kind_state_services_and_a_day_link(self, staff_client, berlin):
        berlin.services.add(ServiceFactory(name="Colour"))
        page = staff_client.get(CHANGELIST).content.decode()
        for text in ("Ann", "Staff", "Colour, Cut", "Europe/Berlin", f'href="{day_url(berlin)}"'):
            assert text in page

    def test_filters_and_search(self, staff_client, berlin):
        Resource.objects.create(name="Projector", kind="equipment", is_active=False)

        def listed(**params):
            return sorted(r.name for r in staff_client.get(CHANGELIST, params).context["cl"].result_list)

        assert listed(q="proj") == ["Projector"]
        assert listed(kind__exact="equipment") == ["Projector"]
        cut = berlin.services.get()
        assert listed(is_active__exact="1", services__id__exact=cut.pk) == ["Ann", "Cut"]  # and the service's own

    def test_query_count_does_not_grow_with_rows(self, staff_client, django_assert_max_num_queries):
        Resource.objects.create(name="R")
        with django_assert_max_num_queries(20) as few:
            assert staff_client.get(CHANGELIST).status_code == 200
        for n in range(30):
            Resource.objects.create(name=f"R{n}").services.add(*ServiceFactory.create_batch(2))
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert staff_client.get(CHANGELIST).status_code == 200

    def test_add_and_change_through_the_services(self, staff_client):
        cut, colour = ServiceFactory(), ServiceFactory()
        hours = {
            "working_hours-TOTAL_FORMS": 1,
            "working_hours-0-weekday": 1,
            "working_hours-0-start": "09:00",
            "working_hours-0-end": "17:00",
        }
        response = staff_client.post(CHANGELIST + "add/", {**form(services=[cut.pk]), **hours})
        assert response.status_code == 302
        ann = Resource.objects.get(name="Ann")
        assert list(ann.services.all()) == [cut]
        assert [(h.weekday, h.start, h.end, h.service_id) for h in ann.working_hours.all()] == [
            (1, time(9), time(17), None)
        ]
        change = form(name="Ann B.", services=[cut.pk, colour.pk])
        change.update({"working_hours-TOTAL_FORMS": 0})
        assert staff_client.post(f"{CHANGELIST}{ann.pk}/change/", change).status_code == 302
        ann.refresh_from_db()
        assert ann.name == "Ann B." and set(ann.services.all()) == {cut, colour}

    def test_bad_zone_and_overlapping_hours_are_form_errors(self, staff_client):
        response = staff_client.post(CHANGELIST + "add/", form(timezone="Mars/Olympus"))
        assert "timezone" in response.context["adminform"].form.errors
        overlapping = {
            "working_hours-TOTAL_FORMS": 2,
            **{f"working_hours-0-{k}": v for k, v in (("weekday", 1), ("start", "09:00"), ("end", "12:00"))},
            **{f"working_hours-1-{k}": v for k, v in (("weekday", 1), ("start", "11:00"), ("end", "13:00"))},
        }
        response = staff_client.post(CHANGELIST + "add/", {**form(), **overlapping})
        assert response.status_code == 200 and response.context["inline_admin_formsets"][0].formset.non_form_errors()
        assert not Resource.objects.filter(name="Ann").exists()

    def test_a_resource_with_bookings_is_not_deleted(self, staff_client, berlin):
        book(berlin, MONDAY.replace(hour=9))
        staff_client.post(f"{CHANGELIST}{berlin.pk}/delete/", {"post": "yes"})
        assert Resource.objects.filter(pk=berlin.pk).exists()

    def test_the_change_page_links_to_the_day_page(self, staff_client, berlin):
        page = staff_client.get(f"{CHANGELIST}{berlin.pk}/change/").content.decode()
        assert f'href="{day_url(berlin)}"' in page


class TestDayPage:
    def test_lists_the_days_bookings_in_the_resources_local_time(self, staff_client, berlin):
        ann = book(berlin, MONDAY.replace(hour=9), user=UserFactory(full_name="Ann Customer", email="ann@example.com"))
        book(berlin, MONDAY.replace(hour=23, minute=30))  # 00:30 on Tuesday in Berlin
        book(berlin, MONDAY - timedelta(hours=2, minutes=30))  # 22:30 to 23:30 on Sunday in Berlin
        late = book(berlin, MONDAY - timedelta(hours=1, minutes=30))  # Sunday 23:30 to Monday 00:30 in Berlin
        book(Resource.objects.create(name="Bob"), MONDAY.replace(hour=9), service=berlin.services.get())

        response = staff_client.get(day_url(berlin, "2031-01-13"))
        assert response.status_code == 200
        rows = response.context["rows"]
        assert [row["booking"].pk for row in rows] == [late.pk, ann.pk]
        assert (rows[1]["start"], rows[1]["end"]) == ("10:00 CET", "11:00 CET")  # 09:00Z
        assert rows[0]["start"] == "Sun 12 Jan 2031, 23:30 CET"  # another day: dated
        page = response.content.decode()
        for text in ("10:00 CET - 11:00 CET", "Cut", "Ann Customer (ann@example.com)", "Pending"):
            assert text in page
        assert 'href="?date=2031-01-12"' in page and 'href="?date=2031-01-14"' in page

    def test_the_next_day_lists_the_booking_after_local_midnight(self, staff_client, berlin):
        after_midnight = book(berlin, MONDAY.replace(hour=23, minute=30))
        rows = staff_client.get(day_url(berlin, "2031-01-14")).context["rows"]
        assert [(row["booking"].pk, row["start"]) for row in rows] == [(after_midnight.pk, "00:30 CET")]

    def test_a_group_sessions_seats_link_to_its_attendees(self, staff_client, berlin):
        class_ = ServiceFactory(name="Yoga", capacity=5)
        berlin.services.add(class_)
        for seat in (1, 2):
            book(berlin, MONDAY.replace(hour=9), service=class_, seat=seat)
        rows = staff_client.get(day_url(berlin, "2031-01-13")).context["rows"]
        assert [row["seat"] for row in rows] == [1, 2]
        attendees = staff_client.get(f"/admin/bookings/booking/?{rows[0]['session_query']}")
        assert len(attendees.context["cl"].result_list) == 2

    def test_defaults_to_today_where_the_resource_is(self, staff_client, berlin):
        response = staff_client.get(day_url(berlin))
        assert response.context["day"] == local_today("Europe/Berlin")
        bad = staff_client.get(day_url(berlin, "2031-13-40"))
        assert bad.context["day"] == local_today("Europe/Berlin")
        assert "Not a date" in bad.content.decode()

    def test_query_count_does_not_grow_with_bookings(self, staff_client, berlin, django_assert_num_queries):
        book(berlin, MONDAY.replace(hour=8))
        # The session, the staff member; the resource, its bookings with their services and customers.
        with django_assert_num_queries(4):
            assert staff_client.get(day_url(berlin, "2031-01-13")).status_code == 200
        for hour in range(9, 20):
            book(berlin, MONDAY.replace(hour=hour), service=ServiceFactory())
        with django_assert_num_queries(4):
            assert len(staff_client.get(day_url(berlin, "2031-01-13")).context["rows"]) == 12

    def test_unknown_resource_goes_back_to_the_list(self, staff_client):
        for pk in ("999999", "abc"):
            assert staff_client.get(f"{CHANGELIST}{pk}/day/").status_code == 302

    def test_staff_only(self, client, berlin):
        assert client.get(day_url(berlin)).status_code == 302  # to the login page
        customer = Client()
        customer.force_login(UserFactory())
        assert customer.get(day_url(berlin))["Location"].startswith("/admin/login/")
        staff_without_rights = Client()
        staff_without_rights.force_login(UserFactory(is_staff=True))
        assert staff_without_rights.get(day_url(berlin)).status_code == 403
        reader = UserFactory(is_staff=True)
        reader.user_permissions.add(Permission.objects.get(codename="view_resource"))
        reading = Client()
        reading.force_login(reader)
        assert reading.get(day_url(berlin)).status_code == 200
