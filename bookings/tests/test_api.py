"""POST/GET/PATCH/DELETE /bookings for anonymous, owner, other user and admin."""

from datetime import timedelta, timezone

import pytest
from rest_framework.renderers import JSONRenderer

from bookings.models import Booking
from bookings.serializers import BookingSerializer
from bookings.tests.factories import BookingFactory, future
from bookit.utc import iso_z as iso
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = Booking.Status


@pytest.fixture
def service():
    return ServiceFactory(duration_minutes=60)


@pytest.fixture
def booking(user):
    return BookingFactory(user=user)


class TestCreate:
    def test_create_returns_201_with_utc_times(self, user_client, user, service):
        start = future()
        response = user_client.post("/bookings", {"service_id": service.id, "start_time": iso(start), "notes": "hi"})
        assert response.status_code == 201
        body = response.json()
        assert body["start_time"] == iso(start)
        assert body["end_time"] == iso(start + timedelta(hours=1))
        assert (body["status"], body["user_id"], body["service_id"]) == ("pending", user.id, service.id)

    def test_unusual_offsets_are_accepted_and_stored_in_utc(self, user_client, service):
        response = user_client.post("/bookings", {"service_id": service.id, "start_time": "2031-01-01T17:06:00+17:06"})
        assert response.status_code == 201
        assert response.json()["start_time"] == "2031-01-01T00:00:00Z"

    def test_offset_times_are_returned_in_utc(self, user_client, service):
        start = future()
        local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).isoformat()
        response = user_client.post("/bookings", {"service_id": service.id, "start_time": local})
        assert response.json()["start_time"] == iso(start)

    def test_time_without_offset_is_400(self, user_client, service):
        naive = future().replace(tzinfo=None).isoformat()
        response = user_client.post("/bookings", {"service_id": service.id, "start_time": naive})
        assert response.status_code == 400
        assert "start_time" in response.json()["errors"]
        assert not Booking.objects.exists()

    def test_overlap_is_409_naming_the_conflict(self, user_client, other_client, service):
        start = future()
        assert user_client.post("/bookings", {"service_id": service.id, "start_time": iso(start)}).status_code == 201
        response = other_client.post(
            "/bookings", {"service_id": service.id, "start_time": iso(start + timedelta(minutes=59))}
        )
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "booking_conflict"
        assert body["detail"] == (
            f"This service is already booked between {iso(start)} and {iso(start + timedelta(hours=1))}."
        )
        assert Booking.objects.count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"start_time": "2030-01-01T10:00:00Z"}, "service_id"),
            ({"service_id": 999999, "start_time": "2030-01-01T10:00:00Z"}, "service_id"),
            ({"service_id": "x", "start_time": "2030-01-01T10:00:00Z"}, "service_id"),
            ({"service_id": "SERVICE", "start_time": "yesterday"}, "start_time"),
            ({"service_id": "SERVICE", "start_time": "2030-13-45T10:00:00Z"}, "start_time"),
            ({"service_id": "SERVICE", "start_time": None}, "start_time"),
            ({"service_id": "SERVICE", "start_time": "0001-01-01T00:30:00+01:00"}, "start_time"),
            ({"service_id": [1], "start_time": "2030-01-01T10:00:00Z"}, "service_id"),
            ({"service_id": 1.5, "start_time": "2030-01-01T10:00:00Z"}, "service_id"),
            ({"service_id": "SERVICE", "start_time": "9999-12-31T23:30:00Z"}, "end_time"),
            ({"service_id": "SERVICE", "start_time": "2001-01-01T10:00:00Z"}, "start_time"),
            (
                {"service_id": "SERVICE", "start_time": "2030-01-01T10:00:00Z", "end_time": "2030-01-01T09:00:00Z"},
                "end_time",
            ),
            ({"service_id": "SERVICE", "start_time": "2030-01-01T10:00:00Z", "notes": "x" * 2001}, "notes"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, user_client, service, body, field):
        body = {k: service.id if v == "SERVICE" else v for k, v in body.items()}
        response = user_client.post("/bookings", body)
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not Booking.objects.exists()

    def test_an_inactive_service_is_an_unknown_id_to_a_customer(self, user_client):
        inactive = ServiceFactory(is_active=False)
        for pk in (inactive.id, inactive.id + 1000):  # hidden, and never existed: one answer
            response = user_client.post("/bookings", {"service_id": pk, "start_time": iso(future())})
            assert response.status_code == 400
            assert response.json() == {
                "status": 400,
                "code": "invalid",
                "detail": f"service_id: No service with id {pk}.",
                "errors": {"service_id": [f"No service with id {pk}."]},
            }

    def test_an_inactive_service_is_409_to_an_admin(self, admin_client):
        service = ServiceFactory(is_active=False)
        response = admin_client.post("/bookings", {"service_id": service.id, "start_time": iso(future())})
        assert response.status_code == 409  # staff see it; as when a booking of it would move
        assert response.json()["code"] == "service_inactive"
        assert "service_id" in response.json()["errors"]

    def test_cannot_book_for_someone_else_or_preset_status(self, user_client, user, other_user, service):
        response = user_client.post(
            "/bookings",
            {
                "service_id": service.id,
                "start_time": iso(future()),
                "user_id": other_user.id,
                "user": other_user.id,
                "status": "confirmed",
            },
        )
        assert response.status_code == 201
        booking = Booking.objects.get()
        assert (booking.user, booking.status) == (user, Status.PENDING)

    def test_anonymous_is_401(self, anon, service):
        assert anon.post("/bookings", {"service_id": service.id, "start_time": iso(future())}).status_code == 401


class TestRead:
    def test_users_see_only_their_own(self, user_client, user, admin_client):
        mine = BookingFactory(user=user)
        theirs = BookingFactory()
        assert [b["id"] for b in user_client.get("/bookings").json()["results"]] == [mine.id]
        assert [b["id"] for b in admin_client.get("/bookings").json()["results"]] == [mine.id, theirs.id]

    def test_ordered_by_start_time(self, user_client, user):
        late = BookingFactory(user=user, start_time=future(50), end_time=future(51))
        early = BookingFactory(user=user, start_time=future(30), end_time=future(31))
        assert [b["id"] for b in user_client.get("/bookings").json()["results"]] == [early.id, late.id]

    def test_filters(self, admin_client, user):
        service = ServiceFactory()
        a = BookingFactory(user=user, service=service, start_time=future(10), end_time=future(12))
        b = BookingFactory(status=Status.CONFIRMED, start_time=future(20), end_time=future(21))

        def ids(query):
            response = admin_client.get(f"/bookings?{query}")
            assert response.status_code == 200, response.json()
            return [row["id"] for row in response.json()["results"]]

        assert ids("status=confirmed") == [b.id]
        assert ids(f"service={service.id}") == [a.id]
        assert ids(f"user={user.id}") == [a.id]
        # from/to select bookings overlapping the window (half-open, like the bookings)
        assert ids(f"from={iso(future(11))}&to={iso(future(11.5))}".replace("+", "%2B")) == [a.id]
        assert ids(f"from={iso(future(12))}") == [b.id]
        assert ids(f"to={iso(future(10))}") == []
        assert ids(f"from={iso(future(0))}&to={iso(future(100))}") == [a.id, b.id]

    @pytest.mark.parametrize(
        "query",
        [
            "status=lost",
            "service=abc",
            "service=1.5",
            "user=2.5",
            "from=yesterday",
            "to=2030-13-45T10:00:00Z",
            "to=0001-01-01T00:00:00%2B01:00",
            "from=2030-01-01T10:00:00",
            "from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z",
        ],
    )
    def test_bad_filters_are_400(self, user_client, query):
        response = user_client.get(f"/bookings?{query}")
        assert response.status_code == 400
        assert response.json()["errors"]

    def test_offsets_postgresql_rejects_are_converted_not_refused(self, user_client, user):
        booking = BookingFactory(user=user)
        window = booking.start_time.astimezone(timezone(timedelta(hours=17, minutes=6))).isoformat()
        response = user_client.get("/bookings", {"from": window})
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [booking.id]

    def test_user_filter_cannot_reveal_others(self, user_client, other_user):
        BookingFactory(user=other_user)
        assert user_client.get(f"/bookings?user={other_user.id}").json()["count"] == 0

    def test_detail_owner_and_admin_only(self, user_client, other_client, admin_client, anon, booking):
        assert user_client.get(f"/bookings/{booking.id}").json()["id"] == booking.id
        assert admin_client.get(f"/bookings/{booking.id}").status_code == 200
        assert other_client.get(f"/bookings/{booking.id}").status_code == 404
        assert anon.get(f"/bookings/{booking.id}").status_code == 401

    def test_write_responses_are_the_serializers_output(self, user_client, service):
        """Writes answer with bookings.serializers.booking_json, not the ModelSerializer: the JSON is the same."""
        body = {"service_id": service.id, "start_time": iso(future(30)), "notes": "Hi ünïcode"}
        created = user_client.post("/bookings", body)
        assert created.status_code == 201
        booking = Booking.objects.select_related("service").get(pk=created.json()["id"])
        assert created.content == JSONRenderer().render(BookingSerializer(booking).data)
        cancelled = user_client.patch(f"/bookings/{booking.id}", {"status": "cancelled", "cancellation_reason": "x"})
        booking.refresh_from_db()
        assert cancelled.content == JSONRenderer().render(BookingSerializer(booking).data)


class TestPatch:
    def test_owner_reschedules(self, user_client, booking):
        start = future(300)
        response = user_client.patch(f"/bookings/{booking.id}", {"start_time": iso(start)})
        assert response.status_code == 200
        assert response.json()["start_time"] == iso(start)
        assert response.json()["end_time"] == iso(start + timedelta(hours=1))

    def test_moving_a_confirmed_booking_makes_it_pending_again(self, user_client, booking):
        booking.status = Status.CONFIRMED
        booking.save()
        response = user_client.patch(f"/bookings/{booking.id}", {"start_time": iso(future(400))})
        assert response.json()["status"] == "pending"

    def test_booking_on_a_deactivated_service_cannot_move(self, user_client, booking):
        booking.service.is_active = False
        booking.service.save()
        response = user_client.patch(f"/bookings/{booking.id}", {"start_time": iso(future(400))})
        assert response.status_code == 409
        assert response.json()["code"] == "service_inactive"

    @pytest.mark.parametrize("start", ["9999-12-31T23:30:00Z", "9999-12-31T23:59:59+00:00"])
    def test_a_move_ending_after_year_9999_is_400(self, user_client, booking, start):
        response = user_client.patch(f"/bookings/{booking.id}", {"start_time": start})
        assert response.status_code == 400
        assert "end_time" in response.json()["errors"]

    def test_reason_without_cancelling_is_400(self, user_client, booking):
        response = user_client.patch(f"/bookings/{booking.id}", {"notes": "x", "cancellation_reason": "why"})
        assert response.status_code == 400
        assert "cancellation_reason" in response.json()["errors"]
        booking.refresh_from_db()
        assert booking.notes == ""

    def test_reschedule_onto_taken_slot_is_409(self, user_client, booking):
        taken = BookingFactory(service=booking.service)
        response = user_client.patch(f"/bookings/{booking.id}", {"start_time": iso(taken.start_time)})
        assert response.status_code == 409
        booking.refresh_from_db()
        assert booking.start_time != taken.start_time

    def test_owner_cancels_with_reason(self, user_client, booking):
        response = user_client.patch(
            f"/bookings/{booking.id}", {"status": "cancelled", "cancellation_reason": "ill", "notes": "sorry"}
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["cancellation_reason"], body["notes"]) == ("cancelled", "ill", "sorry")
        assert body["cancelled_at"]

    @pytest.mark.parametrize("status", ["confirmed", "completed", "pending"])
    def test_other_status_changes_are_400(self, user_client, booking, status):
        response = user_client.patch(f"/bookings/{booking.id}", {"status": status})
        assert response.status_code == 400
        booking.refresh_from_db()
        assert booking.status == Status.PENDING

    def test_cancel_and_reschedule_together_is_400(self, user_client, booking):
        response = user_client.patch(f"/bookings/{booking.id}", {"status": "cancelled", "start_time": iso(future(9))})
        assert response.status_code == 400

    def test_cancelling_a_cancelled_booking_is_409(self, user_client, booking):
        assert user_client.patch(f"/bookings/{booking.id}", {"status": "cancelled"}).status_code == 200
        response = user_client.patch(f"/bookings/{booking.id}", {"status": "cancelled"})
        assert response.status_code == 409
        assert "cancelled" in response.json()["detail"]

    def test_owner_and_service_cannot_change(self, user_client, user, other_user, booking):
        original_service = booking.service_id
        other_service = ServiceFactory()
        response = user_client.patch(
            f"/bookings/{booking.id}", {"notes": "n", "user_id": other_user.id, "service_id": other_service.id}
        )
        assert response.status_code == 200
        booking.refresh_from_db()
        assert (booking.user, booking.service_id, booking.notes) == (user, original_service, "n")

    def test_other_user_gets_404_and_admin_may_edit(self, other_client, admin_client, booking):
        assert other_client.patch(f"/bookings/{booking.id}", {"notes": "x"}).status_code == 404
        assert admin_client.patch(f"/bookings/{booking.id}", {"notes": "staff note"}).json()["notes"] == "staff note"

    def test_empty_patch_is_400(self, user_client, booking):
        assert user_client.patch(f"/bookings/{booking.id}", {}).status_code == 400


class TestStatusEndpoint:
    def test_admin_confirms(self, admin_client, booking):
        response = admin_client.patch(f"/bookings/{booking.id}/status", {"status": "confirmed"})
        assert response.status_code == 200
        assert response.json()["status"] == "confirmed"

    def test_invalid_transition_is_409_naming_current_status(self, admin_client, booking):
        response = admin_client.patch(f"/bookings/{booking.id}/status", {"status": "completed"})
        assert response.status_code == 409
        assert "pending" in response.json()["detail"]

    def test_users_get_403(self, user_client, booking):
        assert user_client.patch(f"/bookings/{booking.id}/status", {"status": "confirmed"}).status_code == 403
        booking.refresh_from_db()
        assert booking.status == Status.PENDING

    def test_reason_with_another_status_is_400(self, admin_client, booking):
        response = admin_client.patch(
            f"/bookings/{booking.id}/status", {"status": "confirmed", "cancellation_reason": "x"}
        )
        assert response.status_code == 400
        assert "cancellation_reason" in response.json()["errors"]

    def test_unknown_status_is_400(self, admin_client, booking):
        assert admin_client.patch(f"/bookings/{booking.id}/status", {"status": "lost"}).status_code == 400

    def test_unknown_booking_is_404(self, admin_client):
        assert admin_client.patch("/bookings/999999/status", {"status": "confirmed"}).status_code == 404


class TestDelete:
    @pytest.mark.parametrize(
        ("status", "expected"),
        [(Status.PENDING, 204), (Status.CANCELLED, 204), (Status.CONFIRMED, 409), (Status.COMPLETED, 409)],
    )
    def test_owner_deletes_pending_or_cancelled_only(self, user_client, user, status, expected):
        booking = BookingFactory(user=user, status=status)
        assert user_client.delete(f"/bookings/{booking.id}").status_code == expected
        assert Booking.objects.filter(pk=booking.id).exists() == (expected == 409)

    def test_admin_deletes_any_booking_without_review(self, admin_client):
        booking = BookingFactory(status=Status.CONFIRMED)
        assert admin_client.delete(f"/bookings/{booking.id}").status_code == 204

    def test_other_user_gets_404(self, other_client, booking):
        assert other_client.delete(f"/bookings/{booking.id}").status_code == 404
        assert Booking.objects.filter(pk=booking.id).exists()


class TestDeleteKeepsTheCancellationRules:
    """An owner's delete of a pending booking frees its slot as a cancellation does, on a cancellation's terms."""

    @staticmethod
    def answer(response) -> tuple[int, str | None]:
        return response.status_code, response.json()["code"] if response.content else None

    @pytest.mark.parametrize(
        ("cutoff_hours", "starts_in_hours", "code"),
        [(48, 30, "cancellation_cutoff"), (0, -1, "booking_started"), (48, -1, "booking_started")],
        ids=["inside the cutoff", "started", "started, inside the cutoff"],
    )
    def test_the_owner_gets_the_cancellations_409_and_the_slot_stays_taken(
        self, user, user_client, service, cutoff_hours, starts_in_hours, code
    ):
        service.cancellation_cutoff_hours = cutoff_hours
        service.save()
        booking = BookingFactory(user=user, service=service, start_time=future(starts_in_hours))
        cancelled = user_client.patch(f"/bookings/{booking.id}", {"status": "cancelled"})
        deleted = user_client.delete(f"/bookings/{booking.id}")
        assert self.answer(deleted) == self.answer(cancelled) == (409, code)
        assert Booking.objects.get(pk=booking.id).status == Status.PENDING
        retaken = user_client.post("/bookings", {"service_id": service.id, "start_time": iso(booking.start_time)})
        assert retaken.status_code in (400, 409)  # still held (or in the past): nothing was freed

    def test_outside_the_cutoff_the_owner_deletes(self, user, user_client, service):
        service.cancellation_cutoff_hours = 24
        service.save()
        booking = BookingFactory(user=user, service=service, start_time=future(30))
        assert user_client.delete(f"/bookings/{booking.id}").status_code == 204
        assert not Booking.objects.filter(pk=booking.id).exists()

    @pytest.mark.parametrize("starts_in_hours", [30, -1], ids=["inside the cutoff", "started"])
    def test_a_cancelled_booking_holds_no_slot_so_its_owner_deletes_it_any_time(
        self, user, user_client, service, starts_in_hours
    ):
        service.cancellation_cutoff_hours = 48
        service.save()
        booking = BookingFactory(user=user, service=service, start_time=future(starts_in_hours), status="cancelled")
        assert user_client.delete(f"/bookings/{booking.id}").status_code == 204

    @pytest.mark.parametrize("starts_in_hours", [30, -1], ids=["inside the cutoff", "started"])
    def test_staff_keep_their_override(self, admin_client, service, starts_in_hours):
        service.cancellation_cutoff_hours = 48
        service.save()
        booking = BookingFactory(service=service, start_time=future(starts_in_hours))
        assert admin_client.delete(f"/bookings/{booking.id}").status_code == 204
        assert not Booking.objects.filter(pk=booking.id).exists()


def test_service_with_bookings_cannot_be_deleted(admin_client):
    booking = BookingFactory()
    response = admin_client.delete(f"/services/{booking.service_id}")
    assert response.status_code == 409
    assert "deactivate" in response.json()["detail"]
