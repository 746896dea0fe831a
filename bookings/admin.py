"""Bookings in the admin. Every write goes through ``bookings.services``, like the API's.

How a form save reaches the services: the admin saves a form only once it is
valid, so a rule that says no has to speak while the form validates.
``BookingAdminForm`` therefore makes the write itself in place of ModelForm's
model validation (``_post_clean``): it calls ``booking_create``, or
``booking_reschedule``, ``booking_edit_notes`` and then ``booking_set_status``, inside a savepoint. A
``DomainError`` rolls the savepoint back and becomes a form error on the field
it concerns (the time fields for a taken slot, ``status`` for a move the
workflow does not allow); otherwise the saved booking becomes the form's
instance and ``save_model`` has nothing left to do. The admin runs the whole
view in a transaction, so a failure after that still undoes the write. One
call per save: no rule is checked twice, and nothing can pass in the form and
then fail on save with a 500.

Times are the service's local time, as its staff read clocks: the form shows
and takes start and end in the service's zone (``LocalSplitDateTimeField``,
``catalog.localtime``), the list, the history and the messages show them with
the zone's abbreviation. A time the clocks skip or show twice is a form error.
Date filters and the date hierarchy go by each booking's local date in its own
service's zone (``LocalStartFilter``; the hierarchy is the
``local_date_hierarchy`` tag in this app's ``change_list.html``), so "today"
is each service's today when services sit in several zones.

A new booking's resource is the staff's choice or, left empty, any available
one, picked by ``booking_create`` as for the API; a booking then keeps its
resource and seat (read-only). A group session's attendees are the list
filtered by service and start (``?service__id__exact=&start_time=``), which the
resource's day page links to.
"""

import calendar
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.models import User
from bookings import rules, selectors, services
from bookings.history import describe_changes
from bookings.models import Booking, BookingEvent
from bookit.admin import DeletesThroughServices
from bookit.domain_errors import DomainError
from catalog.admin_forms import LocalSplitDateTimeField
from catalog.localtime import LocalTimeError, format_local, local_time, local_to_utc
from catalog.models import Resource, Service

Status = Booking.Status

# Where a service's error is shown when it names no form field of its own.
ERROR_FIELDS = {
    "booking_conflict": ("start_time", "end_time"),
    "booking_started": ("start_time",),
    "invalid_transition": ("status",),
    "not_ended": ("status",),
}
SERVICE_FIELD_TO_FORM = {"service_id": "service", "resource_id": "resource"}
STAFF_CANCEL_REASON = "Cancelled by staff."
LOCAL_FIELDS = ("start_time", "end_time")  # typed in the service's zone


class BookingAdminForm(forms.ModelForm):
    """Validates a booking by saving it through the services (see the module docstring)."""

    actor = None  # the staff member saving, set per request by BookingAdmin.get_form

    start_time = LocalSplitDateTimeField(label="Start time")
    end_time = LocalSplitDateTimeField(label="End time", required=False)
    # A new booking's resource; a booking keeps its own (read-only: the admin then leaves this field out).
    resource = forms.ModelChoiceField(
        queryset=Resource.objects.filter(is_active=True),
        required=False,
        empty_label="Any available",
        help_text="Empty: any resource that delivers the service, works then and is free (the fairest first).",
    )

    class Meta:
        model = Booking
        fields = ("user", "service", "start_time", "end_time", "status", "cancellation_reason", "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A booking keeps its service, so its zone is known; a new booking's is its chosen service's.
        self.tz_name = self.instance.service.timezone if self.instance.pk else None
        where = f"{self.tz_name} time, the service's zone" if self.tz_name else "the chosen service's time zone"
        for name in LOCAL_FIELDS:
            if name in self.fields:
                self.fields[name].tz_name = self.tz_name
                self.fields[name].help_text = f"In {where}."
        if "end_time" in self.fields:
            self.fields["end_time"].help_text += " Leave blank: the start time plus the service's duration."

    def clean(self):
        """Turns the local times typed into instants; an unchanged time stays the stored instant, to the second."""
        data = super().clean()
        service = data.get("service")
        tz_name = self.tz_name or (service.timezone if service else None)
        for name in LOCAL_FIELDS:
            wall = data.get(name)
            if wall is None:
                continue
            if self.instance.pk and name not in self.changed_data:
                data[name] = getattr(self.instance, name)
            elif tz_name is not None:  # else the service is missing: its own error stops the save
                try:
                    data[name] = local_to_utc(wall, tz_name)
                except LocalTimeError as exc:
                    self.add_error(name, str(exc))
        return data

    def _post_clean(self):
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.instance = self._save_through_services()
        except DomainError as exc:
            named = SERVICE_FIELD_TO_FORM.get(exc.field, exc.field)
            for name in (named,) if named else ERROR_FIELDS.get(exc.code, (None,)):
                self.add_error(name if name in self.fields else None, exc.message)

    def _save_through_services(self) -> Booking:
        data, changed = self.cleaned_data, self.changed_data
        if self.instance.pk is None:
            return services.booking_create(
                user=data["user"],
                service=data["service"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                resource_id=data["resource"].pk if data.get("resource") else None,
                notes=data["notes"],
                actor=self.actor,
            )
        booking = self.instance
        cancelling = "status" in changed and data["status"] == Status.CANCELLED
        reason = data["cancellation_reason"] if "cancellation_reason" in changed else None
        rules.check_cancellation_reason(cancelling=cancelling, reason=reason)
        times = {name: data[name] for name in ("start_time", "end_time") if name in changed}
        if times:
            booking = services.booking_reschedule(booking=booking, actor=self.actor, **times)
        if "notes" in changed:
            booking = services.booking_edit_notes(booking=booking, notes=data["notes"], actor=self.actor)
        if "status" in changed:
            booking = services.booking_set_status(
                booking=booking, status=data["status"], reason=data["cancellation_reason"], actor=self.actor
            )
        return booking


class BookingEventInline(admin.TabularInline):
    """The booking's history, as staff read it: who (by name and email), when and what, in the service's zone.

    Read-only, as the database keeps it (a trigger refuses changes). The
    actor's name and email and the zone come with the rows (subqueries): one
    query for the whole history, and an actor whose user was deleted still
    shows their id.
    """

    model = BookingEvent
    fields = readonly_fields = ("when", "action", "by", "what")
    ordering = ("at", "id")
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        actor = User.objects.filter(pk=OuterRef("actor_id"))
        zone = Service.objects.filter(pk=OuterRef("service_id")).values("timezone")
        return (
            super()
            .get_queryset(request)
            .annotate(
                actor_email=Subquery(actor.values("email")),
                actor_name=Subquery(actor.values("full_name")),
                service_timezone=Subquery(zone),
            )
        )

    @admin.display(description="when")
    def when(self, event):
        return format_local(event.at, event.service_timezone or "UTC")

    @admin.display(description="by")
    def by(self, event):
        if event.actor_id is None:
            return "system"  # the maintenance jobs (expiry, completion)
        if event.actor_email is None:
            return f"user #{event.actor_id} (deleted)"
        label = f"{event.actor_name} ({event.actor_email})" if event.actor_name else event.actor_email
        return format_html('<a href="{}">{}</a>', reverse("admin:accounts_user_change", args=[event.actor_id]), label)

    @admin.display(description="changes")
    def what(self, event):
        lines = describe_changes(event.changes, event.service_timezone or "UTC")
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def parse_period(value: str | None) -> tuple[date, date, str] | None:
    """``"2026"``, ``"2026-12"`` or ``"2026-12-07"`` as (first date, last date, title); None for anything else."""
    try:
        parts = [int(part) for part in (value or "").split("-")]
        if len(parts) == 1 and len(value) == 4:
            return date(parts[0], 1, 1), date(parts[0], 12, 31), str(parts[0])
        if len(parts) == 2:
            first = date(parts[0], parts[1], 1)
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            return first, last, f"{first:%B %Y}"
        if len(parts) == 3:
            day = date(*parts)
            return day, day, f"{day:%a} {day.day} {day:%b %Y}"
    except ValueError:
        pass
    return None


class LocalStartFilter(admin.SimpleListFilter):
    """Bookings by the date they start on in their service's zone: today, tomorrow, ..., or a year, month, day.

    The relative choices are counted from each service's own today; the
    periods are what the date hierarchy links to (``local_date_hierarchy``).
    """

    title = "start (the service's local date)"
    parameter_name = "start_local"
    RELATIVE = {
        "today": ("Today", 0, 0),
        "tomorrow": ("Tomorrow", 1, 1),
        "next7": ("Next 7 days", 0, 6),
        "past7": ("Past 7 days", -7, -1),
    }

    def lookups(self, request, model_admin):
        choices = [(key, label) for key, (label, _, _) in self.RELATIVE.items()]
        period = parse_period(self.value())
        return [*choices, (self.value(), period[2])] if period else choices

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value in self.RELATIVE:
            _, first, last = self.RELATIVE[value]
            return selectors.booking_filter_local_days_from_today(queryset, first=first, last=last, now=timezone.now())
        period = parse_period(value)
        if period is None:
            raise IncorrectLookupParameters(f"Unknown date {value!r}.")
        return selectors.booking_filter_local_dates(queryset, first=period[0], last=period[1])


@admin.register(Booking)
class BookingAdmin(DeletesThroughServices, admin.ModelAdmin):
    form = BookingAdminForm
    inlines = (BookingEventInline,)
    list_display = ("id", "user", "service", "resource", "seat", "local_start", "local_end", "status")
    list_filter = ("status", "service", "resource", LocalStartFilter)
    list_select_related = ("user", "service", "resource")
    # No date_hierarchy: Django's would cut days in UTC; change_list.html draws one by local dates.
    search_fields = ("user__email", "service__name")
    autocomplete_fields = ("user", "service")
    show_full_result_count = False  # one COUNT per page, not two, on a large table
    actions = ("confirm", "cancel", "complete")

    def get_search_results(self, request, queryset, search_term):
        """Each word matches a user's email or a service's name, as ``search_fields`` says.

        The words are looked up in the small users and services tables first and
        bookings are then filtered by id: the default join of every booking to
        its user and service took seconds on a million bookings.
        """
        for word in search_term.split():
            users = User.objects.filter(email__icontains=word)
            services_named = Service.objects.filter(name__icontains=word)
            queryset = queryset.filter(Q(user__in=users) | Q(service__in=services_named))
        return queryset, False

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else ()  # a new booking has no history yet

    def get_fields(self, request, obj=None):
        if obj is None:  # a new booking starts pending
            return ("user", "service", "resource", "start_time", "end_time", "notes")
        return (
            *("user", "service", "resource", "seat", "start_time", "end_time", "status", "cancellation_reason"),
            "notes",
            *("cancelled", "created", "updated"),
        )

    def get_readonly_fields(self, request, obj=None):
        # A booking keeps its user and service (the API cannot change them either), and here its resource and seat.
        moved = ("user", "service", "resource", "seat") if obj else ()
        return (*moved, "cancelled", "created", "updated")

    @admin.display(description="start", ordering="start_time")
    def local_start(self, booking):
        return format_local(booking.start_time, booking.service.timezone)

    @admin.display(description="end", ordering="end_time")
    def local_end(self, booking):
        """Only the time when the booking ends on the day it starts (locally)."""
        tz_name = booking.service.timezone
        same_day = local_time(booking.start_time, tz_name).date() == local_time(booking.end_time, tz_name).date()
        return format_local(booking.end_time, tz_name, date_part=not same_day)

    @admin.display(description="cancelled at")
    def cancelled(self, booking):
        return format_local(booking.cancelled_at, booking.service.timezone)

    @admin.display(description="created at")
    def created(self, booking):
        return format_local(booking.created_at, booking.service.timezone)

    @admin.display(description="updated at")
    def updated(self, booking):
        return format_local(booking.updated_at, booking.service.timezone)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # a class made for this request: the services record who changed what
        return form

    def save_model(self, request, obj, form, change):
        """Nothing left to do: BookingAdminForm saved ``obj`` through the services while validating."""

    def delete_through_service(self, request, obj):
        services.booking_delete(booking=obj, actor=request.user)

    @admin.action(description="Confirm selected bookings", permissions=["change"])
    def confirm(self, request, queryset):
        self._move(request, queryset, Status.CONFIRMED, "confirmed")

    @admin.action(description="Cancel selected bookings", permissions=["change"])
    def cancel(self, request, queryset):
        self._move(request, queryset, Status.CANCELLED, "cancelled", reason=STAFF_CANCEL_REASON)

    @admin.action(description="Complete selected bookings (ended ones)", permissions=["change"])
    def complete(self, request, queryset):
        self._move(request, queryset, Status.COMPLETED, "completed")

    def _move(self, request, queryset, status: str, done: str, reason: str = "") -> None:
        """Move each booking through the workflow on its own; report those that could not move."""
        moved, refused = 0, []
        for booking in queryset.select_related("service"):
            try:
                services.booking_set_status(booking=booking, status=status, reason=reason, actor=request.user)
            except DomainError as exc:
                refused.append(f"#{booking.pk} {booking}: {exc.message}")
            else:
                moved += 1
        if moved:
            self.message_user(request, f"{moved} booking(s) {done}.", messages.SUCCESS)
        if refused:
            shown = "; ".join(refused[:10]) + (f"; and {len(refused) - 10} more" if len(refused) > 10 else "")
            self.message_user(request, f"{len(refused)} booking(s) could not be {done}: {shown}.", messages.WARNING)
