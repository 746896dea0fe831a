from django.utils import timezone
from rest_framework import serializers


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset (``Z`` or ``+02:00``); a time without one is rejected, never guessed."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2030-01-01T10:00:00Z; times without one are ambiguous.",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)
