"""Cron: pending bookings whose start time has passed without a confirmation are cancelled."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings import selectors, services
from bookings.models import Booking

MAX_REASON = Booking._meta.get_field("cancellation_reason").max_length


class Command(BaseCommand):
    help = "Cancel pending bookings whose start time has passed without a confirmation."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count the bookings; change nothing.")
        parser.add_argument(
            "--reason", default=services.EXPIRED_REASON, help="Cancellation reason (default: %(default)s)"
        )

    def handle(self, *args, dry_run=False, reason="", **options):
        if not 0 < len(reason) <= MAX_REASON:
            raise CommandError(f"--reason must have 1 to {MAX_REASON} characters.")
        now = timezone.now()
        if dry_run:
            count = selectors.booking_list_expired_pending(now=now).count()
            self.stdout.write(f"expire_pending_bookings: {count} pending booking(s) would be cancelled (dry run).")
        else:
            count = services.bookings_expire_pending(now=now, reason=reason)
            self.stdout.write(f"expire_pending_bookings: {count} pending booking(s) cancelled.")
