"""``bookit.db.updates.model_update``: the one way services update a row they read earlier."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookit.db.updates import given, model_update
from bookit.domain_errors import NotFoundError
from catalog.models import Service
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_writes_only_the_given_columns_and_keeps_a_concurrent_change():
    service = ServiceFactory(name="Old", is_active=True)
    stale = Service.objects.get(pk=service.pk)
    Service.objects.filter(pk=service.pk).update(is_active=False)  # someone else, meanwhile
    with CaptureQueriesContext(connection) as queries:
        written = model_update(instance=stale, data=given(name="New", price=None))
    assert written == ["name", "updated_at"]
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"is_active"' not in update and '"price"' not in update
    service.refresh_from_db()
    assert (service.name, service.is_active) == ("New", False)
    assert service.updated_at == stale.updated_at > service.created_at


def test_nothing_given_runs_no_query(django_assert_num_queries):
    service = ServiceFactory()
    with django_assert_num_queries(0):
        assert model_update(instance=service, data=given(name=None)) == []


def test_a_deleted_row_is_not_found_and_never_inserted_again():
    stale = ServiceFactory()
    Service.objects.filter(pk=stale.pk).delete()
    with pytest.raises(NotFoundError) as error:
        model_update(instance=stale, data={"name": "Back?"})
    assert error.value.status_code == 404
    assert not Service.objects.exists()


def test_the_given_fields_are_validated_before_writing():
    service = ServiceFactory(price=Decimal("10.00"))
    with pytest.raises(ValidationError) as error:
        model_update(instance=Service.objects.get(pk=service.pk), data={"price": Decimal("-1")})
    assert "Price cannot be negative." in str(error.value)
    service.refresh_from_db()
    assert service.price == Decimal("10.00")
