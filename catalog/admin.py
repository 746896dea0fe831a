"""Services in the admin. Writes go through ``catalog.services``, like the API's.

The opening-hours inlines are built from reusable parts (``IntervalFormSet``
and the forms of ``catalog.admin_forms``): a resource's hours and exceptions
are the same inlines with another model (subclass ``WorkingHoursInline`` and
``ScheduleExceptionInline``, setting ``model``).
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from bookit.admin import DeletesThroughServices
from bookit.domain_errors import DomainError
from catalog import selectors, services
from catalog.admin_forms import ExceptionForm, WeeklyHoursForm
from catalog.models import ScheduleException, Service, WorkingHours
from catalog.schedule import check_intervals


class IntervalFormSet(BaseInlineFormSet):
    """The inline rows of one list (weekly hours or exceptions), checked by the services' own rule."""

    key: str  # the day column: "weekday" or "date"
    field: str  # the service's list: "working_hours" or "exceptions"

    def rows(self) -> list[dict]:
        return [
            {name: form.cleaned_data.get(name) for name in (self.key, "start", "end")}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def clean(self):
        super().clean()
        if not any(self.errors):
            try:
                check_intervals(self.rows(), key=self.key, field=self.field)
            except DomainError as exc:
                raise ValidationError(exc.message) from exc


class WorkingHoursFormSet(IntervalFormSet):
    key, field = "weekday", "working_hours"


class ExceptionFormSet(IntervalFormSet):
    key, field = "date", "exceptions"


class WorkingHoursInline(admin.TabularInline):
    """Weekly hours: the weekday by name, times as HH:MM, in the owner's time zone."""

    model = WorkingHours
    form = WeeklyHoursForm
    formset = WorkingHoursFormSet
    fields = ("weekday", "start", "end")
    extra = 0


class ScheduleExceptionInline(admin.TabularInline):
    """Dated exceptions: other hours on a date (HH:MM), or closed all day (no times)."""

    model = ScheduleException
    form = ExceptionForm
    formset = ExceptionFormSet
    fields = ("date", "start", "end")
    extra = 0


@admin.register(Service)
class ServiceAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Services for staff. Writes go through ``catalog.services``, like the API's."""

    list_display = ("name", "price", "duration_minutes", "is_active", "booking_count", "average_rating", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("name", "description")  # also what the booking admin's autocomplete searches
    readonly_fields = ("created_at", "updated_at")
    exclude = ("search_vector",)
    actions = ("activate", "deactivate")
    inlines = (WorkingHoursInline, ScheduleExceptionInline)

    def get_queryset(self, request):
        # Both columns come with the rows: a constant number of queries per page.
        return selectors.service_list_with_stats()

    @admin.display(description="bookings", ordering="booking_count")
    def booking_count(self, service):
        return service.booking_count

    @admin.display(description="average rating", ordering="average_rating", empty_value="-")
    def average_rating(self, service):
        return service.average_rating

    def save_model(self, request, obj, form, change):
        given = form.changed_data if change else form.cleaned_data  # a change writes only what the form changed
        fields = {name: form.cleaned_data[name] for name in services.WRITABLE_FIELDS if name in given}
        if change:
            services.service_update(service=obj, **fields)
        else:
            # The admin goes on with `obj` (log entry, redirect): give it the new row's id.
            obj.pk = services.service_create(**fields).pk

    def save_related(self, request, form, formsets, change):
        """The inlines' lists replace the service's through ``service_update``, like a PATCH with them."""
        changed = {formset.field: formset.rows() for formset in formsets if formset.has_changed()}
        if changed:
            services.service_update(service=form.instance, **changed)
        for formset in formsets:  # what the admin's change message reads; the service wrote the rows
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_through_service(self, request, obj):
        services.service_delete(service=obj)

    @admin.action(description="Activate selected services", permissions=["change"])
    def activate(self, request, queryset):
        changed = services.service_set_active(services=queryset, is_active=True)
        self.message_user(request, f"{changed} service(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected services (they keep their bookings)", permissions=["change"])
    def deactivate(self, request, queryset):
        changed = services.service_set_active(services=queryset, is_active=False)
        self.message_user(request, f"{changed} service(s) deactivated.", messages.SUCCESS)
