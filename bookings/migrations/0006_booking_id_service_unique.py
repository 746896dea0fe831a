"""A unique (id, service_id) on bookings: what the foreign keys of a booking's own rows reference.

Always true while ``id`` is the primary key; it exists so reviews can point at
their booking *with* the co-location key (reviews migration 0003), as Citus and
partitioned tables need (SCALING.md).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bookings", "0005_calendar_feed")]

    operations = [
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.UniqueConstraint(fields=("id", "service"), name="bookings_booking_id_service_unique"),
        ),
    ]
