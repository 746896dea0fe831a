"""The one textual form of an instant that BookIt writes: ISO 8601 in UTC with ``Z``."""

from datetime import UTC, datetime


def iso_z(moment: datetime, *, timespec: str = "auto") -> str:
    """``2030-01-01T10:00:00Z``: what DRF's ``DateTimeField`` writes with ``TIME_ZONE = "UTC"``."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
