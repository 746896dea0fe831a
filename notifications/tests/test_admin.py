"""Webhooks in the admin: the endpoint form checks URLs as the API does; the delivery log is read-only."""

import pytest

from bookings import services
from bookings.tests.factories import future
from bookit.testing.jobs import queued, run_jobs
from catalog.tests.factories import ServiceFactory
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def test_the_endpoint_form_refuses_a_private_url(staff_client):
    response = staff_client.post(
        "/admin/notifications/webhookendpoint/add/", {"url": "https://10.0.0.1/hook", "is_active": "on"}
    )
    assert response.status_code == 200
    assert "private, loopback" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_form_adds_through_the_service(staff_client, receiver):
    response = staff_client.post(
        "/admin/notifications/webhookendpoint/add/",
        {"url": receiver.url, "is_active": "on", "events": ["booking.cancelled"], "description": "CRM"},
    )
    assert response.status_code == 302, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.events == ["booking.cancelled"]


@pytest.fixture
def delivery(receiver, user):
    webhook_endpoint_create(url=receiver.url)
    services.booking_create(user=user, service=ServiceFactory(), start_time=future(48))
    run_jobs()
    return WebhookDelivery.objects.get()


def test_the_delivery_log_is_read_only(staff_client, delivery):
    page = staff_client.get(f"/admin/notifications/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    response = staff_client.post(
        "/admin/notifications/webhookdelivery/", {"action": "delete_selected", "_selected_action": [delivery.pk]}
    )
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert response.status_code in (200, 302)


def test_send_again_queues_one_more_attempt_and_skips_disabled_endpoints(staff_client, delivery, receiver):
    response = staff_client.post(
        "/admin/notifications/webhookdelivery/", {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    assert response.status_code == 302
    (again,) = queued("deliver_webhook")
    assert (again["attempt"], again["retry"]) == (2, False)
    run_jobs()
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    WebhookEndpoint.objects.update(is_active=False)
    staff_client.post(
        "/admin/notifications/webhookdelivery/", {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    assert queued("deliver_webhook") == []
