from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookings.models import Booking, BookingEvent
from bookings.rules import UNKNOWN_SERVICE
from bookings.series import DRY_RUN_NOTE
from bookit.api.error_responses import OccurrenceVerdictSerializer
from bookit.api.fields import AwareDateTimeField
from bookit.api.rows import RowRenderer
from bookit.api.serializers import InputSerializer
from catalog.models import Service
from catalog.selectors import service_by_id_with_schedule, service_visible
from catalog.timezones import is_known_timezone


class ResourceRefSerializer(serializers.Serializer):
    """The resource a booking holds."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class BookingSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    service_id = serializers.IntegerField(read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    resource = ResourceRefSerializer(read_only=True)
    seat = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Its seat in a group session (capacity above 1); null otherwise."
    )
    series_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The recurring booking it belongs to; null for a single booking."
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "user_id",
            "service_id",
            "service_name",
            "resource",
            "seat",
            "series_id",
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
    """``BookingSerializer``'s output for one booking whose service and resource are loaded (as writes return it)."""
    resource = {"id": booking.resource_id, "name": booking.resource.name}
    return _renderer.render_one({**booking.__dict__, "service_name": booking.service.name, "resource": resource})


class ServiceIdField(serializers.PrimaryKeyRelatedField):
    """A service id, read as the service with its schedule (one fixed query): what the booking rules need.

    A service that ``context["user"]`` cannot see is an unknown id.
    """

    def to_internal_value(self, data):
        pk = self.pk_field.to_internal_value(data)
        service = service_by_id_with_schedule(pk)
        if service is None or not service_visible(service, user=self.context.get("user")):
            self.fail("does_not_exist", pk_value=pk)
        return service


RESOURCE_ID = serializers.IntegerField(
    required=False,
    help_text="The resource to book (it must deliver the service and work then); "
    "without it, any available one: free, and with the fewest bookings that day.",
)


class BookingCreateSerializer(InputSerializer):
    """``context["user"]`` books: a service that user cannot see (an inactive one, unless staff) is an unknown id.

    The catalog hides inactive services from customers, so booking one must not
    reveal it either: the same 400 as for an id that never existed. Staff see
    every service and get ``bookings.rules.check_bookable``'s 409 instead.
    """

    service_id = ServiceIdField(
        queryset=Service.objects.all(),  # the schema's; the lookup is ServiceIdField's
        pk_field=serializers.IntegerField(),  # 2.5 is an error, not service 2
        source="service",
        error_messages={"does_not_exist": UNKNOWN_SERVICE},
    )
    start_time = AwareDateTimeField()
    end_time = AwareDateTimeField(required=False, help_text="Defaults to start_time + the service's duration.")
    resource_id = RESOURCE_ID
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class BookingUpdateSerializer(InputSerializer):
    """Reschedule, edit notes, or cancel. Owner, service and other statuses cannot change here."""

    start_time = AwareDateTimeField(required=False)
    end_time = AwareDateTimeField(required=False)
    resource_id = serializers.IntegerField(
        required=False, help_text="Move to this resource; a move otherwise stays on its own when free."
    )
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


class BookingStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    cancellation_reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


# WindowBoundField in the schema: generated clients take a date or a date-time (``?from=`` and ``?to=``).
WINDOW_BOUND = {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}


@extend_schema_field(WINDOW_BOUND)
class WindowBoundField(serializers.Field):
    """A date (midnight at its start, in the answer's zone) or a date-time with a UTC offset."""

    default_error_messages = {"invalid": "Give a date (2027-01-05) or a date-time with an offset."}

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data.strip()) == 10:
            try:
                return date.fromisoformat(data.strip())
            except ValueError:
                self.fail("invalid")
        return AwareDateTimeField().to_internal_value(data)


class AvailabilityQuerySerializer(InputSerializer):
    """``?from=&to=&tz=`` of GET /services/{id}/availability; ``context["zone"]`` is the service's zone."""

    to = WindowBoundField()
    tz = serializers.CharField(required=False, max_length=64)

    MAX_DAYS = 31
    EARLIEST, LATEST = datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)

    def get_fields(self):
        return {"from": WindowBoundField(), **super().get_fields()}  # `from` is a Python keyword

    def validate_tz(self, value):
        if not is_known_timezone(value):
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name such as Europe/Berlin.")
        return value

    def validate(self, attrs):
        zone = ZoneInfo(attrs.get("tz") or self.context["zone"])
        try:
            start, end = (self._instant(attrs[name], zone) for name in ("from", "to"))
        except OverflowError:
            raise serializers.ValidationError({"from": "This window is out of range."}) from None
        if start < self.EARLIEST or end > self.LATEST:  # room for a day's slots and buffers either side
            raise serializers.ValidationError({"from": "Ask for a window between the years 2 and 9998."})
        if end <= start:
            raise serializers.ValidationError({"to": "`to` must be after `from`."})
        if end - start > timedelta(days=self.MAX_DAYS):
            raise serializers.ValidationError({"to": f"A window covers at most {self.MAX_DAYS} days."})
        return {"start": start, "end": end, "zone": zone}

    @staticmethod
    def _instant(bound, zone: ZoneInfo) -> datetime:
        if isinstance(bound, datetime):
            return bound
        return datetime.combine(bound, time(0), tzinfo=zone).astimezone(UTC)


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="ISO 8601 with the offset of the answer's zone.")
    end = serializers.DateTimeField()


class AvailabilitySerializer(serializers.Serializer):
    service_id = serializers.IntegerField()
    timezone = serializers.CharField(help_text="The zone of the slots' offsets: `tz`, else the service's.")
    slots = SlotSerializer(many=True)


def availability_json(service_id: int, zone: ZoneInfo, starts: Iterable[float], length: timedelta) -> dict:
    """``AvailabilitySerializer``'s shape for slots starting at ``starts`` (Unix times), in ``zone``'s offsets.

    A month of short slots is thousands: each time is one C call from the number
    to the zone's local time, as ``datetime.astimezone`` gives it, then ``isoformat``.
    """
    seconds, local = length.total_seconds(), datetime.fromtimestamp
    return {
        "service_id": service_id,
        "timezone": zone.key,
        "slots": [
            {"start": local(start, zone).isoformat(), "end": local(start + seconds, zone).isoformat()}
            for start in starts
        ],
    }


class BookingEventSerializer(serializers.ModelSerializer):
    """One change: who (``actor_id``, null for the system), when, what, and each field's ``[before, after]``."""

    changes = serializers.DictField(child=serializers.ListField(), help_text='{"start_time": [before, after], ...}')

    class Meta:
        model = BookingEvent
        fields = ["action", "at", "actor_id", "changes"]
        read_only_fields = fields


class CalendarTokenSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Your feed's secret address; keep it private. POST again to replace it.")


class BookingEventPageSerializer(serializers.Serializer):
    """A page of a booking's history, as every list is paginated."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = BookingEventSerializer(many=True)


class SeriesCreateSerializer(InputSerializer):
    """A recurring booking: ``recurrence`` is the RRULE subset of ``bookings.recurrence``."""

    service_id = ServiceIdField(
        queryset=Service.objects.all(),
        pk_field=serializers.IntegerField(),
        source="service",
        error_messages={"does_not_exist": UNKNOWN_SERVICE},
    )
    start_time = AwareDateTimeField(
        help_text="The first occurrence; its wall-clock time in the service's zone repeats."
    )
    recurrence = serializers.CharField(
        max_length=200,
        help_text="RRULE subset: FREQ=DAILY|WEEKLY|MONTHLY, INTERVAL, COUNT (<= 52) or UNTIL (inside the service's "
        "horizon), BYDAY (WEEKLY only); at most 52 occurrences. Example: FREQ=WEEKLY;COUNT=10.",
    )
    resource_id = RESOURCE_ID
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    on_conflict = serializers.ChoiceField(
        choices=["fail", "skip"],
        default="fail",
        help_text="`fail`: any refused occurrence books nothing (409 `series_conflict`); `skip`: book the rest.",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Only the verdicts (200); nothing is booked.")


class SeriesCancelSerializer(InputSerializer):
    start_from = AwareDateTimeField(
        required=False, help_text="Cancel the occurrences starting at or after this (this and following)."
    )
    reason = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("start_from")  # `from` is a Python keyword
        return fields


class SeriesOccurrenceSerializer(OccurrenceVerdictSerializer):
    status = serializers.ChoiceField(
        choices=Booking.Status.choices, required=False, help_text="The booking's status now (GET and cancel)."
    )

    class Meta:
        ref_name = "SeriesOccurrence"


class SeriesSerializer(serializers.Serializer):
    """A recurring booking and its occurrences."""

    id = serializers.IntegerField(allow_null=True, help_text="Null in a dry run.")
    recurrence = serializers.CharField()
    service_id = serializers.IntegerField()
    occurrences = SeriesOccurrenceSerializer(many=True)
    skipped = OccurrenceVerdictSerializer(many=True, help_text="The occurrences not booked, with their verdicts.")
    note = serializers.CharField(required=False, help_text="Dry runs: the verdicts may change by the real request.")
    not_cancelled = OccurrenceVerdictSerializer(
        many=True, required=False, help_text="Cancel: occurrences left as they were, with why (`cancellation_cutoff`)."
    )


def series_json(result, *, status: bool = False, cancel: bool = False) -> dict:
    """``SeriesSerializer``'s shape of a ``bookings.series.SeriesResult`` (``status``: each booking's, as GET shows)."""
    series = result.series
    body = {
        "id": series.pk if series is not None else None,
        "recurrence": result.recurrence,
        "service_id": result.service_id,
        "occurrences": [occurrence.as_json(status=status) for occurrence in result.occurrences],
        "skipped": series.skipped if series is not None else [o.as_json() for o in result.skipped],
    }
    if result.dry_run:
        body["note"] = DRY_RUN_NOTE
    if cancel:
        body["not_cancelled"] = [occurrence.as_json() for occurrence in result.not_cancelled]
    return body
