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
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from bookings import rules, services
from bookings.models import Booking, BookingEvent
from bookit.admin import DeletesThroughServices
from bookit.domain_errors import DomainError
from catalog.models import Service

Status = Booking.Status

# Where a service's error is shown when it names no form field of its own.
ERROR_FIELDS = {
    "booking_conflict": ("start_time", "end_time"),
    "booking_started": ("start_time",),
    "invalid_transition": ("status",),
    "not_ended": ("status",),
}
SERVICE_FIELD_TO_FORM = {"service_id": "service"}
STAFF_CANCEL_REASON = "Cancelled by staff."


class BookingAdminForm(forms.ModelForm):
    """Validates a booking by saving it through the services (see the module docstring)."""

    actor = None  # the staff member saving, set per request by BookingAdmin.get_form

    class Meta:
        model = Booking
        fields = ("user", "service", "start_time", "end_time", "status", "cancellation_reason", "notes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "end_time" in self.fields:
            self.fields["end_time"].required = False
            self.fields["end_time"].help_text = "Leave blank: the start time plus the service's duration."

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
    """The booking's history: read-only, as the database keeps it (a trigger refuses changes)."""

    model = BookingEvent
    fields = readonly_fields = ("at", "action", "actor_id", "changes")
    ordering = ("at", "id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(DeletesThroughServices, admin.ModelAdmin):
    form = BookingAdminForm
    inlines = (BookingEventInline,)
    list_display = ("id", "user", "service", "start_time", "end_time", "status")
    list_filter = ("status", "service", "start_time")
    list_select_related = ("user", "service")
    date_hierarchy = "start_time"
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
            return ("user", "service", "start_time", "end_time", "notes")
        return (
            *("user", "service", "start_time", "end_time", "status", "cancellation_reason", "notes"),
            *("cancelled_at", "created_at", "updated_at"),
        )

    def get_readonly_fields(self, request, obj=None):
        # A booking keeps its user and service; the API cannot change them either.
        moved = ("user", "service") if obj else ()
        return (*moved, "cancelled_at", "created_at", "updated_at")

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
