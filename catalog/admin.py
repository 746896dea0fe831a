from django.contrib import admin, messages

from catalog import selectors, services
from catalog.models import Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    """Services for staff. Writes go through ``catalog.services``, like the API's."""

    list_display = ("name", "price", "duration_minutes", "is_active", "booking_count", "average_rating", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("name", "description")  # also what the booking admin's autocomplete searches
    readonly_fields = ("created_at", "updated_at")
    exclude = ("search_vector",)
    actions = ("activate", "deactivate")

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

    def delete_model(self, request, obj):
        services.service_delete(service=obj)

    def delete_queryset(self, request, queryset):
        for service in queryset:
            services.service_delete(service=service)

    @admin.action(description="Activate selected services", permissions=["change"])
    def activate(self, request, queryset):
        changed = services.service_set_active(services=queryset, is_active=True)
        self.message_user(request, f"{changed} service(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected services (they keep their bookings)", permissions=["change"])
    def deactivate(self, request, queryset):
        changed = services.service_set_active(services=queryset, is_active=False)
        self.message_user(request, f"{changed} service(s) deactivated.", messages.SUCCESS)
