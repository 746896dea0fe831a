from rest_framework import serializers

from bookit.api.serializers import InputSerializer
from notifications.models import EventType, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            *("id", "url", "events", "is_active", "description", "disabled_reason", "secret"),
            *("created_at", "updated_at"),
        ]
        read_only_fields = fields
        extra_kwargs = {
            "secret": {"help_text": "Signs every message (Standard Webhooks); rotate with rotate-secret."},
            "disabled_reason": {"help_text": "Why BookIt turned the endpoint off (410 Gone, retries spent)."},
        }


class WebhookEndpointInputSerializer(InputSerializer):
    """``POST /webhooks`` (``url`` required) and ``PATCH /webhooks/{id}`` (any subset)."""

    url = serializers.URLField(max_length=2000, help_text="https, on a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        max_length=len(EventType.choices),
        help_text="The event types to send; empty or absent: all.",
    )
    is_active = serializers.BooleanField(required=False, help_text="true again after BookIt disabled it.")
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)


class WebhookPingSerializer(serializers.Serializer):
    message_id = serializers.CharField(help_text="The ping's webhook-id; its delivery shows in the admin's log.")
