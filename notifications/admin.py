"""Webhook endpoints and their delivery log for staff; writes go through ``notifications.services``."""

from django import forms
from django.contrib import admin, messages

from bookit.admin import DeletesThroughServices
from notifications import services
from notifications.models import EventType, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import UrlNotAllowed, resolve

EDITABLE = ("url", "events", "is_active", "description")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", help_text=WebhookEndpoint.url.field.help_text)
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = EDITABLE

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            resolve(url)
        except UrlNotAllowed as exc:
            raise forms.ValidationError(exc.message) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(DeletesThroughServices, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "is_active", "event_types", "disabled_reason", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret", "disabled_reason", "created_at", "updated_at")
    actions = ("rotate_secret", "ping")

    @admin.display(description="events")
    def event_types(self, endpoint):
        return ", ".join(endpoint.events) or "all"

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in EDITABLE if not change or name in form.changed_data}
        if change:
            services.webhook_endpoint_update(endpoint=obj, **fields)
        else:
            obj.pk = services.webhook_endpoint_create(**fields).pk

    def delete_through_service(self, request, obj):
        obj.delete()

    @admin.action(description="Rotate the signing secret of the selected endpoints", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        self.message_user(request, f"{len(queryset)} secret(s) rotated.", messages.SUCCESS)

    @admin.action(description="Send a ping to the selected endpoints", permissions=["change"])
    def ping(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_ping(endpoint=endpoint)
        self.message_user(request, f"{len(queryset)} ping(s) queued; see the delivery log.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read-only: one row per attempt; "send again" queues one more attempt."""

    list_display = (
        "at",
        "message_id",
        "event_type",
        "endpoint",
        "attempt",
        "status_code",
        "duration_ms",
        "error",
        "next_attempt_at",
    )
    list_filter = ("status_code", "endpoint")
    list_select_related = ("message", "endpoint")
    search_fields = ("message__id",)
    date_hierarchy = "at"
    actions = ("send_again",)
    show_full_result_count = False

    @admin.display(description="event", ordering="message__type")
    def event_type(self, delivery):
        return delivery.message.type

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is what happened; it is purged after WEBHOOK_LOG_DAYS

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("notifications.change_webhookendpoint")

    @admin.action(description="Send the selected deliveries' messages again", permissions=["resend"])
    def send_again(self, request, queryset):
        queryset = queryset.select_related("endpoint")
        active = [delivery for delivery in queryset if delivery.endpoint.is_active]
        for delivery in active:
            services.webhook_delivery_resend(delivery=delivery)
        self.message_user(request, f"{len(active)} message(s) queued again.", messages.SUCCESS)
        if len(active) < len(queryset):
            skipped = len(queryset) - len(active)
            self.message_user(request, f"{skipped} skipped: their endpoint is disabled.", messages.WARNING)
