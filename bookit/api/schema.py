"""OpenAPI generation: every operation documents its error responses, and ids are typed as the integers they are.

A client generated from the schema (openapi-python-client, tests/test_generated_client.py)
takes it literally: an id typed ``number`` makes it send ``1.0``, an error declared
as ``text/calendar`` makes it read JSON as a calendar. So the schema says exactly
what goes over the wire; ``bookit/tests/test_schema_types.py`` walks it for the
same class of mistake.
"""

import re

from django import forms
from django.db import models
from django_filters import filters
from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdminOrReadOnly

_SIMPLE_PERMISSIONS = (AllowAny, IsAuthenticated)
# Every error body is JSON, whatever the operation's success answers: the exception handler's
# answer goes through the JSON renderer, or the calendar renderer that writes errors as JSON.
ERROR_MEDIA_TYPE = "application/json"
# A path segment matched by digits only (``lookup_value_regex = "[0-9]+"``) is an integer id.
_DIGITS = re.compile(r"^\^?(\[0-9\]|\\d)\+\$?$")


class AutoSchema(openapi.AutoSchema):
    """Adds the shared ``Error`` response for the statuses an operation can return.

    400 when it reads a body or query filters, 401 always (a bad token is
    rejected everywhere), 403 when it needs more than a login, 404 when the path
    names an object or the list is paginated (`?page=` past the end), 413 and 415
    when it reads a body, 429 when it is throttled,
    503 always (the database is down, or too slow: `database_timeout`). Operation-specific ones (409) are
    declared on the view with ``extend_schema``.
    """

    def _error_statuses(self) -> list[str]:
        statuses = ["401"]
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self.get_filter_backends() or self.method == "GET":
            statuses.append("400")
        if any(self._may_forbid(permission) for permission in self.view.get_permissions()):
            statuses.append("403")
        if "{" in self.path or self._is_list_view():  # a list's page past the end is a 404 too
            statuses.append("404")
        if has_body:
            statuses += ["413", "415"]
        if self.view.get_throttles():
            statuses.append("429")
        statuses.append("503")
        return statuses

    def _may_forbid(self, permission) -> bool:
        if isinstance(permission, _SIMPLE_PERMISSIONS):
            return False
        return not (isinstance(permission, IsAdminOrReadOnly) and self.method in SAFE_METHODS)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, response in responses.items():  # the view's own (409, 422): JSON whatever else it renders
            if int(status) >= 400 and (content := response.get("content")):
                response["content"] = {ERROR_MEDIA_TYPE: content.get(ERROR_MEDIA_TYPE) or next(iter(content.values()))}
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    ErrorSerializer, status, media_types=[ERROR_MEDIA_TYPE], direction=direction
                )
        return responses

    def _resolve_path_parameters(self, variables):
        """drf-spectacular types a path segment with a regex as a string with that pattern; digits are an id."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") == "string" and _DIGITS.match(schema.get("pattern", "")):
                parameter["schema"] = {"type": "integer", "minimum": 0}
        return parameters


class IdFilterExtension(DjangoFilterExtension):
    """django-filter's parameters, with a filter on an id typed ``integer``.

    drf-spectacular types a ``NumberFilter`` ``number`` unless its model field is
    an integer column, and a foreign key (``service_id``) is not one: generated
    clients sent ``?service=1.0``. A number filter is an id when its form field
    takes whole numbers (``bookit.api.filters.IdFilter``) or when it filters a
    relation or a primary key, so a new filter on a foreign key comes out right
    however it is declared. Registered by being defined (a higher priority than
    drf-spectacular's own).
    """

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        if self._is_id(filter_field, model):
            for parameter in parameters:
                parameter["schema"] = {**parameter["schema"], "type": "integer"}
                parameter["schema"].pop("format", None)
        return parameters

    def _is_id(self, filter_field, model) -> bool:
        if not isinstance(filter_field, filters.NumberFilter):
            return False
        whole = issubclass(filter_field.field_class, forms.IntegerField)  # Django's decimal and float fields are too
        if whole and not issubclass(filter_field.field_class, (forms.DecimalField, forms.FloatField)):
            return True
        model_field = self._get_model_field(filter_field, model)
        return isinstance(model_field, models.ForeignObject) or bool(getattr(model_field, "primary_key", False))


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept both forms; the contract names them without the slash."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result["paths"].items()}
    return result


# What a client (or schemathesis' stateful phase) can do next with the object a POST created.
LINKS = {
    "bookings_create": [
        "bookings_retrieve",
        "bookings_partial_update",
        "bookings_status_partial_update",
        "bookings_destroy",
    ],
    "services_create": ["services_retrieve", "services_partial_update", "services_destroy"],
    "reviews_create": ["reviews_partial_update", "reviews_destroy"],
}


def add_links(result, generator, request, public):
    """OpenAPI links from each created object's ``id`` to the operations on it."""
    operations = {
        operation["operationId"]: operation
        for item in result["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for creator, targets in LINKS.items():
        if creator not in operations:
            continue
        created = operations[creator]["responses"]["201"]
        created["links"] = {
            target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for target in targets
            if target in operations
        }
    return result
