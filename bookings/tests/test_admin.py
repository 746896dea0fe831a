"""The booking admin: the same rules as the API, shown as form errors and messages, never a 500."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages

from bookings.models import Booking
from bookings.tests.factories import BookingFactory, future
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status
CHANGELIST = "/admin/bookings/booking/"
ADD = CHANGELIST + "add/"


def split(name: str, moment) -> dict:
    """The admin's split date/time inputs for one datetime field (blank for None)."""
    return {
        f"{name}_0": moment.strftime("%Y-%m-%d") if moment else "",
        f"{name}_1": moment.strftime("%H:%M:%S") if moment else "",
    }


def add_data(*, user, service, start, end=None, notes="") -> dict:
    times = {**split("start_time", start), **split("end_time", end)}
    return {"user": user.pk, "service": service.pk, **times, "notes": notes}


def change_data(booking: Booking, **changes) -> dict:
    values = {
        "start_time": booking.start_time,
        "end_time": booking.end_time,
        "status": booking.status,
        "cancellation_reason": booking.cancellation_reason,
        "notes": booking.notes,
        **changes,
    }
    return {
        **split("start_time", values["start_time"]),
        **split("end_time", values["end_time"]),
        "status": values["status"],
        "cancellation_reason": values["cancellation_reason"],
        "notes": values["notes"],
        # The read-only history inline posts no rows, only its management form.
        **{"events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0},
    }


def form_errors(response) -> dict:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.context["adminform"].form.errors


def texts(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def act(client, action: str, *bookings):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [b.pk for b in bookings]})


class TestChangelist:
    def test_lists_bookings_with_user_service_times_and_status(self, staff_client):
        booking = BookingFactory(service__name="Sauna", user__email="ann@example.com")
        page = staff_client.get(CHANGELIST).content.decode()
        for column in ("ann@example.com", "Sauna", f"{booking.start_time:%H:%M}", "Pending"):
            assert column in page

    def test_query_count_does_not_grow_with_rows(self, staff_client, django_assert_max_num_queries):
        BookingFactory.create_batch(2)
        with django_assert_max_num_queries(20) as few:
            assert staff_client.get(CHANGELIST).status_code == 200
        BookingFactory.create_batch(98)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert len(staff_client.get(CHANGELIST).context["cl"].result_list) == 100

    def test_search_by_user_email_and_service_name(self, staff_client):
        ann = BookingFactory(user__email="ann@example.com", service__name="Sauna")
        bob = BookingFactory(user__email="bob@example.com", service__name="Tennis court")
        for term, expected in (("ann@", ann), ("tennis", bob)):
            assert list(staff_client.get(CHANGELIST, {"q": term}).context["cl"].result_list) == [expected]

    def test_filters_by_status_service_and_date(self, staff_client):
        pending = BookingFactory()
        confirmed = BookingFactory(status=Status.CONFIRMED)
        later = BookingFactory(start_time=future(24 * 400), end_time=future(24 * 400 + 1))

        def listed(**params):
            return set(staff_client.get(CHANGELIST, params).context["cl"].result_list)

        assert listed(status__exact="confirmed") == {confirmed}
        assert listed(service__id__exact=pending.service_id) == {pending}
        year = later.start_time.year  # the factory's service is in UTC: its local year is UTC's
        assert later in listed(start_local=str(year))  # the date hierarchy's links
        assert pending not in listed(start_local=str(year))

    def test_autocomplete_finds_users_and_services(self, staff_client):
        BookingFactory(user__email="ann@example.com", service__name="Sauna")
        for field, term, text in (("user", "ann@example", "ann@example.com"), ("service", "sau", "Sauna")):
            response = staff_client.get(
                "/admin/autocomplete/",
                {"app_label": "bookings", "model_name": "booking", "field_name": field, "term": term},
            )
            assert [row["text"] for row in response.json()["results"]] == [text]


class TestAddForm:
    def test_new_booking_is_pending_and_lasts_the_service_duration(self, staff_client, user):
        service = ServiceFactory(duration_minutes=45)
        start = future(48)
        response = staff_client.post(ADD, add_data(user=user, service=service, start=start, notes="window seat"))
        assert response.status_code == 302
        booking = Booking.objects.get()
        assert (booking.user, booking.status, booking.notes) == (user, Status.PENDING, "window seat")
        assert (booking.start_time, booking.end_time) == (start, start + timedelta(minutes=45))

    def test_overlap_is_an_error_on_the_time_fields(self, staff_client, user):
        taken = BookingFactory()
        data = add_data(user=user, service=taken.service, start=taken.start_time + timedelta(minutes=30))
        errors = form_errors(staff_client.post(ADD, data))
        assert set(errors) == {"start_time", "end_time"}
        assert "already booked" in errors["start_time"][0]
        assert Booking.objects.count() == 1

    def test_start_in_the_past_is_an_error_on_start_time(self, staff_client, user):
        errors = form_errors(staff_client.post(ADD, add_data(user=user, service=ServiceFactory(), start=future(-2))))
        assert set(errors) == {"start_time"}
        assert not Booking.objects.exists()

    def test_end_before_start_is_an_error_on_end_time(self, staff_client, user):
        start = future(48)
        data = add_data(user=user, service=ServiceFactory(), start=start, end=start - timedelta(hours=1))
        assert set(form_errors(staff_client.post(ADD, data))) == {"end_time"}

    def test_inactive_service_is_an_error_on_service(self, staff_client, user):
        data = add_data(user=user, service=ServiceFactory(is_active=False), start=future(48))
        assert set(form_errors(staff_client.post(ADD, data))) == {"service"}

    def test_add_form_has_no_status_nor_timestamps(self, staff_client):
        fields = staff_client.get(ADD).context["adminform"].form.fields
        assert set(fields) == {"user", "service", "resource", "start_time", "end_time", "notes"}


class TestChangeForm:
    def url(self, booking):
        return f"{CHANGELIST}{booking.pk}/change/"

    def test_reschedule_goes_through_the_rules(self, staff_client):
        booking = BookingFactory()
        new_start = booking.start_time + timedelta(days=3)
        response = staff_client.post(self.url(booking), change_data(booking, start_time=new_start, end_time=None))
        assert response.status_code == 302
        booking.refresh_from_db()
        assert (booking.start_time, booking.end_time) == (new_start, new_start + timedelta(hours=1))

    def test_reschedule_onto_a_taken_slot_is_an_error_on_the_time_fields(self, staff_client):
        taken, booking = BookingFactory(), BookingFactory()
        booking.service = taken.service
        booking.save()
        data = change_data(booking, start_time=taken.start_time, end_time=taken.end_time)
        errors = form_errors(staff_client.post(self.url(booking), data))
        assert set(errors) == {"start_time", "end_time"}
        booking.refresh_from_db()
        assert booking.start_time != taken.start_time

    def test_status_moves_along_the_workflow(self, staff_client):
        booking = BookingFactory()
        assert staff_client.post(self.url(booking), change_data(booking, status="confirmed")).status_code == 302
        booking.refresh_from_db()
        assert booking.status == Status.CONFIRMED

    def test_invalid_transition_is_an_error_on_status(self, staff_client):
        booking = BookingFactory()
        errors = form_errors(staff_client.post(self.url(booking), change_data(booking, status="completed")))
        assert set(errors) == {"status"}
        assert "pending booking cannot become completed" in errors["status"][0]
        booking.refresh_from_db()
        assert booking.status == Status.PENDING

    def test_cancel_with_a_reason(self, staff_client):
        booking = BookingFactory(status=Status.CONFIRMED)
        data = change_data(booking, status="cancelled", cancellation_reason="Storm")
        assert staff_client.post(self.url(booking), data).status_code == 302
        booking.refresh_from_db()
        assert (booking.status, booking.cancellation_reason) == (Status.CANCELLED, "Storm")
        assert booking.cancelled_at is not None

    def test_a_failing_status_change_undoes_the_other_changes(self, staff_client):
        booking = BookingFactory()
        data = change_data(booking, notes="new notes", status="completed")
        assert set(form_errors(staff_client.post(self.url(booking), data))) == {"status"}
        booking.refresh_from_db()
        assert booking.notes == ""

    @pytest.mark.parametrize("status", ["pending", "confirmed"])
    def test_reason_without_cancelling_is_an_error(self, staff_client, status):
        booking = BookingFactory()
        data = change_data(booking, status=status, cancellation_reason="why")
        assert set(form_errors(staff_client.post(self.url(booking), data))) == {"cancellation_reason"}
        booking.refresh_from_db()
        assert (booking.status, booking.cancellation_reason) == (Status.PENDING, "")

    def test_final_booking_cannot_be_rescheduled(self, staff_client):
        booking = BookingFactory(status=Status.CANCELLED)
        data = change_data(booking, start_time=booking.start_time + timedelta(days=1), end_time=None)
        errors = form_errors(staff_client.post(self.url(booking), data))
        assert "cancelled booking cannot be rescheduled" in errors["__all__"][0]

    def test_unchanged_form_saves_nothing_and_succeeds(self, staff_client):
        booking = BookingFactory(status=Status.COMPLETED, start_time=future(-3), end_time=future(-2))
        updated = booking.updated_at
        assert staff_client.post(self.url(booking), change_data(booking)).status_code == 302
        booking.refresh_from_db()
        assert booking.updated_at == updated

    def test_user_service_and_timestamps_are_read_only(self, staff_client):
        booking = BookingFactory()
        form = staff_client.get(self.url(booking)).context["adminform"].form
        assert set(form.fields) == {"start_time", "end_time", "status", "cancellation_reason", "notes"}


class TestActions:
    def test_confirm_moves_the_pending_and_reports_the_rest(self, staff_client):
        pending = BookingFactory()
        done = BookingFactory(status=Status.COMPLETED)
        response = act(staff_client, "confirm", pending, done)
        assert response.status_code == 302
        pending.refresh_from_db()
        done.refresh_from_db()
        assert (pending.status, done.status) == (Status.CONFIRMED, Status.COMPLETED)
        (success, success_text), (warning, warning_text) = texts(response)
        assert (success, success_text) == ("success", "1 booking(s) confirmed.")
        assert warning == "warning"
        assert f"#{done.pk}" in warning_text
        assert "completed booking cannot become confirmed" in warning_text

    def test_complete_refuses_bookings_that_have_not_ended(self, staff_client):
        ended = BookingFactory(status=Status.CONFIRMED, start_time=future(-3), end_time=future(-2))
        upcoming = BookingFactory(status=Status.CONFIRMED)
        response = act(staff_client, "complete", ended, upcoming)
        ended.refresh_from_db()
        upcoming.refresh_from_db()
        assert (ended.status, upcoming.status) == (Status.COMPLETED, Status.CONFIRMED)
        assert "only after it has ended" in texts(response)[1][1]

    def test_cancel_records_who_cancelled(self, staff_client):
        booking = BookingFactory(status=Status.CONFIRMED)
        act(staff_client, "cancel", booking)
        booking.refresh_from_db()
        assert (booking.status, booking.cancellation_reason) == (Status.CANCELLED, "Cancelled by staff.")

    def test_nothing_movable_gives_only_a_warning(self, staff_client):
        response = act(staff_client, "cancel", BookingFactory(status=Status.CANCELLED))
        assert [level for level, _ in texts(response)] == ["warning"]


class TestDelete:
    def test_staff_delete_a_booking(self, staff_client):
        booking = BookingFactory(status=Status.CONFIRMED)
        response = staff_client.post(f"{CHANGELIST}{booking.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Booking.objects.exists()

    def test_bulk_delete(self, staff_client):
        bookings = BookingFactory.create_batch(2)
        act_data = {"action": "delete_selected", "_selected_action": [b.pk for b in bookings], "post": "yes"}
        assert staff_client.post(CHANGELIST, act_data).status_code == 302
        assert not Booking.objects.exists()


class TestResourcesAndSeats:
    """The booking admin shows each booking's resource and seat, and lets staff choose a new booking's resource."""

    def test_list_shows_and_filters_by_resource_and_seat(self, staff_client):
        class_ = ServiceFactory(name="Yoga", capacity=3)
        studio = Resource.objects.create(name="Studio A")
        studio.services.add(class_)
        seated = BookingFactory(service=class_, resource=studio, seat=2)
        other = BookingFactory()
        response = staff_client.get(CHANGELIST)
        rows = {booking.pk: booking for booking in response.context["cl"].result_list}
        assert set(rows) == {seated.pk, other.pk}
        page = response.content.decode()
        assert "Studio A" in page and 'class="field-seat">2<' in page
        filtered = staff_client.get(CHANGELIST, {"resource__id__exact": studio.pk}).context["cl"].result_list
        assert list(filtered) == [seated]

    def test_a_new_booking_goes_on_the_chosen_resource(self, staff_client, user):
        service = ServiceFactory()
        ann, bob = (Resource.objects.create(name=name) for name in ("Ann", "Bob"))
        for resource in (ann, bob):
            resource.services.add(service)
        data = {**add_data(user=user, service=service, start=future(48)), "resource": bob.pk}
        assert staff_client.post(ADD, data).status_code == 302
        assert Booking.objects.get().resource == bob

    def test_without_a_resource_any_available_one_is_picked(self, staff_client, user):
        taken = BookingFactory()
        service = taken.service
        spare = Resource.objects.create(name="Spare")
        spare.services.add(service)
        data = add_data(user=user, service=service, start=taken.start_time)
        assert staff_client.post(ADD, data).status_code == 302
        assert Booking.objects.exclude(pk=taken.pk).get().resource == spare

    def test_a_resource_that_does_not_deliver_the_service_is_an_error_on_resource(self, staff_client, user):
        stranger = Resource.objects.create(name="Elsewhere")
        data = {**add_data(user=user, service=ServiceFactory(), start=future(48)), "resource": stranger.pk}
        errors = form_errors(staff_client.post(ADD, data))
        assert set(errors) == {"resource"}
        assert not Booking.objects.exists()

    def test_a_booking_keeps_its_resource_and_seat_read_only(self, staff_client):
        booking = BookingFactory()
        response = staff_client.get(f"{CHANGELIST}{booking.pk}/change/")
        assert "resource" not in response.context["adminform"].form.fields
        assert booking.resource.name in response.content.decode()

    def test_a_sessions_attendees_are_the_list_filtered_by_service_and_start(self, staff_client):
        class_ = ServiceFactory(capacity=3)
        studio = class_.resources.get()
        start = future(72)
        attendees = [
            BookingFactory(
                service=class_, resource=studio, start_time=start, end_time=start + timedelta(hours=1), seat=n
            )
            for n in (1, 2)
        ]
        later = start + timedelta(hours=2)
        BookingFactory(service=class_, resource=studio, start_time=later, end_time=later + timedelta(hours=1), seat=1)
        BookingFactory(start_time=start, end_time=start + timedelta(hours=1))  # another service at that time
        params = {"service__id__exact": class_.pk, "start_time": start.isoformat()}
        response = staff_client.get(CHANGELIST, params)
        assert response.status_code == 200
        assert sorted(b.pk for b in response.context["cl"].result_list) == sorted(b.pk for b in attendees)
