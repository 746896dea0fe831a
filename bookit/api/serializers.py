"""The base of every request body's (and query's) serializer."""

import copy

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """A ``Serializer`` whose instances bind shallow copies of the declared fields.

    DRF deep-copies every declared field for each serializer instance, which
    re-runs each field's ``__init__`` with deep copies of its arguments: a tenth
    of a ``POST /bookings``. An input serializer's fields are configured once,
    at class definition, and only read while validating (their validators,
    choices and messages too), so a shallow copy per instance is enough: binding
    sets the copy's own name, parent and source. Not for fields with children
    (``ListField``, nested serializers), which are bound to their parent field.
    """

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
