"""Cron (daily): delete Idempotency-Key answers older than 24 hours; a retry after that runs again."""

from django.core.management.base import BaseCommand

from accounts.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than 24 hours."

    def handle(self, *args, **options):
        self.stdout.write(f"purge_idempotency_keys: {idempotency_keys_purge()} expired key(s) deleted.")
