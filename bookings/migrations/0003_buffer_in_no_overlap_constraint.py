"""Buffers: each booking keeps its own ``buffer_minutes`` free after its end, judged by PostgreSQL.

The exclusion constraint moves from ``[start_time, end_time)`` to
``[start_time, end_time + buffer)``: the old one is dropped and the new one
added with the project's own operations, both reversible.
"""

import django.contrib.postgres.constraints
from django.db import migrations, models

import bookings.models
from bookit.db.operations import AddExclusionConstraint, RemoveExclusionConstraint

WITHOUT_BUFFER = {
    "model_name": "booking",
    "table": "bookings_booking",
    "name": "bookings_booking_no_overlap",
    "expressions": [("service_id", "="), ("tstzrange(start_time, end_time, '[)')", "&&")],
    "condition": "status <> 'cancelled'",
    "state_constraint": django.contrib.postgres.constraints.ExclusionConstraint(
        condition=models.Q(("status", "cancelled"), _negated=True),
        expressions=[(models.F("service"), "="), (bookings.models.TsTzRange("start_time", "end_time"), "&&")],
        name="bookings_booking_no_overlap",
        violation_error_code="booking_conflict",
        violation_error_message="This service is already booked at an overlapping time.",
    ),
}

BLOCKED_UNTIL_SQL = """
CREATE FUNCTION bookings_blocked_until(end_time timestamptz, buffer_minutes integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN end_time + buffer_minutes * interval '1 minute'
"""


class Migration(migrations.Migration):
    dependencies = [("bookings", "0002_no_overlap_constraint")]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="buffer_minutes",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunSQL(BLOCKED_UNTIL_SQL, "DROP FUNCTION bookings_blocked_until(timestamptz, integer)"),
        RemoveExclusionConstraint(**WITHOUT_BUFFER),
        AddExclusionConstraint(
            model_name="booking",
            table="bookings_booking",
            name="bookings_booking_no_overlap",
            expressions=[
                ("service_id", "="),
                ("tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes), '[)')", "&&"),
            ],
            condition="status <> 'cancelled'",
            state_constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                condition=models.Q(("status", "cancelled"), _negated=True),
                expressions=[
                    (models.F("service"), "="),
                    (
                        bookings.models.TsTzRange(
                            "start_time", bookings.models.BlockedUntil("end_time", "buffer_minutes")
                        ),
                        "&&",
                    ),
                ],
                name="bookings_booking_no_overlap",
                violation_error_code="booking_conflict",
                violation_error_message="This service is already booked at an overlapping time.",
            ),
        ),
    ]
