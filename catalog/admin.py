"""Services and resources in the admin. Writes go through ``catalog.services``, like the API's.

The opening-hours inlines are built from reusable parts (``IntervalFormSet``
and the forms of ``catalog.admin_forms``): a resource's hours and exceptions
are the same inlines with the resource as their parent (``fk_name``).

A resource's "day" page (``ResourceAdmin.day_view``) lists the bookings it holds
on one day, in the resource's own time zone: the day is the resource's day
(a stylist's Tuesday is Tuesday where the stylist works), so its times are
read on the same clock, whatever zone each booking's service has.
"""

from datetime import date, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from bookit.admin import DeletesThroughServices
from bookit.domain_errors import DomainError
from catalog import selectors, services
from catalog.admin_forms import ExceptionForm, WeeklyHoursForm
from catalog.localtime import format_local, local_time, local_today
from catalog.models import Resource, ScheduleException, Service, WorkingHours
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


class WritesThroughServices:
    """A ModelAdmin mixin: the form and its hours inlines are saved by the app's create and update services.

    A change writes only what the form changed, like a PATCH; the inlines' lists
    replace the owner's through the update service, like a PATCH with them.
    """

    writable_fields: tuple[str, ...]  # the fields the services take

    def create_through_service(self, fields: dict):
        raise NotImplementedError

    def update_through_service(self, obj, fields: dict) -> None:
        raise NotImplementedError

    def service_value(self, form, name: str):
        """A cleaned form value as the services take it."""
        return form.cleaned_data[name]

    def save_model(self, request, obj, form, change):
        given = form.changed_data if change else form.cleaned_data  # a change writes only what the form changed
        fields = {name: self.service_value(form, name) for name in self.writable_fields if name in given}
        if change:
            self.update_through_service(obj, fields)
        else:
            # The admin goes on with `obj` (log entry, redirect): give it the new row's id.
            obj.pk = self.create_through_service(fields).pk

    def save_related(self, request, form, formsets, change):
        changed = {formset.field: formset.rows() for formset in formsets if formset.has_changed()}
        if changed:
            self.update_through_service(form.instance, changed)
        for formset in formsets:  # what the admin's change message reads; the service wrote the rows
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(Service)
class ServiceAdmin(WritesThroughServices, DeletesThroughServices, admin.ModelAdmin):
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

    writable_fields = services.WRITABLE_FIELDS

    def create_through_service(self, fields: dict) -> Service:
        return services.service_create(**fields)

    def update_through_service(self, obj: Service, fields: dict) -> None:
        services.service_update(service=obj, **fields)

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


class ResourceHoursInline(WorkingHoursInline):
    """A resource's weekly hours, in its zone; none: only the services' hours apply."""

    fk_name = "resource"


class ResourceExceptionInline(ScheduleExceptionInline):
    fk_name = "resource"


@admin.register(Resource)
class ResourceAdmin(WritesThroughServices, DeletesThroughServices, admin.ModelAdmin):
    """Resources for staff: their services, hours and exceptions, and a day page of their bookings."""

    list_display = ("name", "kind", "is_active", "service_names", "timezone", "day_link")
    list_filter = ("kind", "is_active", "services")
    search_fields = ("name",)
    fields = ("name", "kind", "is_active", "timezone", "services", "day_link", "created_at", "updated_at")
    readonly_fields = ("day_link", "created_at", "updated_at")
    filter_horizontal = ("services",)
    inlines = (ResourceHoursInline, ResourceExceptionInline)
    writable_fields = services.RESOURCE_WRITABLE_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")  # one query for the page's names

    @admin.display(description="services")
    def service_names(self, resource):
        return ", ".join(service.name for service in resource.services.all()) or "-"

    @admin.display(description="bookings by day")
    def day_link(self, resource):
        if resource.pk is None:
            return "-"
        return format_html('<a href="{}">Day page</a>', reverse("admin:catalog_resource_day", args=[resource.pk]))

    def service_value(self, form, name: str):
        value = super().service_value(form, name)
        return [service.pk for service in value] if name == "services" else value

    def create_through_service(self, fields: dict) -> Resource:
        return services.resource_create(**fields)

    def update_through_service(self, obj: Resource, fields: dict) -> None:
        services.resource_update(resource=obj, **fields)

    def delete_through_service(self, request, obj):
        services.resource_delete(resource=obj)

    def get_urls(self):
        day = path("<path:object_id>/day/", self.admin_site.admin_view(self.day_view), name="catalog_resource_day")
        return [day, *super().get_urls()]

    def day_view(self, request, object_id):
        """The bookings the resource holds on ``?date=`` (default: today where it is), read-only.

        Two queries however many bookings: the resource, and its bookings with
        their services and customers (``selectors.resource_day``).
        """
        resource = Resource.objects.filter(pk=_id_or_none(unquote(object_id))).first()
        if resource is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, resource):
            raise PermissionDenied
        today = local_today(resource.timezone)
        day = _date_or_none(request.GET.get("date"))
        if day is None:
            if "date" in request.GET:
                self.message_user(request, "Not a date (YYYY-MM-DD): showing today.", messages.WARNING)
            day = today
        rows = [
            _day_row(booking, resource.timezone, day) for booking in selectors.resource_day(resource=resource, day=day)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": resource,
            "title": f"{resource}: {day:%A} {day.day} {day:%B %Y}",
            "resource": resource,
            "rows": rows,
            "day": day,
            "today": today,
            "previous": (day - timedelta(days=1)).isoformat(),
            "next": (day + timedelta(days=1)).isoformat(),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/catalog/resource/day.html", context)


def _id_or_none(value: str) -> int | None:
    return int(value) if value.isdecimal() and len(value) < 19 else None


def _date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _day_row(booking, tz_name: str, day: date) -> dict:
    """One line of the day page; a time on another local day (a booking across midnight) names its date."""

    def clock(moment):
        return format_local(moment, tz_name, date_part=local_time(moment, tz_name).date() != day)

    user = booking.user
    session = {"service__id__exact": booking.service_id, "start_time": booking.start_time.isoformat()}
    return {
        "booking": booking,
        "start": clock(booking.start_time),
        "end": clock(booking.end_time),
        "customer": f"{user.full_name} ({user.email})" if user.full_name else user.email,
        "seat": booking.seat,
        # A group session's attendees: the booking list filtered by its service and start.
        "session_query": urlencode(session) if booking.seat is not None else None,
    }
