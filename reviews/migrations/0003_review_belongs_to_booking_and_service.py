"""A review's booking is (booking_id, service_id); one review per booking is unique (service_id, booking_id).

Before: a one-to-one on ``booking`` (unique ``booking_id``, a foreign key to
``bookings_booking.id``). After: the same guarantees, each including
``service_id``, the key bookings and reviews are spread and co-located by
(SCALING.md): the foreign key ``(booking_id, service_id)`` references the
booking's ``(id, service_id)`` (bookings migration 0006), so a review's service
is its booking's, and so a unique ``(service_id, booking_id)`` still allows one
review per booking. Django keeps the field as a plain ForeignKey without a
constraint of its own; ``on_delete=PROTECT`` still refuses deleting a reviewed
booking before SQL is sent. Reversible: backwards, the one-to-one comes back.
"""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEY = "reviews_review_booking_same_service_fk"


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_booking_id_service_unique"),
        ("reviews", "0002_service_rating_totals_trigger"),
    ]

    operations = [
        migrations.AlterField(
            model_name="review",
            name="booking",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reviews",
                to="bookings.booking",
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                fields=("service", "booking"),
                name="reviews_review_one_per_booking",
                violation_error_message="This booking already has a review.",
            ),
        ),
        migrations.RunSQL(
            f"ALTER TABLE reviews_review ADD CONSTRAINT {FOREIGN_KEY} FOREIGN KEY (booking_id, service_id) "
            "REFERENCES bookings_booking (id, service_id)",
            f"ALTER TABLE reviews_review DROP CONSTRAINT {FOREIGN_KEY}",
        ),
    ]
