"""The schema says what goes over the wire, so a generated client can use it as is.

A client generated from /openapi.json (tests/test_generated_client.py runs one)
believes every type: an id typed ``number`` makes it send ``1.0``, a time typed
``string`` leaves its users to guess the format, an error declared as
``text/calendar`` makes it read JSON as a calendar. ``problems`` walks the whole
generated schema, every operation's parameters and every schema reachable from
them, so a new endpoint, filter or field is held to the same rules:

- an id (a path parameter, a query parameter or a property named ``id``, ``*_id``
  or after a foreign key of BookIt's models) is an ``integer``; and no parameter
  is a ``number`` but the amounts listed here, whatever its name;
- a time (named ``at``, ``from``, ``*_at``, ``*_time``, ...) is a ``date-time``, a
  ``date``, either of them (``oneOf``), or a wall-clock time with its documented
  pattern;
- every error status (4xx, 5xx) is the ``Error`` component, as ``application/json``.
"""

import copy
import json
import re

import django_filters
import pytest
from django.apps import apps
from django.db import models
from django.urls import path
from drf_spectacular.generators import SchemaGenerator

from bookings.models import Booking
from bookings.views import BookingViewSet
from bookit.api.filters import FilterSet, IdFilter
from catalog.serializers import CLOCK_TIME_PATTERN

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
BOOKIT_APPS = {"accounts", "catalog", "bookings", "reviews", "notifications"}

# Parameters that are decimal amounts, not ids (any other `number` parameter is a mistake).
AMOUNTS = {"min_price", "max_price"}
# Path parameters that are not ids.
NOT_IDS = {"token": "the calendar feed's secret"}
# Error statuses with a body of their own, and why.
NOT_ERRORS = {("/health", "get", "503"): "the health report itself: monitors read which part is `unavailable`"}

TIME_NAMES = {"at", "from", "to", "start", "end", "since", "until", "date"}
TIME_SUFFIXES = ("_at", "_time", "_date", "_from", "_until")
TIME_FORMATS = {"date-time", "date"}


def _foreign_keys() -> tuple[set[str], set[str]]:
    """Names of the foreign keys of BookIt's models: those to integer keys, and those to other keys."""
    integer, other = set(), set()
    for model in apps.get_models():
        if model._meta.app_label not in BOOKIT_APPS:
            continue
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and (field.many_to_one or field.one_to_one):
                target = field.target_field
                keyed = isinstance(target, (models.AutoField, models.IntegerField, models.BigIntegerField))
                (integer if keyed else other).add(field.name)
    return integer, other


def is_id(name: str, integer_keys: set[str], other_keys: set[str]) -> bool:
    stem = name.removesuffix("_id")
    if stem in other_keys:  # a webhook message's id is a string, as Standard Webhooks has it
        return False
    return name == "id" or name.endswith("_id") or stem in integer_keys


def is_time(name: str) -> bool:
    return name in TIME_NAMES or name.endswith(TIME_SUFFIXES) or name.startswith("date_")


def _time_typed(schema: dict) -> bool:
    if "oneOf" in schema:
        return all(_time_typed(option) for option in schema["oneOf"])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _time_typed(schema["allOf"][0])
    return schema.get("format") in TIME_FORMATS or schema.get("pattern") == CLOCK_TIME_PATTERN


def _schemas(where: str, schema: dict):
    """``(where, name, schema)`` of every named property inside ``schema``, however deeply nested."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{where}.{name}", name, prop
        yield from _schemas(f"{where}.{name}", prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _schemas(f"{where}[]", schema[key])
    for key in ("allOf", "oneOf", "anyOf"):
        for option in schema.get(key, []):
            yield from _schemas(where, option)


def _reference(typed: dict) -> bool:
    """A related object shown whole (``"resource": {"id", "name"}``): its own component's ``id`` is walked too."""
    return "$ref" in typed or any("$ref" in option for option in typed.get("allOf", []))


def problems(schema: dict) -> list[str]:
    """Every id not typed ``integer``, time without a time format, and error status that is not an ``Error``."""
    integer_keys, other_keys = _foreign_keys()
    found = []

    def check(where: str, name: str, typed: dict, *, parameter: str | None = None) -> None:
        if parameter == "path" and name not in NOT_IDS and typed.get("type") != "integer":
            found.append(f"{where}: a path id typed {typed}")
        elif is_id(name, integer_keys, other_keys) and typed.get("type") != "integer" and not _reference(typed):
            found.append(f"{where}: an id typed {typed}")
        if parameter and typed.get("type") == "number" and name not in AMOUNTS:
            found.append(f"{where}: a number parameter (an id? clients send 1.0): {typed}")
        if is_time(name) and not _time_typed(typed):
            found.append(f"{where}: a time typed {typed}")

    for name, component in schema["components"]["schemas"].items():
        for where, prop_name, prop in _schemas(f"#/components/schemas/{name}", component):
            check(where, prop_name, prop)
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            where = f"{method.upper()} {route}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query"):
                    at = f"{where} ?{parameter['name']}"
                    check(at, parameter["name"], parameter["schema"], parameter=parameter["in"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                for at, prop_name, prop in _schemas(f"{where} body", media.get("schema", {})):
                    check(at, prop_name, prop)
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    for at, prop_name, prop in _schemas(f"{where} {status}", media.get("schema", {})):
                        check(at, prop_name, prop)
                error = int(status) >= 400 and (route, method, status) not in NOT_ERRORS
                if error and response.get("content") != ERROR:
                    found.append(f"{where} {status}: not an Error as JSON: {response.get('content')}")
    return found


@pytest.fixture(scope="module")
def schema() -> dict:
    """/openapi.json as clients read it (the same generator, hooks included), without a request."""
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def test_the_schema_has_no_mistyped_id_time_or_error(schema):
    assert problems(schema) == []


def test_the_walk_finds_each_kind_of_mistake(schema):
    """The walk itself can fail: each mistake the issue found, put back, is reported."""
    broken = copy.deepcopy(schema)
    bookings = broken["paths"]["/bookings"]["get"]["parameters"]
    next(parameter for parameter in bookings if parameter["name"] == "service")["schema"] = {"type": "number"}
    bookings.append({"in": "query", "name": "room", "schema": {"type": "number"}})  # an id by no name we know
    retrieve = broken["paths"]["/bookings/{id}"]["get"]
    retrieve["parameters"][0]["schema"] = {"type": "string", "pattern": "^[0-9]+$"}
    ics = broken["paths"]["/bookings/{id}/ics"]["get"]["responses"]
    ics["404"]["content"]["text/calendar"] = ics["404"]["content"]["application/json"]
    broken["paths"]["/health"]["get"]["responses"]["400"]["content"] = {"application/json": {"schema": {}}}
    booking = broken["components"]["schemas"]["Booking"]["properties"]
    booking["service_id"] = {"type": "string"}
    booking["created_at"] = {"type": "string"}
    found = "\n".join(problems(broken))
    for expected in (
        "GET /bookings ?service: an id",
        "GET /bookings ?service: a number parameter",
        "GET /bookings ?room: a number parameter",
        "GET /bookings/{id} ?id: a path id",
        "GET /bookings/{id}/ics 404: not an Error",
        "GET /health 400: not an Error",
        "#/components/schemas/Booking.service_id: an id",
        "#/components/schemas/Booking.created_at: a time",
    ):
        assert expected in found
    assert len(found.splitlines()) == 8


class ProbeFilter(FilterSet):
    """Id filters declared the ways a new one might be: each must come out ``integer``."""

    id_filter = IdFilter(field_name="service_id")
    on_a_foreign_key = django_filters.NumberFilter(field_name="service")  # django-filter's own, on a relation
    on_its_column = django_filters.NumberFilter(field_name="user_id")
    on_the_key = django_filters.NumberFilter(field_name="id")
    amount = django_filters.NumberFilter(field_name="service__price")  # a decimal stays a number

    class Meta:
        model = Booking
        fields = ["id_filter", "on_a_foreign_key", "on_its_column", "on_the_key", "amount"]


class ProbeViewSet(BookingViewSet):
    filterset_class = ProbeFilter


def test_every_way_of_filtering_by_id_is_an_integer():
    generator = SchemaGenerator(patterns=[path("probe", ProbeViewSet.as_view({"get": "list"}))])
    operation = generator.get_schema(request=None, public=True)["paths"]["/probe"]["get"]
    types = {parameter["name"]: parameter["schema"]["type"] for parameter in operation["parameters"]}
    assert {name: types[name] for name in ProbeFilter.base_filters} == {
        "id_filter": "integer",
        "on_a_foreign_key": "integer",
        "on_its_column": "integer",
        "on_the_key": "integer",
        "amount": "number",
    }


def test_the_calendars_declare_text_calendar_only(schema):
    for route in ("/bookings/{id}/ics", "/calendar/{token}.ics"):
        operation = schema["paths"][route]["get"]
        assert operation["responses"]["200"]["content"] == {"text/calendar": {"schema": {"type": "string"}}}
        assert not any(parameter["name"] == "format" for parameter in operation["parameters"])


def test_the_bookings_filters_on_ids_are_integers(schema):
    parameters = {parameter["name"]: parameter for parameter in schema["paths"]["/bookings"]["get"]["parameters"]}
    assert parameters["service"]["schema"] == {"type": "integer"}
    assert parameters["user"]["schema"]["type"] == "integer"
    assert re.search(r"Admins only", parameters["user"]["description"])
