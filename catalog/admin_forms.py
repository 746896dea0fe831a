"""Admin form pieces for anything with opening hours or local times: services now, resources next.

Staff read weekdays by name and times as the clocks show them. The models keep
what the API speaks (ISO weekday numbers, ``TimeField``, UTC instants); only
the admin's forms and widgets translate, so the data, the API and the
migrations stay as they are.

* ``WeeklyHoursForm`` / ``ExceptionForm``: an inline row's form (weekday as a
  select of names, times as HH:MM). Base classes without a model: an inline
  gives its own (``WorkingHoursInline`` here; a resource's hours inline reuses
  the forms and formsets of ``catalog.admin`` with its model).
* ``LocalSplitDateTimeField``: a date and a time typed in a zone the form
  names per instance (``tz_name``); see ``catalog.localtime`` for the rules.
"""

from datetime import UTC, datetime

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils import timezone

from catalog.localtime import local_time
from catalog.models import WEEKDAYS

HHMM = "%H:%M"
TIME_INPUT_FORMATS = (HHMM, "%H:%M:%S")  # what staff type; seconds are accepted, never shown


def hhmm_field(*, required: bool) -> forms.TimeField:
    """A time typed and shown as HH:MM."""
    widget = forms.TimeInput(format=HHMM, attrs={"size": 5, "placeholder": "HH:MM", "class": "vTimeField"})
    return forms.TimeField(required=required, input_formats=TIME_INPUT_FORMATS, widget=widget)


class WeeklyHoursForm(forms.ModelForm):
    """One weekly interval: the weekday by name (stored as its ISO number, 1 = Monday), times as HH:MM."""

    weekday = forms.TypedChoiceField(choices=[("", "---------"), *WEEKDAYS.items()], coerce=int)
    start = hhmm_field(required=True)
    end = hhmm_field(required=True)


class ExceptionForm(forms.ModelForm):
    """One dated exception: times as HH:MM; both empty closes the day."""

    start = hhmm_field(required=False)
    end = hhmm_field(required=False)


class LocalSplitDateTimeField(forms.SplitDateTimeField):
    """An instant shown and typed as a date and a time in the zone ``tz_name``, set by the form per instance.

    It cleans to the *naive* wall-clock time: the form turns it into an
    instant with ``catalog.localtime.local_to_utc`` once it knows the zone (a
    new booking's zone is its service's, another field of the same form).
    ``has_changed`` compares in the same zone, so an unchanged form changes
    nothing, even for a time the clocks show twice.
    """

    tz_name: str | None = None

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", AdminSplitDateTime)
        super().__init__(**kwargs)

    def to_wall(self, value):
        """An aware instant as the naive wall-clock time in ``tz_name``; anything else as it is."""
        if isinstance(value, datetime) and timezone.is_aware(value) and self.tz_name:
            return local_time(value, self.tz_name).replace(tzinfo=None)
        return value

    def prepare_value(self, value):
        return super().prepare_value(self.to_wall(value))

    def has_changed(self, initial, data):
        return super().has_changed(self.to_wall(initial), data)

    def compress(self, data_list):
        if not data_list:
            return None
        with timezone.override(UTC):  # the wall clock's digits, before any zone is applied
            return super().compress(data_list).replace(tzinfo=None)
