"""The schema is ready to be spread by service (SCALING.md): checked on the migrated database, not on the models.

The tables that belong to a booking (``bookings_booking`` and every table with a
``booking_id``) carry ``service_id``; each unique and exclusion constraint on
them includes it, and so does each foreign key from one of them to a booking:
Citus enforces those shard-locally, and PostgreSQL 17+ accepts them on a table
partitioned by ``service_id``. The primary keys on ``id`` alone are the one
step left for the move itself (SCALING.md, "The move"); a new one fails here.
"""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

PRIMARY_KEYS_ON_ID = {"bookings_booking_pkey", "bookings_bookingevent_pkey", "reviews_review_pkey"}


def booking_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'booking_id'"
        )
        return {"bookings_booking"} | {row[0] for row in cursor.fetchall()}


def test_every_table_of_a_booking_carries_service_id():
    tables = booking_tables()
    assert tables == {"bookings_booking", "bookings_bookingevent", "reviews_review"}  # not idempotency keys
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'service_id' AND table_name = ANY(%s)",
            [sorted(tables)],
        )
        assert {row[0] for row in cursor.fetchall()} == tables


def test_every_unique_exclusion_and_booking_foreign_key_includes_service_id():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, c.contype, c.confrelid::regclass::text,
                   ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey))
            FROM pg_constraint c
            WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('p', 'u', 'x', 'f')
            """,
            [sorted(booking_tables())],
        )
        rows = cursor.fetchall()
    checked = [
        (name, columns)
        for name, kind, referenced, columns in rows
        if kind in "ux" or (kind == "f" and referenced in booking_tables())
    ]
    assert {"bookings_booking_no_overlap", "reviews_review_one_per_booking"} <= {name for name, _ in checked}
    assert [name for name, columns in checked if "service_id" not in columns] == []
    assert {name for name, kind, _, columns in rows if kind == "p" and "service_id" not in columns} == (
        PRIMARY_KEYS_ON_ID
    )
