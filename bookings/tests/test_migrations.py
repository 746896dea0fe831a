"""The exclusion constraint's migration runs forward, backward to zero, and forward again."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from bookings.models import OVERLAP_CONSTRAINT
from bookit.db.operations import AddExclusionConstraint

pytestmark = pytest.mark.django_db(transaction=True)


def constraint_definition():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [OVERLAP_CONSTRAINT])
        row = cursor.fetchone()
    return row[0] if row else None


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


def test_forward_backward_forward():
    assert "EXCLUDE USING gist" in constraint_definition()
    try:
        migrate(("reviews", None), ("bookings", "0001_initial"))
        assert constraint_definition() is None
        migrate(("bookings", None))
        migrate(("bookings", "0002_no_overlap_constraint"))
        definition = constraint_definition()
        assert "service_id WITH =" in definition
        assert "tstzrange(start_time, end_time, '[)'::text) WITH &&" in definition
        assert "WHERE (((status)::text <> 'cancelled'::text))" in definition
    finally:
        call_command("migrate", verbosity=0)
    assert "bookings_blocked_until(end_time, buffer_minutes)" in constraint_definition()


def test_the_buffered_constraint_goes_back_to_the_plain_one_and_forward_again():
    """0003 drops 0002's constraint and adds the buffered one, both ways, with the project's own operations."""
    try:
        migrate(("reviews", None), ("bookings", "0002_no_overlap_constraint"))
        assert "tstzrange(start_time, end_time, '[)'::text) WITH &&" in constraint_definition()
        migrate(("bookings", "0003_buffer_in_no_overlap_constraint"))
        definition = constraint_definition()
        assert (
            "tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes), '[)'::text) WITH &&" in definition
        )
        assert "WHERE (((status)::text <> 'cancelled'::text))" in definition
    finally:
        call_command("migrate", verbosity=0)


def history_truncates() -> bool:
    """Whether TRUNCATE of the history goes through (rolled back either way)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE bookings_bookingevent")
            raise RuntimeError("roll back")
    except RuntimeError:
        return True
    except DatabaseError:
        return False


def test_the_truncate_trigger_goes_back_and_forward_again():
    assert not history_truncates()
    try:
        migrate(("bookings", "0008_feed_ends_with_password"))
        assert history_truncates()
        migrate(("bookings", "0009_bookingevent_no_truncate"))
        assert not history_truncates()
    finally:
        call_command("migrate", verbosity=0)
    assert not history_truncates()


def test_operation_sql_and_state():
    operation = AddExclusionConstraint(
        model_name="thing", table="app_thing", name="no_clash", expressions=[("room_id", "="), ("period", "&&")]
    )
    assert operation.sql[0] == "CREATE EXTENSION IF NOT EXISTS btree_gist"
    assert operation.sql[1] == (
        'ALTER TABLE "app_thing" ADD CONSTRAINT "no_clash" EXCLUDE USING gist (room_id WITH =, period WITH &&)'
    )
    assert operation.reverse_sql == ['ALTER TABLE "app_thing" DROP CONSTRAINT IF EXISTS "no_clash"']
    name, args, kwargs = operation.deconstruct()
    assert name == "bookit.db.operations.AddExclusionConstraint"
    assert AddExclusionConstraint(*args, **kwargs).sql == operation.sql


def test_sqlmigrate_shows_the_sql(capsys):
    call_command("sqlmigrate", "bookings", "0002")
    out = capsys.readouterr().out
    assert "EXCLUDE USING gist (service_id WITH =, tstzrange(start_time, end_time, '[)') WITH &&)" in out
    assert "WHERE (status <> 'cancelled')" in out


@pytest.mark.django_db(transaction=False)
def test_raw_sql_and_model_state_describe_the_same_constraint():
    """The migration's hand-written SQL and the model's ExclusionConstraint must not drift apart."""
    from bookings.models import Booking

    from_migration = constraint_definition()
    state = next(c for c in Booking._meta.constraints if c.name == OVERLAP_CONSTRAINT)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE bookings_booking DROP CONSTRAINT {OVERLAP_CONSTRAINT}")
    with connection.schema_editor() as editor:
        editor.add_constraint(Booking, state)  # the DDL Django derives from the model state
    from_state = constraint_definition()  # the test's transaction rolls all this back
    exclude_sql, where_sql = from_migration.split(" WHERE ")
    state_exclude_sql, state_where_sql = from_state.split(" WHERE ")
    assert state_exclude_sql == exclude_sql
    # Django writes ~Q(status="cancelled") as NOT (status = 'cancelled'); the same rule for a NOT NULL column.
    assert where_sql == "(((status)::text <> 'cancelled'::text))"
    assert state_where_sql == "((NOT ((status)::text = 'cancelled'::text)))"
