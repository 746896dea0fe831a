"""The schema is ready to be spread by resource (SCALING.md): checked on the migrated database, not on the models.

Bookings are distributed by ``resource_id``, the column of the no-overlap
constraint's ``=``: Citus enforces a unique or exclusion constraint
shard-locally when it includes the distribution column, and PostgreSQL 17+
accepts it on a table partitioned by that column. So every unique index (a
partial one too) and exclusion constraint on ``bookings_booking`` includes
``resource_id``, and the exclusion constraint compares it ``WITH =``.

The tables that belong to a booking (``bookings_booking`` and every table with a
``booking_id``) carry ``service_id``, and the review's unique and its foreign key
to its booking include it (one review per booking, of the booking's service).
What the move itself changes is pinned here, so a new case fails: the primary
keys on ``id`` alone, the unique ``(id, service_id)`` that the reviews' foreign
key references, and that foreign key (SCALING.md, "The move": the review and
the history gain the booking's ``resource_id``).
"""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

PRIMARY_KEYS_ON_ID = {"bookings_booking_pkey", "bookings_bookingevent_pkey", "reviews_review_pkey"}
# The reviews' foreign key and the unique on bookings it references: both become (.., resource_id) at the move.
REVIEW_KEY_ON_SERVICE = "bookings_booking_id_service_unique"
FOREIGN_KEYS_TO_A_BOOKING = {"reviews_review_booking_same_service_fk"}


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


def constraints(kinds: str) -> list[tuple[str, str, str, list[str]]]:
    """(name, kind, referenced table, columns) of the booking tables' constraints of ``kinds`` (pg_constraint)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, c.contype, c.confrelid::regclass::text,
                   ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = ANY(c.conkey))
            FROM pg_constraint c
            WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = ANY(%s)
            """,
            [sorted(booking_tables()), list(kinds)],
        )
        return cursor.fetchall()


def unique_indexes(table: str) -> dict[str, list[str]]:
    """Every unique index of ``table`` (those of primary keys, unique constraints and partial ones) and its columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text,
                   ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = ANY(i.indkey))
            FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique
            """,
            [table],
        )
        return dict(cursor.fetchall())


def test_every_unique_index_and_exclusion_constraint_on_bookings_includes_resource_id():
    keyed = unique_indexes("bookings_booking") | {
        name: columns for name, _, _, columns in constraints("x") if name.startswith("bookings_booking_")
    }
    assert {"bookings_booking_no_overlap", "bookings_booking_one_per_seat"} <= set(keyed)
    assert {name for name, columns in keyed.items() if "resource_id" not in columns} == {
        "bookings_booking_pkey",
        REVIEW_KEY_ON_SERVICE,
    }


def test_the_no_overlap_constraint_compares_the_resource_with_equals():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'bookings_booking_no_overlap'"
        )
        [(definition,)] = cursor.fetchall()
    assert definition.startswith("EXCLUDE USING gist (resource_id WITH =, ")


def test_a_review_is_keyed_by_its_bookings_service_and_nothing_else_points_at_a_booking():
    rows = constraints("uf")
    to_a_booking = {
        name: columns for name, kind, referenced, columns in rows if kind == "f" and referenced in booking_tables()
    }
    assert set(to_a_booking) == FOREIGN_KEYS_TO_A_BOOKING
    assert sorted(to_a_booking["reviews_review_booking_same_service_fk"]) == ["booking_id", "service_id"]
    reviews_unique = [columns for name, kind, _, columns in rows if kind == "u" and name.startswith("reviews_")]
    assert [sorted(columns) for columns in reviews_unique] == [["booking_id", "service_id"]]
    assert {name for name, kind, _, columns in constraints("p") if "service_id" not in columns} == PRIMARY_KEYS_ON_ID
