from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from catalog.models import MAX_REMINDER_MINUTES, MAX_REMINDERS, Resource, Service


class ServiceSerializer(serializers.ModelSerializer):
    average_rating = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        read_only=True,
        help_text="Mean rating, 2 decimals; null without reviews.",
    )
    review_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "price",
            "duration_minutes",
            "is_active",
            "created_at",
            "updated_at",
            "average_rating",
            "review_count",
        ]
        read_only_fields = fields


POLICY_FIELDS = [
    *("timezone", "min_length_minutes", "max_length_minutes", "buffer_minutes", "min_notice_minutes"),
    *("max_advance_days", "slot_step_minutes", "cancellation_cutoff_hours", "max_active_bookings_per_user"),
    "reminder_minutes_before",
    "capacity",
]


# A local wall-clock time, not an instant: no date, no offset (the service's zone says where).
CLOCK_TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field({"type": "string", "pattern": CLOCK_TIME_PATTERN, "example": "09:00"})
class ClockTimeField(serializers.TimeField):
    """A wall-clock time as ``HH:MM`` (``HH:MM:SS`` is accepted on input)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class WorkingHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=1, max_value=7, help_text="ISO: 1 = Monday ... 7 = Sunday.")
    start = ClockTimeField(help_text="Local time in the service's zone, e.g. 09:00.")
    end = ClockTimeField(help_text="After start, on the same day (split across midnight).")


class ScheduleExceptionSerializer(serializers.Serializer):
    """A date with other hours, or, without ``start`` and ``end``, closed all day."""

    date = serializers.DateField()
    start = ClockTimeField(required=False, allow_null=True)
    end = ClockTimeField(required=False, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return data if data["start"] is not None else {"date": data["date"]}


class ServiceDetailSerializer(ServiceSerializer):
    """One service with its booking policy (``GET /services/{id}`` and the writes' answers)."""

    working_hours = WorkingHoursSerializer(many=True, read_only=True)
    exceptions = ScheduleExceptionSerializer(many=True, read_only=True)

    class Meta(ServiceSerializer.Meta):
        fields = [*ServiceSerializer.Meta.fields, *POLICY_FIELDS, "working_hours", "exceptions"]
        read_only_fields = fields


class ServiceInputSerializer(serializers.ModelSerializer):
    """Body of POST /services (name, price and duration required) and PATCH (all optional).

    A list of ``working_hours`` or ``exceptions`` replaces the service's whole list.
    Empty length, step, horizon or cap fields fall back to their defaults (see the field help).
    """

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    is_active = serializers.BooleanField(required=False, default=True)
    working_hours = WorkingHoursSerializer(many=True, required=False)
    exceptions = ScheduleExceptionSerializer(many=True, required=False)
    reminder_minutes_before = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_REMINDER_MINUTES),
        max_length=MAX_REMINDERS,
        required=False,
        help_text="Minutes before the start a reminder mail goes (default [1440]); [] for none.",
    )
    notify_email = serializers.EmailField(
        allow_blank=True,
        required=False,
        write_only=True,
        help_text="Staff address told of each new pending booking (else STAFF_NOTIFICATION_EMAILS); never shown.",
    )

    class Meta:
        model = Service
        fields = [
            *("name", "description", "price", "duration_minutes", "is_active"),
            *POLICY_FIELDS,
            *("working_hours", "exceptions", "notify_email"),
        ]


class ServiceCreateSerializer(ServiceInputSerializer):
    """Body of POST /services: ``ServiceInputSerializer`` and, optionally, the resources that deliver it."""

    resource_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Resources that deliver the new service. Without it the service gets a resource of its own, "
        "named after it (one service, one calendar).",
    )

    class Meta(ServiceInputSerializer.Meta):
        fields = [*ServiceInputSerializer.Meta.fields, "resource_ids"]


SERVICE_IDS_HELP = "Ids of the services it delivers (to the public: the active ones)."


class ResourceSerializer(serializers.ModelSerializer):
    """A resource as everyone sees it: who or what delivers which services. Its hours, zone and state are
    staff's business (``ResourceDetailSerializer``)."""

    services = serializers.ListField(
        child=serializers.IntegerField(), source="service_ids", read_only=True, help_text=SERVICE_IDS_HELP
    )

    class Meta:
        model = Resource
        fields = ["id", "name", "kind", "services"]
        read_only_fields = fields


class ResourceStaffSerializer(ResourceSerializer):
    """A row of GET /resources for staff: the public fields, whether it is active, its zone."""

    class Meta(ResourceSerializer.Meta):
        fields = [*ResourceSerializer.Meta.fields, "is_active", "timezone"]
        read_only_fields = fields


class ResourceDetailSerializer(ResourceStaffSerializer):
    """One resource as staff see it (GET /resources/{id} and the writes' answers): with its hours and exceptions."""

    working_hours = WorkingHoursSerializer(many=True, read_only=True)
    exceptions = ScheduleExceptionSerializer(many=True, read_only=True)

    class Meta(ResourceStaffSerializer.Meta):
        fields = [*ResourceStaffSerializer.Meta.fields, "working_hours", "exceptions"]
        read_only_fields = fields


STAFF_ONLY = "Staff only."


# The schema of GET /resources and /resources/{id}, never used to render. The staff fields are
# declared optional (not read-only, which the schema would make required): the public's
# answers leave them out, and the list's rows leave out the hours.
@extend_schema_serializer(component_name="Resource")
class ResourceAnswerSerializer(ResourceSerializer):
    """A resource: who or what delivers services. Staff also read its state, zone, hours and exceptions."""

    is_active = serializers.BooleanField(required=False, help_text=STAFF_ONLY)
    timezone = serializers.CharField(required=False, help_text=f"{STAFF_ONLY} IANA name; its hours are in this zone.")
    working_hours = WorkingHoursSerializer(many=True, required=False, help_text=f"{STAFF_ONLY} One resource only.")
    exceptions = ScheduleExceptionSerializer(many=True, required=False, help_text=f"{STAFF_ONLY} One resource only.")

    class Meta(ResourceSerializer.Meta):
        fields = ResourceDetailSerializer.Meta.fields
        read_only_fields = ResourceSerializer.Meta.fields


class ResourceInputSerializer(serializers.ModelSerializer):
    """Body of POST /resources (``name`` required) and PATCH (all optional).

    A list of ``services``, ``working_hours`` or ``exceptions`` replaces the
    resource's whole list. Hours and exceptions have a service's shapes and
    rules, in the resource's own ``timezone``; without weekly hours only the
    service's hours apply.
    """

    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(required=False, default=True)
    working_hours = WorkingHoursSerializer(many=True, required=False)
    exceptions = ScheduleExceptionSerializer(many=True, required=False)
    services = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="Ids of the services it delivers; replaces the list.",
    )

    class Meta:
        model = Resource
        fields = ["name", "kind", "is_active", "timezone", "services", "working_hours", "exceptions"]
