"""The admin-only /webhooks API, the customer's mail switch, and the queue in /health."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.tests.factories import future
from bookit.jobs import defer, job
from bookit.testing.jobs import run_jobs
from catalog.tests.factories import ServiceFactory
from notifications import tasks
from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


class TestWebhooksApi:
    def test_only_admins(self, anon, user_client):
        assert anon.get("/webhooks").status_code == 401
        assert user_client.get("/webhooks").status_code == 403
        assert user_client.post("/webhooks", {"url": "https://example.com/h"}).status_code == 403

    def test_create_read_change_delete(self, admin_client, receiver):
        response = admin_client.post(
            "/webhooks", {"url": receiver.url, "events": ["booking.created"], "description": "CRM"}
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["secret"].startswith("whsec_") and body["events"] == ["booking.created"] and body["is_active"]
        endpoint_id = body["id"]
        assert [e["id"] for e in admin_client.get("/webhooks").json()["results"]] == [endpoint_id]
        changed = admin_client.patch(f"/webhooks/{endpoint_id}", {"events": [], "is_active": False})
        assert changed.status_code == 200 and changed.json()["events"] == [] and not changed.json()["is_active"]
        assert admin_client.delete(f"/webhooks/{endpoint_id}").status_code == 204
        assert admin_client.get(f"/webhooks/{endpoint_id}").status_code == 404

    def test_unknown_event_types_are_400(self, admin_client, receiver):
        response = admin_client.post("/webhooks", {"url": receiver.url, "events": ["booking.exploded"]})
        assert response.status_code == 400
        assert not WebhookEndpoint.objects.exists()

    @pytest.mark.parametrize(
        "url",
        [
            "http://example.com/hook",  # not https
            "https://127.0.0.1/hook",  # loopback
            "https://10.1.2.3/hook",  # private
            "https://169.254.169.254/latest/meta-data",  # cloud metadata
            "https://[::1]/hook",
            "https://[::ffff:192.168.0.1]/hook",  # private, IPv4 in IPv6
            "https://224.0.0.1/hook",  # multicast
            "https://does-not-resolve.invalid/hook",
            "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the metadata address
            "https://[2002:a9fe:a9fe::]/hook",  # 6to4 of it
            "https://93.184.215.14/hé",  # not percent-encoded
            "https://93.184.215.14:0/hook",
        ],
    )
    def test_urls_inside_the_network_are_refused(self, admin_client, url):
        response = admin_client.post("/webhooks", {"url": url})
        assert response.status_code == 400
        assert response.json()["code"] == "webhook_url_not_allowed"
        assert not WebhookEndpoint.objects.exists()

    def test_a_public_https_address_is_allowed(self, admin_client):
        response = admin_client.post("/webhooks", {"url": "https://93.184.215.14/hook"})
        assert response.status_code == 201

    def test_a_change_to_a_private_url_is_refused_and_changes_nothing(self, admin_client, receiver, settings):
        endpoint_id = admin_client.post("/webhooks", {"url": receiver.url}).json()["id"]
        settings.WEBHOOK_ALLOW_PRIVATE = False
        response = admin_client.patch(f"/webhooks/{endpoint_id}", {"url": "https://10.0.0.1/x", "description": "y"})
        assert response.status_code == 400 and response.json()["code"] == "webhook_url_not_allowed"
        assert WebhookEndpoint.objects.get(pk=endpoint_id).description == ""

    def test_rotate_secret(self, admin_client, receiver):
        created = admin_client.post("/webhooks", {"url": receiver.url}).json()
        rotated = admin_client.post(f"/webhooks/{created['id']}/rotate-secret")
        assert rotated.status_code == 200
        assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]

    def test_test_sends_a_ping_whatever_the_filter(self, admin_client, receiver):
        created = admin_client.post("/webhooks", {"url": receiver.url, "events": ["booking.cancelled"]}).json()
        response = admin_client.post(f"/webhooks/{created['id']}/test")
        assert response.status_code == 202
        run_jobs()
        (request,) = receiver.received
        assert request.json()["type"] == "ping"
        assert request.headers["webhook-id"] == response.json()["message_id"]

    def test_turning_an_endpoint_back_on_clears_why_it_was_off(self, admin_client, receiver):
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, is_active=False, disabled_reason="410 Gone")
        response = admin_client.patch(f"/webhooks/{endpoint.pk}", {"is_active": True})
        assert response.json()["disabled_reason"] == ""


class TestQueueHealth:
    def test_due_jobs_wait_and_a_later_reminder_does_not(self, anon, user):
        services.booking_create(user=user, service=ServiceFactory(), start_time=future(72))
        run_jobs()  # leaves only the reminder, due in two days
        assert anon.get("/health").json()["queue"] == {"waiting": 0, "oldest_waiting_seconds": None}
        reminder = {"booking_id": 1, "start_time": "2030-01-01T00:00:00Z", "minutes_before": 1}
        defer(
            job(tasks.send_reminder, **reminder),
            job(tasks.send_reminder, schedule_at=timezone.now() - timedelta(minutes=5), **reminder),
        )
        queue = anon.get("/health").json()["queue"]
        assert queue["waiting"] == 2
        assert 299 <= queue["oldest_waiting_seconds"] <= 330


class TestPeriodicJobs:
    def test_maintenance_jobs_run_on_the_queue_once_per_schedule(self, settings):
        from procrastinate.contrib.django import app

        periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
        assert {name: periodic[name].cron for name in settings.PERIODIC_JOBS} == settings.PERIODIC_JOBS
        for name in settings.PERIODIC_JOBS:
            # Workers defer each run once (procrastinate's periodic defers are unique per run), a run
            # still waiting blocks the next (the queueing lock), and a running one blocks another's start.
            assert (app.tasks[name].queueing_lock, app.tasks[name].lock) == (name, name)


class TestProductionWarnings:
    def test_production_without_email_url_warns_at_start_up(self, settings, caplog):
        from notifications.apps import warn_about_settings

        settings.IS_PROD, settings.EMAIL_URL, settings.WEBHOOK_ALLOW_PRIVATE = True, "", True
        warn_about_settings()
        assert [r.getMessage().split(":")[0] for r in caplog.records if r.name == "bookit.settings"] == [
            "EMAIL_URL is not set",
            "WEBHOOK_ALLOW_PRIVATE is on",
        ]

    def test_production_with_email_url_is_quiet(self, settings, caplog):
        from notifications.apps import warn_about_settings

        settings.IS_PROD, settings.EMAIL_URL, settings.WEBHOOK_ALLOW_PRIVATE = True, "smtp://mail:25", False
        warn_about_settings()
        assert not [r for r in caplog.records if r.name == "bookit.settings"]
