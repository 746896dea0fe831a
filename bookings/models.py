from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.contrib.postgres.indexes import GistIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bookit.db.models import TimestampedModel
from catalog.localtime import format_local
from catalog.models import Resource, Service

OVERLAP_CONSTRAINT = "bookings_booking_no_overlap"


class TsTzRange(models.Func):
    """``tstzrange(start, end, '[)')``: half-open, so back-to-back bookings do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start, end, **extra):
        super().__init__(start, end, RangeBoundary(), **extra)


class BlockedUntil(models.Func):
    """``bookings_blocked_until(end_time, buffer_minutes)``: the end of a booking plus its buffer.

    A SQL function declared IMMUTABLE (bookings migration 0003) because the
    exclusion constraint's index needs one, and ``timestamptz + interval`` is
    only STABLE (adding days depends on the time zone; adding minutes does not).
    """

    function = "bookings_blocked_until"
    output_field = models.DateTimeField()


class SessionKey(models.Func):
    """``bookings_session_key(id, service_id, seat, start_time)``: which bookings may share a resource at once.

    A group session's bookings (a seat) share one key, the service and the
    session's start; any other booking's key is its own (``-id``). The
    exclusion constraint compares keys ``WITH <>``, so overlapping bookings on
    one resource must all be seats of one session, and a one-to-one booking
    excludes every overlap. IMMUTABLE SQL (bookings migration 0010).
    """

    function = "bookings_session_key"
    output_field = models.BigIntegerField()


class Status(models.TextChoices):
    """A booking's place in the workflow (``Booking.TRANSITIONS``); also ``Booking.Status``."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class BookingSeries(models.Model):
    """A recurring booking as it was asked for: one request, written all or nothing (``bookings.series``).

    Its occurrences are ordinary bookings (``Booking.series``), each judged by
    every rule of a single booking; this row keeps what they were made from,
    so the series can be read back and cancelled as one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_series")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="booking_series")
    # The resource the request asked for; null: any available one, per occurrence.
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recurrence = models.CharField(max_length=200, help_text="The RRULE subset it was expanded from.")
    start_time = models.DateTimeField(help_text="The first occurrence's start (DTSTART).")
    notes = models.TextField(blank=True, max_length=2000)
    # The occurrences refused when it was made (``on_conflict: skip``): [{"start_time", "end_time", "verdict"}].
    skipped = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "booking series"
        ordering = ["id"]

    def __str__(self):
        return f"{self.service}, {self.recurrence} from {format_local(self.start_time, self.service.timezone)}"


class Booking(TimestampedModel):
    """One service booked by one user for ``[start_time, end_time)``."""

    Status = Status

    # Allowed moves of the status workflow; cancelled and completed are final.
    TRANSITIONS = {
        Status.PENDING: {Status.CONFIRMED, Status.CANCELLED},
        Status.CONFIRMED: {Status.COMPLETED, Status.CANCELLED},
        Status.CANCELLED: set(),
        Status.COMPLETED: set(),
    }

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    # Who or what delivers it: the no-overlap constraint is per resource, whatever the service.
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    # Its seat in a group session (a service with capacity above 1), 1..capacity; null otherwise.
    seat = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    notes = models.TextField(blank=True, max_length=2000)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=500, blank=True)
    # The service's buffer when the booking was made or moved: kept free after end_time,
    # so a later policy change never makes existing bookings overlap.
    buffer_minutes = models.PositiveIntegerField(default=0)
    # iCalendar SEQUENCE: grows on each reschedule and cancellation, so calendar apps take the update.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    # The recurring booking it is an occurrence of; null for a single booking.
    series = models.ForeignKey(
        BookingSeries, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="bookings"
    )

    class Meta:
        ordering = ["start_time", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="bookings_booking_end_after_start",
                violation_error_message="The end time must be after the start time.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="bookings_booking_status_valid",
            ),
            # Added to the database by bookit.db.operations.AddExclusionConstraint (migrations 0002, 0003, 0010).
            ExclusionConstraint(
                name=OVERLAP_CONSTRAINT,
                expressions=[
                    (F("resource"), RangeOperators.EQUAL),
                    (SessionKey("id", "service", "seat", "start_time"), RangeOperators.NOT_EQUAL),
                    (TsTzRange("start_time", BlockedUntil("end_time", "buffer_minutes")), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status=Status.CANCELLED),
                violation_error_code="booking_conflict",
                violation_error_message="This resource is already booked at an overlapping time.",
            ),
            # One person per seat of a session; a seat above the service's capacity is refused by a
            # trigger (migration 0010), since a constraint cannot read the service's row.
            models.UniqueConstraint(
                fields=["resource", "service", "start_time", "seat"],
                condition=Q(seat__isnull=False) & ~Q(status=Status.CANCELLED),
                name="bookings_booking_one_per_seat",
            ),
            models.CheckConstraint(condition=Q(seat__gte=1), name="bookings_booking_seat_from_1"),
            # What the foreign keys of the booking's own rows (reviews) reference: the id with the
            # co-location key, as Citus and partitioned tables need (SCALING.md).
            models.UniqueConstraint(fields=["id", "service"], name="bookings_booking_id_service_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "start_time"], name="bookings_user_start_idx"),
            models.Index(fields=["status", "start_time"], name="bookings_status_start_idx"),
            models.Index(fields=["start_time"], name="bookings_start_idx"),
            # `?resource=` and the "fewest bookings that day" count of an any-available booking.
            models.Index(fields=["resource", "start_time"], name="bookings_resource_start_idx"),
            # `?from=&to=` overlap filter across services (admins) uses this.
            GistIndex(TsTzRange("start_time", "end_time"), name="bookings_period_gist"),
            # ... and a customer's own (btree_gist's int8 `=`; the query casts its parameter to bigint).
            GistIndex(F("user"), TsTzRange("start_time", "end_time"), name="bookings_user_period_gist"),
        ]

    def __str__(self):
        """``Sauna, Mon 7 Dec 2026, 10:00 CET (pending)``: staff read a booking in its service's local time."""
        return f"{self.service}, {format_local(self.start_time, self.service.timezone)} ({self.status})"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]


class BookingEvent(models.Model):
    """One change to a booking, written in the change's own transaction; never updated or deleted.

    ``booking`` is a foreign key without a database constraint: the events of
    a deleted booking stay (who deleted it, when, what it was). A trigger
    (migration 0004) refuses UPDATE and DELETE on the table.
    """

    class Action(models.TextChoices):
        CREATED = "created"
        RESCHEDULED = "rescheduled"
        NOTES_CHANGED = "notes_changed"
        CANCELLED = "cancelled"
        STATUS_CHANGED = "status_changed"
        DELETED = "deleted"

    booking = models.ForeignKey(
        Booking, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events", editable=False
    )
    # Copied from the booking: who may read the history after it is gone, and the co-location key.
    service_id = models.BigIntegerField(editable=False)
    owner_id = models.BigIntegerField(editable=False)
    actor_id = models.BigIntegerField(null=True, editable=False, help_text="Who made the change; empty: the system.")
    action = models.CharField(max_length=20, choices=Action.choices, editable=False)
    at = models.DateTimeField(default=timezone.now, editable=False)
    changes = models.JSONField(default=dict, editable=False, help_text='{"field": [before, after]}')
    # Told in a digest rather than on its own (an occurrence cancelled with its series: one mail, not ten).
    in_digest = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["booking", "id"], name="bookings_event_booking_idx")]

    def __str__(self):
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class CalendarFeed(models.Model):
    """A user's secret calendar feed: only the token's SHA-256 is kept, so a database leak does not open feeds."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"calendar feed of user {self.user_id}"
