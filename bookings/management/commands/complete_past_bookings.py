"""Cron: confirmed bookings whose end time has passed become completed (and can then be reviewed)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from bookings import selectors, services


class Command(BaseCommand):
    help = "Mark confirmed bookings whose end time has passed as completed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count the bookings; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        if dry_run:
            count = selectors.booking_list_ended_confirmed(now=now).count()
            self.stdout.write(f"complete_past_bookings: {count} confirmed booking(s) would be completed (dry run).")
        else:
            count = services.bookings_complete_past(now=now)
            self.stdout.write(f"complete_past_bookings: {count} confirmed booking(s) completed.")
