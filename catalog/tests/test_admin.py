"""The service admin: catalog.services behind the forms and the bulk actions."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from catalog.models import Service
from catalog.services import WRITABLE_FIELDS
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/catalog/service/"
POLICY = {"timezone": "UTC", "buffer_minutes": 0, "min_notice_minutes": 0, "cancellation_cutoff_hours": 0}
INLINES = {
    f"{prefix}-{name}": value
    for prefix in ("working_hours", "exceptions")
    for name, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MIN_NUM_FORMS", 0), ("MAX_NUM_FORMS", 1000))
}
FORM = {
    **{"name": "Sauna", "description": "Finnish sauna", "price": "15.00", "duration_minutes": 30, "is_active": "on"},
    "capacity": 1,
    **POLICY,
    **INLINES,
}


def listed(client, **params) -> list[str]:
    return [service.name for service in client.get(CHANGELIST, params).context["cl"].result_list]


def test_search_by_name_and_description(staff_client):
    ServiceFactory(name="Sauna", description="Hot room")
    ServiceFactory(name="Tennis court", description="Rackets available")
    assert listed(staff_client, q="sauna") == ["Sauna"]
    assert listed(staff_client, q="rackets") == ["Tennis court"]


def test_filter_by_active(staff_client):
    ServiceFactory(name="Open")
    ServiceFactory(name="Closed", is_active=False)
    assert listed(staff_client, is_active__exact="0") == ["Closed"]


def test_add_and_change_through_the_form(staff_client):
    assert staff_client.post(CHANGELIST + "add/", FORM).status_code == 302
    service = Service.objects.get()
    assert (service.name, service.price, service.duration_minutes) == ("Sauna", Decimal("15.00"), 30)
    response = staff_client.post(f"{CHANGELIST}{service.pk}/change/", {**FORM, "price": "18.50"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.price == Decimal("18.50")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_minutes", 0, "Duration must be between 1 and 1440 minutes."),
        ("duration_minutes", 1441, "Duration must be between 1 and 1440 minutes."),
        ("price", "-1", "Price cannot be negative."),
    ],
)
def test_out_of_range_values_are_form_errors(staff_client, field, value, message):
    # The database's check constraints, as model validation reports them (above the form).
    response = staff_client.post(CHANGELIST + "add/", {**FORM, field: value})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"__all__": [message]}
    assert not Service.objects.exists()


def test_timestamps_are_read_only(staff_client):
    form = staff_client.get(f"{CHANGELIST}{ServiceFactory().pk}/change/").context["adminform"].form
    assert set(form.fields) == set(WRITABLE_FIELDS) - {"working_hours", "exceptions"}


def test_bulk_deactivate_and_activate(staff_client):
    first, second = ServiceFactory(), ServiceFactory(is_active=False)
    selected = [first.pk, second.pk]
    response = staff_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": selected})
    assert [m.message for m in get_messages(response.wsgi_request)] == ["1 service(s) deactivated."]
    assert not Service.objects.filter(is_active=True).exists()
    staff_client.post(CHANGELIST, {"action": "activate", "_selected_action": selected})
    assert Service.objects.filter(is_active=True).count() == 2


def test_delete_a_service_without_bookings(staff_client):
    service = ServiceFactory()
    assert staff_client.post(f"{CHANGELIST}{service.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Service.objects.exists()


def hours_rows(*rows) -> dict:
    data = {"working_hours-TOTAL_FORMS": len(rows)}
    for n, (weekday, start, end) in enumerate(rows):
        data.update({f"working_hours-{n}-weekday": weekday, f"working_hours-{n}-start": start})
        data[f"working_hours-{n}-end"] = end
    return data


def test_weekly_hours_inline_saves_through_the_service(staff_client):
    service = ServiceFactory()
    url = f"{CHANGELIST}{service.pk}/change/"
    data = {**FORM, **hours_rows((1, "09:00", "12:00"), (1, "13:00", "17:00")), "timezone": "Europe/Berlin"}
    assert staff_client.post(url, data).status_code == 302
    hours = [(h.weekday, f"{h.start:%H:%M}", f"{h.end:%H:%M}") for h in service.working_hours.all()]
    assert hours == [(1, "09:00", "12:00"), (1, "13:00", "17:00")]
    service.refresh_from_db()
    assert service.timezone == "Europe/Berlin"


def test_overlapping_hours_are_a_form_error_and_change_nothing(staff_client):
    service = ServiceFactory(name="Before")
    url = f"{CHANGELIST}{service.pk}/change/"
    data = {**FORM, "name": "After", **hours_rows((2, "09:00", "12:00"), (2, "11:00", "14:00"))}
    response = staff_client.post(url, data)
    assert response.status_code == 200
    [formset] = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "working_hours"]
    assert "intervals overlap" in str(formset.formset.non_form_errors())
    service.refresh_from_db()
    assert (service.name, service.working_hours.count()) == ("Before", 0)


def test_unknown_time_zone_is_a_form_error(staff_client):
    response = staff_client.post(CHANGELIST + "add/", {**FORM, "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert not Service.objects.exists()


def test_admin_header_names_bookit(staff_client):
    assert b"BookIt administration" in staff_client.get("/admin/").content


def test_hours_inline_offers_weekday_names_and_hhmm_times(staff_client):
    service = ServiceFactory()
    service.working_hours.create(weekday=1, start="09:00", end="12:30")
    service.exceptions.create(date="2030-12-24", start="10:00", end="13:00")
    page = staff_client.get(f"{CHANGELIST}{service.pk}/change/").content.decode()
    assert '<option value="1" selected>Monday</option>' in page
    assert '<option value="7">Sunday</option>' in page
    assert 'name="working_hours-0-start" value="09:00"' in page
    assert 'name="working_hours-0-end" value="12:30"' in page
    assert 'name="exceptions-0-start" value="10:00"' in page
    assert "Monday 09:00-12:30" in page  # the row's title
    assert "09:00:00" not in page


def test_hours_posted_as_hhmm_names_keep_iso_numbers(staff_client):
    service = ServiceFactory()
    url = f"{CHANGELIST}{service.pk}/change/"
    data = {**FORM, **hours_rows((7, "08:15", "11:45"))}
    data.update({"exceptions-TOTAL_FORMS": 1, "exceptions-0-date": "2030-12-24"})  # closed: no times
    assert staff_client.post(url, data).status_code == 302
    assert [(h.weekday, f"{h.start:%H:%M:%S}") for h in service.working_hours.all()] == [(7, "08:15:00")]
    assert [(e.start, e.end) for e in service.exceptions.all()] == [(None, None)]
    body = APIClient().get(f"/services/{service.pk}").json()
    assert [row["weekday"] for row in body["working_hours"]] == [7]  # the API's ISO numbers, as before


def test_a_weekday_that_is_no_choice_is_a_form_error(staff_client):
    service = ServiceFactory()
    response = staff_client.post(f"{CHANGELIST}{service.pk}/change/", {**FORM, **hours_rows((8, "09:00", "10:00"))})
    assert response.status_code == 200
    [formset] = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "working_hours"]
    assert "weekday" in formset.formset.errors[0]
    assert not service.working_hours.exists()
