from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from bookit.db.models import TimestampedModel
from catalog.timezones import is_known_timezone

MAX_LENGTH = 31 * 1440  # minutes: a month, for room hire
MAX_NOTICE = 366 * 1440
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 30 * 1440
MAX_CAPACITY = 1000
# ISO weekday numbers (what the data and the API hold) and the names staff read.
WEEKDAYS = dict(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), start=1))


def default_reminders() -> list[int]:
    """A reminder a day before."""
    return [1440]


def _limit(highest: int, help_text: str) -> models.PositiveIntegerField:
    """A policy number from 0 to ``highest``, 0 by default."""
    return models.PositiveIntegerField(default=0, validators=[MaxValueValidator(highest)], help_text=help_text)


def _optional_limit(lowest: int, highest: int, help_text: str) -> models.PositiveIntegerField:
    """A policy number from ``lowest`` to ``highest``; empty means the default named in ``help_text``."""
    validators = [MinValueValidator(lowest), MaxValueValidator(highest)]
    return models.PositiveIntegerField(null=True, blank=True, validators=validators, help_text=help_text)


class Service(TimestampedModel):
    """Something people can book, for ``duration_minutes`` at a time."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    duration_minutes = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    # Booking policy (catalog/schedule.py, bookings/rules.py); an empty field means the default in brackets.
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name; working hours are in this zone.")
    min_length_minutes = _optional_limit(1, MAX_LENGTH, "Shortest booking [duration].")
    max_length_minutes = _optional_limit(1, MAX_LENGTH, "Longest booking [duration].")
    buffer_minutes = _limit(1440, "Kept free after each booking.")
    min_notice_minutes = _limit(MAX_NOTICE, "Bookings start at least this far ahead.")
    max_advance_days = _optional_limit(1, 3660, "How far ahead bookings may start [no horizon].")
    slot_step_minutes = _optional_limit(1, 1440, "Between slot starts [duration].")
    cancellation_cutoff_hours = _limit(8760, "Owners cannot cancel or move a booking this close to its start.")
    max_active_bookings_per_user = _optional_limit(
        1, 1000, "Future, not cancelled bookings per user on this service [no cap]."
    )

    # Notifications (notifications/): reminders before each booking, and who hears of a new pending one.
    reminder_minutes_before = ArrayField(
        models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_REMINDER_MINUTES)]),
        default=default_reminders,
        blank=True,
        size=MAX_REMINDERS,
        help_text="Minutes before the start a reminder mail goes, e.g. 1440, 60; empty: no reminders.",
    )
    notify_email = models.EmailField(
        blank=True, help_text="Told of each new booking waiting for confirmation [STAFF_NOTIFICATION_EMAILS]."
    )
    # Group sessions: above 1, bookings start on the slot grid, last the duration, and up to
    # `capacity` of them share a session on one resource, each on its own seat (bookings migration 0010).
    capacity = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)],
        help_text="People per session; 1: one booking per slot.",
    )

    # Kept by a trigger on reviews_review (reviews migration 0002), in the review's own
    # transaction: a list of services reads its ratings without aggregating every review.
    review_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    # Maintained by PostgreSQL; `?q=` searches it through a GIN index.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config="english")
        + SearchVector("description", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="catalog_service_price_non_negative",
                violation_error_message="Price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=1440),
                name="catalog_service_duration_1_to_1440",
                violation_error_message="Duration must be between 1 and 1440 minutes.",
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=MAX_CAPACITY),
                name="catalog_service_capacity_1_to_1000",
                violation_error_message=f"Capacity must be between 1 and {MAX_CAPACITY}.",
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="catalog_svc_search_idx"),
            models.Index(fields=["price"], name="catalog_svc_price_idx"),
            models.Index(fields=["duration_minutes"], name="catalog_svc_duration_idx"),
            models.Index(fields=["created_at"], name="catalog_svc_created_idx"),
            models.Index(fields=["is_active", "name"], name="catalog_svc_active_name_idx"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        """The policy fits together: a known zone, and bookings of the service's duration allowed."""
        super().clean()
        errors = {}
        if not is_known_timezone(self.timezone):
            errors["timezone"] = f"Unknown time zone {self.timezone!r}; use an IANA name such as Europe/Berlin."
        if self.duration_minutes and not self.min_length <= self.duration_minutes <= self.max_length:
            errors["min_length_minutes"] = "The duration must lie between the minimum and the maximum length."
        if errors:
            raise ValidationError(errors)

    @property
    def min_length(self) -> int:
        return self.min_length_minutes or self.duration_minutes

    @property
    def max_length(self) -> int:
        return self.max_length_minutes or self.duration_minutes

    @property
    def slot_step(self) -> int:
        return self.slot_step_minutes or self.duration_minutes


def _schedule_owner() -> Q:
    """A schedule row belongs to exactly one service or one resource."""
    return Q(service__isnull=False, resource__isnull=True) | Q(service__isnull=True, resource__isnull=False)


class WorkingHours(models.Model):
    """One interval of a service's (or a resource's) week, in its local time: Monday (1) 09:00-12:00, say."""

    service = models.ForeignKey(Service, null=True, on_delete=models.CASCADE, related_name="working_hours")
    resource = models.ForeignKey("Resource", null=True, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(help_text="ISO weekday: 1 = Monday ... 7 = Sunday.")
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=1, weekday__lte=7), name="catalog_hours_iso_weekday"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="catalog_hours_end_after_start"),
            models.CheckConstraint(condition=_schedule_owner(), name="catalog_hours_one_owner"),
        ]

    def __str__(self):
        return f"{WEEKDAYS.get(self.weekday, self.weekday)} {self.start:%H:%M}-{self.end:%H:%M}"


class ScheduleException(models.Model):
    """A date with other hours (``start``/``end``), or closed all day (neither); of a service or a resource."""

    service = models.ForeignKey(Service, null=True, on_delete=models.CASCADE, related_name="exceptions")
    resource = models.ForeignKey("Resource", null=True, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True) | Q(end__gt=models.F("start")),
                name="catalog_exception_closed_or_end_after_start",
            ),
            models.CheckConstraint(condition=_schedule_owner(), name="catalog_exception_one_owner"),
        ]

    def __str__(self):
        hours = f"{self.start:%H:%M}-{self.end:%H:%M}" if self.start else "closed"
        return f"{self.date} {hours}"


class Resource(TimestampedModel):
    """Who or what delivers bookings: a stylist, a room, a projector. Never in two bookings at once.

    A resource delivers the ``services`` linked to it, inside its own hours (in
    its own ``timezone``) and its exceptions; without weekly hours only the
    service's hours apply. Every booking holds one resource, and the exclusion
    constraint on bookings (``resource_id WITH =``) keeps a resource's bookings
    apart whatever their services. Each service gets a resource of its own,
    named after it, when it is created (a trigger, catalog migration 0006), so
    one service is still one calendar with no extra step; ``own_service``
    marks it, and deleting the service deletes it.
    """

    class Kind(models.TextChoices):
        STAFF = "staff"
        ROOM = "room"
        EQUIPMENT = "equipment"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STAFF)
    is_active = models.BooleanField(default=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name; working hours are in this zone.")
    services = models.ManyToManyField(Service, related_name="resources", blank=True)
    # The service this resource was made for (the trigger's): it goes when its service is deleted.
    own_service = models.OneToOneField(
        Service, null=True, blank=True, editable=False, on_delete=models.CASCADE, related_name="own_resource"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["staff", "room", "equipment"]), name="catalog_resource_kind"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if not is_known_timezone(self.timezone):
            raise ValidationError(
                {"timezone": f"Unknown time zone {self.timezone!r}; use an IANA name such as Europe/Berlin."}
            )
