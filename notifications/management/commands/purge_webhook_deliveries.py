"""Cron (daily), also a periodic job of the queue: delete the webhook delivery log older than WEBHOOK_LOG_DAYS."""

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.services import webhook_delivery_log_purge


class Command(BaseCommand):
    help = "Delete webhook delivery log rows older than WEBHOOK_LOG_DAYS (default 30) days."

    def handle(self, *args, **options):
        deleted = webhook_delivery_log_purge()
        days = settings.WEBHOOK_LOG_DAYS
        self.stdout.write(f"purge_webhook_deliveries: {deleted} row(s) older than {days} days deleted.")
