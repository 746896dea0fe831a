"""Demo data for a try-out or a benchmark: users, services, bookings and reviews.

It lives in the ``demo`` app, last in INSTALLED_APPS, because demo data spans
every app and apps only import downwards; its logins are in ``demo.logins``.

Idempotent: every count is a target, not an increment. A second run with the
same options creates nothing; a run with larger counts tops up. The demo admin
and user always exist afterwards.

Bulk loading bypasses the service layer on purpose: ``booking_create`` books
one slot at a time, in the future, as pending, while a benchmark needs a
million rows in minutes, with a history of completed, cancelled and reviewed
bookings. The rows are built to satisfy the same rules instead: each service's
bookings are consecutive, non-overlapping slots (starting after its latest
booking), a status only where the workflow could have put it (completed only
once ended), and reviews only on completed bookings, by their owner. The
database's constraints still check every row.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.models import User
from bookings.models import Booking
from catalog.models import Resource, Service
from demo.logins import DEMO_ADMIN, DEMO_USER, DEMO_USER_DOMAIN
from reviews.models import Review

DEMO_SERVICES = [
    ("Haircut", "Wash, cut and style with a senior stylist.", "35.00", 45),
    ("Deep tissue massage", "Firm pressure massage for back and shoulders.", "70.00", 60),
    ("Yoga private lesson", "One-to-one yoga session for any level.", "50.00", 60),
    ("Tennis court", "Outdoor hard court, rackets available.", "20.00", 60),
    ("Photography studio", "Studio with lights and backdrops, self service.", "90.00", 120),
]
FIRST_NAMES = ["Alice", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam"]
LAST_NAMES = ["Martin", "Okafor", "Schmidt", "Rossi", "Nguyen", "Silva", "Kowalski", "Dubois", "Haddad", "Berg"]
NOTES = ["", "", "", "First visit.", "Please call if running late.", "Bringing a friend.", "Window seat if possible."]
CANCEL_REASONS = ["Changed plans.", "Feeling unwell.", "Booked another time.", "Weather."]
COMMENTS = {
    5: ["Excellent, will come back.", "Perfect from start to finish."],
    4: ["Very good.", "Friendly and on time."],
    3: ["Fine, nothing special.", "Okay, a bit rushed."],
    2: ["Started late.", "Not what I expected."],
    1: ["Disappointing.", "Would not book again."],
}
RATINGS = [5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1]
# Ended bookings are mostly completed; a few are left for complete_past_bookings and expire_pending_bookings.
Status = Booking.Status
ENDED_STATUS_ODDS = {Status.COMPLETED: 75, Status.CANCELLED: 12, Status.CONFIRMED: 7, Status.PENDING: 6}
UPCOMING_STATUS_ODDS = {Status.CONFIRMED: 55, Status.PENDING: 35, Status.CANCELLED: 10}
OPEN, CLOSE = time(8), time(20)  # slots fall within opening hours (UTC)
GAPS_MINUTES = [0, 0, 0, 15, 30, 60]
PAST_SHARE = 0.6  # of a service's first seeded bookings, roughly, lie in the past
REVIEW_SHARE = 0.4  # of completed bookings get a review
BATCH_SIZE = 5000
PROGRESS_FROM = 10_000  # show a progress bar from this many rows


class Progress:
    """One line on stderr, redrawn per batch: enough for a long load, no dependency."""

    def __init__(self, label: str, total: int, stream):
        self.label, self.total, self.done, self.stream = label, total, 0, stream
        self.shown = total >= PROGRESS_FROM

    def advance(self, count: int) -> None:
        self.done += count
        if self.shown:
            filled = 30 * self.done // self.total
            bar = "#" * filled + "." * (30 - filled)
            end = "\n" if self.done >= self.total else ""
            self.stream.write(f"\r  {self.label:<8} [{bar}] {self.done:>10,}/{self.total:,}{end}", ending="")
            self.stream.flush()


def batched(iterable, size: int):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


class Command(BaseCommand):
    help = "Load demo data (idempotent, counts are targets): users, services, bookings and reviews."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=20, help="demo users besides the two logins (default 20)")
        parser.add_argument("--services", type=int, default=5, help="demo services (default 5)")
        parser.add_argument("--bookings", type=int, default=200, help="bookings on the demo services (default 200)")

    def handle(self, *args, users: int, services: int, bookings: int, **options):
        if settings.IS_PROD:
            raise CommandError("seed_demo creates a superuser with a published password; it never runs in prod.")
        if min(users, services, bookings) < 0:
            raise CommandError("--users, --services and --bookings cannot be negative.")
        self.rng = random.Random(42)  # noqa: S311 - demo data, and the same data for the same options
        self.now = timezone.now()
        created_logins = self.ensure_logins()
        created_users = self.ensure_users(users)
        created_services, demo_services = self.ensure_services(services)
        created_bookings, created_reviews = self.ensure_bookings(bookings, demo_services)
        if created_bookings >= PROGRESS_FROM:
            with connection.cursor() as cursor:  # fresh planner statistics for whoever benchmarks next
                cursor.execute("ANALYZE " + ", ".join(m._meta.db_table for m in (User, Service, Booking, Review)))
        self.stdout.write(
            f"seed_demo: created {created_logins + created_users} users, {created_services} services, "
            f"{created_bookings} bookings, {created_reviews} reviews."
        )
        self.stdout.write(f"  admin login: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
        self.stdout.write(f"  user login:  {DEMO_USER[0]} / {DEMO_USER[1]} (demo users share this password)")

    def ensure_logins(self) -> int:
        created = 0
        for (email, password), staff in ((DEMO_ADMIN, True), (DEMO_USER, False)):
            if not User.objects.filter(email=email).exists():
                name = "Demo " + ("Admin" if staff else "User")
                User.objects.create_user(email, password, full_name=name, is_staff=staff, is_superuser=staff)
                created += 1
        return created

    def ensure_users(self, count: int) -> int:
        wanted = {}
        for n in range(1, count + 1):
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
            wanted[f"{first}.{last}.{n}@{DEMO_USER_DOMAIN}".lower()] = f"{first} {last}"
        existing = set(User.objects.filter(email__endswith="@" + DEMO_USER_DOMAIN).values_list("email", flat=True))
        missing = [email for email in wanted if email not in existing]
        password = make_password(DEMO_USER[1])  # hashed once: bcrypt per user would take minutes
        progress = Progress("users", len(missing), self.stderr)
        for emails in batched(missing, BATCH_SIZE):
            User.objects.bulk_create([User(email=e, full_name=wanted[e], password=password) for e in emails])
            progress.advance(len(emails))
        return len(missing)

    def ensure_services(self, count: int) -> tuple[int, list[Service]]:
        rows = {}
        for n in range(count):
            name, description, price, minutes = DEMO_SERVICES[n % len(DEMO_SERVICES)]
            copy = n // len(DEMO_SERVICES)
            name = f"{name} {copy + 1}" if copy else name
            rows[name] = Service(
                name=name, description=description, price=Decimal(price) + copy, duration_minutes=minutes
            )
        existing = set(Service.objects.filter(name__in=rows).values_list("name", flat=True))
        Service.objects.bulk_create([service for name, service in rows.items() if name not in existing])
        return count - len(existing), list(Service.objects.filter(name__in=rows).order_by("pk"))

    def ensure_bookings(self, count: int, services: list[Service]) -> tuple[int, int]:
        missing = count - Booking.objects.filter(service__in=services).count()
        if missing <= 0 or not services:
            return 0, 0
        demo_users = User.objects.filter(Q(email__endswith="@" + DEMO_USER_DOMAIN) | Q(email=DEMO_USER[0]))
        users = list(demo_users.values_list("pk", flat=True))
        # Each service's own resource (made with it): demo bookings keep one calendar per service.
        links = Resource.services.through.objects.filter(service__in=services)
        self.own_resource = dict(links.values_list("service_id").annotate(Min("resource_id")))
        last_end = dict(Booking.objects.filter(service__in=services).values_list("service").annotate(Max("end_time")))
        share, extra = divmod(missing, len(services))
        plans = [(service, share + (i < extra)) for i, service in enumerate(services)]
        rows = (
            booking
            for service, n in plans
            for booking in self.service_bookings(service, n, last_end.get(service.pk), users)
        )
        progress = Progress("bookings", missing, self.stderr)
        reviews = 0
        for batch in batched(rows, BATCH_SIZE):
            with transaction.atomic():
                Booking.objects.bulk_create(batch)
                reviews += len(Review.objects.bulk_create(self.reviews_for(batch)))
            progress.advance(len(batch))
        return missing, reviews

    def service_bookings(self, service: Service, count: int, after: datetime | None, users: list[int]):
        """``count`` bookings of ``service`` in consecutive slots, starting after ``after``."""
        if after is None:  # the first bookings of this service: mostly history, some upcoming
            slots_per_day = max(1, (CLOSE.hour - OPEN.hour) * 60 // (service.duration_minutes + 15))
            after = timezone.make_aware(datetime.combine(self.now.date(), OPEN)) - timedelta(
                days=int(count * PAST_SHARE / slots_per_day) + 1
            )
        duration = timedelta(minutes=service.duration_minutes)
        start = after
        for _ in range(count):
            start = self.next_open_slot(start + timedelta(minutes=self.rng.choice(GAPS_MINUTES)), duration)
            yield self.booking(service, start, start + duration, self.rng.choice(users))
            start += duration

    @staticmethod
    def next_open_slot(start: datetime, duration: timedelta) -> datetime:
        day = start.date()
        opens = timezone.make_aware(datetime.combine(day, OPEN))
        if start < opens:
            return opens
        if start + duration > timezone.make_aware(datetime.combine(day, CLOSE)):
            return opens + timedelta(days=1)
        return start

    def booking(self, service: Service, start: datetime, end: datetime, user_id: int) -> Booking:
        odds = ENDED_STATUS_ODDS if end <= self.now else UPCOMING_STATUS_ODDS
        status = self.rng.choices(list(odds), weights=list(odds.values()))[0]
        booking = Booking(
            user_id=user_id,
            service_id=service.pk,
            resource_id=self.own_resource[service.pk],
            start_time=start,
            end_time=end,
            status=status,
            notes=self.rng.choice(NOTES),
        )
        if status == Status.CANCELLED:
            booking.cancelled_at = min(start - timedelta(days=1), self.now)
            booking.cancellation_reason = self.rng.choice(CANCEL_REASONS)
        return booking

    def reviews_for(self, bookings: list[Booking]) -> list[Review]:
        reviews = []
        for booking in bookings:
            if booking.status == Status.COMPLETED and self.rng.random() < REVIEW_SHARE:
                rating = self.rng.choice(RATINGS)
                reviews.append(
                    Review(
                        booking_id=booking.pk,
                        user_id=booking.user_id,
                        service_id=booking.service_id,
                        rating=rating,
                        comment=self.rng.choice(COMMENTS[rating]),
                    )
                )
        return reviews
