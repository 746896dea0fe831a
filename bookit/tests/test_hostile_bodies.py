"""Hostile JSON bodies are a 400 on every endpoint that parses one, never a 500."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from bookings.tests.factories import BookingFactory
from bookit.api.parsers import MAX_DEPTH, nesting_exceeds
from catalog.models import Resource
from catalog.tests.factories import ServiceFactory
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db
DEEP = "[" * 50_000 + "]" * 50_000  # 100 KB: a tenth of the body limit, far past Python's recursion limit
JUST_TOO_DEEP = '{"notes": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"


def operations_with_a_body() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema that takes a request body."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [
        (method, path)
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]


def test_every_endpoint_answers_a_deeply_nested_body_with_400(admin_user, admin_client):
    ids = {
        "/services/": ServiceFactory().pk,
        "/resources/": Resource.objects.create(name="Ann").pk,
        "/bookings/": BookingFactory(user=admin_user).pk,
        "/reviews/": ReviewFactory(booking__user=admin_user).pk,
    }
    operations = operations_with_a_body()
    assert len(operations) >= 12
    answers = {}
    for method, path in operations:
        url = path.replace("{id}", str(next((pk for prefix, pk in ids.items() if path.startswith(prefix)), 0)))
        for body in (DEEP, JUST_TOO_DEEP):
            headers = {"HTTP_IDEMPOTENCY_KEY": f"deep-{len(body)}"} if path == "/bookings" else {}
            response = getattr(admin_client, method)(url, body, content_type="application/json", **headers)
            answers[(method, path, len(body))] = (response.status_code, response.json()["code"])
    assert set(answers.values()) == {(400, "parse_error")}, answers


def test_nesting_is_measured_without_recursion():
    assert not nesting_exceeds({"a": [{"b": []}]}, 4)
    assert nesting_exceeds({"a": [{"b": []}]}, 3)
    assert not nesting_exceeds("text", 0)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_exceeds(deep, MAX_DEPTH)
