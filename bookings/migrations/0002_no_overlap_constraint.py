import django.contrib.postgres.constraints
from django.db import migrations, models

import bookings.models
from bookit.db.operations import AddExclusionConstraint


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [
        AddExclusionConstraint(
            model_name="booking",
            table="bookings_booking",
            name="bookings_booking_no_overlap",
            expressions=[
                ("service_id", "="),
                ("tstzrange(start_time, end_time, '[)')", "&&"),
            ],
            condition="status <> 'cancelled'",
            state_constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                condition=models.Q(("status", "cancelled"), _negated=True),
                expressions=[
                    (models.F("service"), "="),
                    (bookings.models.TsTzRange("start_time", "end_time"), "&&"),
                ],
                name="bookings_booking_no_overlap",
                violation_error_code="booking_conflict",
                violation_error_message="This service is already booked at an overlapping time.",
            ),
        ),
    ]
