from datetime import UTC

from django.utils import timezone
from rest_framework import serializers

from bookit.utc import iso_z

NAIVE_MESSAGE = "Include a UTC offset, e.g. 2030-01-01T10:00:00Z; times without one are ambiguous."
RANGE_MESSAGE = "This time is out of range once converted to UTC."


def as_utc(value):
    """The same instant in UTC; PostgreSQL rejects unusual offsets such as +17:06.

    Raises OverflowError when the instant falls outside year 1..9999 in UTC.
    """
    return value.astimezone(UTC)


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset (``Z`` or ``+02:00``); a time without one is rejected, never guessed."""

    default_error_messages = {"naive": NAIVE_MESSAGE, "range": RANGE_MESSAGE}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            return as_utc(value)
        except OverflowError:
            self.fail("range")


def datetime_json(value):
    """What ``DateTimeField`` writes for ``value``: ISO 8601 in UTC with ``Z``, or None.

    For the hot list paths that build rows from ``.values()`` without DRF's per-field work
    (tests compare them with the serializers).
    """
    if value is None:
        return None
    return iso_z(value)
