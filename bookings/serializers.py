from rest_framework import serializers

from bookings.models import Booking
from bookit.api.fields import AwareDateTimeField
from bookit.api.rows import RowRenderer
from catalog.models import Service


class BookingSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    service_id = serializers.IntegerField(read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "user_id",
            "service_id",
            "service_name",
            "start_time",
            "end_time",
            "status",
            "notes",
            "cancelled_at",
            "cancellation_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


_renderer = RowRenderer(BookingSerializer)


def booking_json(booking: Booking) -> dict:
    """``BookingSerializer``'s output for one booking whose service is loaded, as the writes return it."""
    return _renderer.render_one({**booking.__dict__, "service_name": booking.service.name})


class BookingCreateSerializer(serializers.Serializer):
    service_id = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.defer("search_vector"),  # only `?q=` reads it
        pk_field=serializers.IntegerField(),  # 2.5 is an error, not service 2
        source="service",
        error_messages={"does_not_exist": "No service with id {pk_value}."},
    )
    start_time = AwareDateTimeField()
    end_time = AwareDateTimeField(required=False, help_text="Defaults to start_time + the service's duration.")
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class BookingUpdateSerializer(serializers.Serializer):
    """Reschedule, edit notes, or cancel. Owner, service and other statuses cannot change here."""

    start_time = AwareDateTimeField(required=False)
    end_time = AwareDateTimeField(required=False)
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    status = serializers.ChoiceField(
        choices=[Booking.Status.CANCELLED],
        required=False,
        help_text="Only `cancelled`; other moves go through PATCH /bookings/{id}/status (staff).",
    )
    cancellation_reason = serializers.CharField(max_length=500, allow_blank=True, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to change.")
        return attrs


class BookingStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    cancellation_reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
