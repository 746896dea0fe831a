"""Reviews migration 0003 (one review per booking, each constraint with service_id) runs forward, back and forward."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("reviews", "0002_service_rating_totals_trigger"), ("bookings", "0005_calendar_feed")]


def constraints(table: str) -> set[str]:
    """The definitions of ``table``'s unique and foreign-key constraints."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def test_forward_backward_forward_with_a_review_in_place():
    review = ReviewFactory()
    after = {
        "UNIQUE (service_id, booking_id)",
        "FOREIGN KEY (booking_id, service_id) REFERENCES bookings_booking(id, service_id)",
    }
    assert after <= constraints("reviews_review")
    assert "UNIQUE (id, service_id)" in constraints("bookings_booking")
    try:
        migrate(*BEFORE)
        before = constraints("reviews_review")
        assert "UNIQUE (booking_id)" in before
        assert "FOREIGN KEY (booking_id) REFERENCES bookings_booking(id) DEFERRABLE INITIALLY DEFERRED" in before
        assert not after & before
        assert "UNIQUE (id, service_id)" not in constraints("bookings_booking")
    finally:
        call_command("migrate", verbosity=0)
    assert after <= constraints("reviews_review")
    assert not {"UNIQUE (booking_id)"} & constraints("reviews_review")
    review.refresh_from_db()


def catalog_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM catalog_version")
        return cursor.fetchone()[0]


def renamed_moves_the_version(user, name: str) -> bool:
    before = catalog_version()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET full_name = %s WHERE id = %s", [name, user.pk])
    return catalog_version() != before


def test_0005_forward_backward_forward():
    """Before 0005 any rename moved the catalog's version; after it, only a reviewer's."""
    reviewer, stranger = ReviewFactory().user, UserFactory()
    assert renamed_moves_the_version(reviewer, "A") and not renamed_moves_the_version(stranger, "B")
    try:
        migrate(("reviews", "0004_reviews_move_catalog_version"))
        assert renamed_moves_the_version(reviewer, "C") and renamed_moves_the_version(stranger, "D")
    finally:
        call_command("migrate", verbosity=0)
    assert renamed_moves_the_version(reviewer, "E") and not renamed_moves_the_version(stranger, "F")
