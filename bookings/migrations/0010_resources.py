"""Resources and seats: the no-overlap guarantee moves from the service to the resource.

Each booking moves to its service's own resource (catalog migration 0006).
The exclusion constraint becomes ``resource_id WITH =``, the session key
``WITH <>`` and the period with its buffer ``WITH &&``: overlapping bookings on
one resource must be seats of one group session; any other booking's key is
its own, so it excludes every overlap. A seat is unique per session (a
partial unique index) and within the service's capacity (a trigger: a
constraint cannot read the service's row). Both constraints are dropped and
added with the project's own operations, so the migration runs backwards too.
"""

import django.contrib.postgres.constraints
import django.db.models.deletion
from django.db import migrations, models

import bookings.models
from bookit.db.operations import AddExclusionConstraint, RemoveExclusionConstraint

PERIOD = "tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes), '[)')"
MESSAGE = "This {} is already booked at an overlapping time."


def _period():
    return bookings.models.TsTzRange("start_time", bookings.models.BlockedUntil("end_time", "buffer_minutes"))


PER_SERVICE = {  # bookings migration 0003's constraint
    "model_name": "booking",
    "table": "bookings_booking",
    "name": "bookings_booking_no_overlap",
    "expressions": [("service_id", "="), (PERIOD, "&&")],
    "condition": "status <> 'cancelled'",
    "state_constraint": django.contrib.postgres.constraints.ExclusionConstraint(
        condition=models.Q(("status", "cancelled"), _negated=True),
        expressions=[(models.F("service"), "="), (_period(), "&&")],
        name="bookings_booking_no_overlap",
        violation_error_code="booking_conflict",
        violation_error_message=MESSAGE.format("service"),
    ),
}
PER_RESOURCE = {
    "model_name": "booking",
    "table": "bookings_booking",
    "name": "bookings_booking_no_overlap",
    "expressions": [
        ("resource_id", "="),
        ("bookings_session_key(id, service_id, seat, start_time)", "<>"),
        (PERIOD, "&&"),
    ],
    "condition": "status <> 'cancelled'",
    "state_constraint": django.contrib.postgres.constraints.ExclusionConstraint(
        condition=models.Q(("status", "cancelled"), _negated=True),
        expressions=[
            (models.F("resource"), "="),
            (bookings.models.SessionKey("id", "service", "seat", "start_time"), "<>"),
            (_period(), "&&"),
        ],
        name="bookings_booking_no_overlap",
        violation_error_code="booking_conflict",
        violation_error_message=MESSAGE.format("resource"),
    ),
}

# A session's key: the service in the high 32 bits, the start in whole minutes since 1970 in the
# low 32 (enough until the year 9999); any other booking's is -id, which no session's equals
# (0 for a booking not yet saved, so model validation finds what it would clash with).
SESSION_KEY = """
CREATE FUNCTION bookings_session_key(id bigint, service_id bigint, seat smallint, start_time timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN seat IS NULL THEN -coalesce(id, 0)
            ELSE service_id * 4294967296 + floor(date_part('epoch', start_time AT TIME ZONE 'UTC') / 60)::bigint END
"""
SEAT_WITHIN_CAPACITY = """
CREATE FUNCTION bookings_seat_within_capacity() RETURNS trigger AS $$
BEGIN
    IF NEW.seat > (SELECT capacity FROM catalog_service WHERE id = NEW.service_id) THEN
        RAISE EXCEPTION 'seat % is above the capacity of service %', NEW.seat, NEW.service_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'bookings_booking_seat_within_capacity';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0009_bookingevent_no_truncate"),
        ("catalog", "0006_resources"),
    ]

    operations = [
        RemoveExclusionConstraint(**PER_SERVICE),
        migrations.AddField(
            model_name="booking",
            name="resource",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="bookings", to="catalog.resource"
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="seat",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(
            """
            UPDATE bookings_booking AS b SET resource_id = own.resource_id
            FROM (SELECT service_id, min(resource_id) AS resource_id
                  FROM catalog_resource_services GROUP BY service_id) AS own
            WHERE own.service_id = b.service_id
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="booking",
            name="resource",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="bookings", to="catalog.resource"
            ),
        ),
        migrations.RunSQL(SESSION_KEY, "DROP FUNCTION bookings_session_key(bigint, bigint, smallint, timestamptz)"),
        AddExclusionConstraint(**PER_RESOURCE),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["resource", "start_time"], name="bookings_resource_start_idx"),
        ),
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.UniqueConstraint(
                condition=models.Q(("seat__isnull", False), models.Q(("status", "cancelled"), _negated=True)),
                fields=("resource", "service", "start_time", "seat"),
                name="bookings_booking_one_per_seat",
            ),
        ),
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.CheckConstraint(condition=models.Q(("seat__gte", 1)), name="bookings_booking_seat_from_1"),
        ),
        migrations.RunSQL(
            [
                SEAT_WITHIN_CAPACITY,
                "CREATE TRIGGER bookings_seat_within_capacity BEFORE INSERT OR UPDATE OF seat, service_id"
                " ON bookings_booking FOR EACH ROW WHEN (NEW.seat IS NOT NULL)"
                " EXECUTE FUNCTION bookings_seat_within_capacity()",
            ],
            [
                "DROP TRIGGER bookings_seat_within_capacity ON bookings_booking",
                "DROP FUNCTION bookings_seat_within_capacity()",
            ],
        ),
    ]
