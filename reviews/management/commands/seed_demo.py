"""Demo data for a try-out: an admin, a user and a few services.

It lives in `reviews`, the top of the app stack, because demo data spans every
app (users, services, bookings, reviews) and apps only import downwards.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from catalog.models import Service

DEMO_ADMIN = ("admin@bookit.local", "admin-demo-pass")
DEMO_USER = ("user@bookit.local", "user-demo-pass")
DEMO_SERVICES = [
    ("Haircut", "Wash, cut and style with a senior stylist.", "35.00", 45),
    ("Deep tissue massage", "Firm pressure massage for back and shoulders.", "70.00", 60),
    ("Yoga private lesson", "One-to-one yoga session for any level.", "50.00", 60),
    ("Tennis court", "Outdoor hard court, rackets available.", "20.00", 60),
    ("Photography studio", "Studio with lights and backdrops, self service.", "90.00", 120),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent): an admin, a user and a few services."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for (email, password), staff in ((DEMO_ADMIN, True), (DEMO_USER, False)):
            if not User.objects.filter(email=email).exists():
                User.objects.create_user(
                    email,
                    password,
                    full_name="Demo " + ("Admin" if staff else "User"),
                    is_staff=staff,
                    is_superuser=staff,
                )
                created += 1
        for name, description, price, minutes in DEMO_SERVICES:
            _, new = Service.objects.get_or_create(
                name=name, defaults={"description": description, "price": Decimal(price), "duration_minutes": minutes}
            )
            created += new
        self.stdout.write(f"seed_demo: {created} objects created.")
        self.stdout.write(f"  admin login: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
        self.stdout.write(f"  user login:  {DEMO_USER[0]} / {DEMO_USER[1]}")
