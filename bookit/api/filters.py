import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with its form class built once per filter set rather than per request.

    django-filter makes a new form class, one form field per filter, every time
    a request is filtered; the fields depend only on the filters' declarations,
    so one class serves every request (each form instance copies its fields).
    """

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class

    @classmethod
    def validated(cls, request) -> dict:
        """The request's filters, cleaned by the filter set's form fields (a 400 naming them otherwise).

        For a view whose selector filters itself. It cleans each field as the form
        would (no form here declares a ``clean`` of its own), without building a
        filter set and a form per request: their deep copies of every filter and
        field cost a third of a list request.
        """
        if "_form_class" not in cls.__dict__:
            cls(queryset=cls._meta.model._default_manager.none()).form  # noqa: B018 (builds the class once)
        cleaned, errors = {}, {}
        for name, field in cls._form_class.base_fields.items():
            value = field.widget.value_from_datadict(request.query_params, {}, name)
            try:
                cleaned[name] = field.clean(value)
            except DjangoValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return cleaned


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number (``2.5`` is an error, not id 2), typed ``integer`` in the schema.

    django-filter's ``NumberFilter`` takes decimals; the schema's ``IdFilterExtension``
    (bookit/api/schema.py) types any number filter on a relation as an integer too.
    """

    field_class = forms.IntegerField
