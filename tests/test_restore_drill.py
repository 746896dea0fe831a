"""A restore drill: a backup (``pg_dump -Fc``) of a populated database, restored afresh, keeps every guarantee.

The README's Deployment section says how to back up and restore; this test does
exactly that, with the client programs of the server's own major version
(Debian's PostgreSQL 15, or the embedded PostgreSQL 18's). The copy has the same
constraints, triggers, functions, indexes, extensions, rows and sequence
positions as the original, and it still defends itself: sixteen clients racing
for one slot through gunicorn on the copy give exactly one booking, and the
history there still refuses UPDATE and DELETE.
"""

import io
import re

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from accounts.tests.factories import UserFactory
from bookings import services
from bookings.selectors import OVERLAPPING_PAIRS_SQL
from bookings.tests.factories import future
from bookit.testing.live_server import LiveServer, sibling_env
from bookit.tests.http import race, token_for
from bookit.utc import iso_z
from catalog.tests.factories import ServiceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CLIENTS = 16

# What a restore must bring back besides the rows: the schema's every rule, by name and definition.
SCHEMA = {
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal""",
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc AS p
        WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'
          AND NOT EXISTS (
              SELECT FROM pg_depend WHERE classid = 'pg_proc'::regclass AND objid = p.oid AND deptype = 'e'
          )""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = 'public'""",
    "extensions": "SELECT extname, extversion FROM pg_extension",
    "sequences": "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'",
}
# How PostgreSQL prints a definition is not always how it prints it again once parsed: a CHECK over
# an array of varchar casts each element in the original (ARRAY['a'::varchar::text]) and the whole
# array in the copy ((ARRAY['a'::varchar])::text[]). Definitions are compared without casts,
# parentheses and spaces; names, operators, literals and columns' types stay.
CASTS = re.compile(r"::(?:character varying|timestamp with time zone|double precision|[a-z_][a-z0-9_]*)(?:\[\])?")
TABLES = "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"


def populate() -> list[int]:
    """Demo data (users, services, past and future bookings, reviews) and a history written by the services;
    the ids of two services free from the day after tomorrow on: one books with the one-statement INSERT, the
    other, with a buffer and a cap, under its advisory lock (bookings/writes.py)."""
    call_command("seed_demo", users=4, services=2, bookings=30, stdout=io.StringIO())
    owner, plain = UserFactory(), ServiceFactory()
    service = ServiceFactory(buffer_minutes=30, max_active_bookings_per_user=3)
    kept = services.booking_create(user=owner, service=service, start_time=future(24), actor=owner)
    services.booking_reschedule(booking=kept, start_time=future(30), actor=owner)
    services.booking_cancel(booking=kept, reason="Changed plans.", actor=owner)
    gone = services.booking_create(user=owner, service=service, start_time=future(26), actor=owner)
    services.booking_delete(booking=gone, actor=owner)  # its events stay
    return [plain.id, service.id]


def comparable(value):
    return re.sub(r"[\s()]", "", CASTS.sub("", value)) if isinstance(value, str) else value


def snapshot(conn: psycopg.Connection) -> dict[str, set | dict]:
    """The schema's rules (``SCHEMA``, definitions made ``comparable``) and every table's row count."""
    found = {
        name: {tuple(map(comparable, row)) for row in conn.execute(query).fetchall()} for name, query in SCHEMA.items()
    }
    tables = [name for (name,) in conn.execute(TABLES).fetchall()]
    found["rows"] = {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}  # noqa: S608
    return found


def test_a_restored_backup_keeps_every_constraint_trigger_and_the_no_overlap_guarantee(database_server, tmp_path):
    service_ids = populate()
    tokens = [token_for(UserFactory()) for _ in range(CLIENTS)]
    source = connection.settings_dict["NAME"]
    copy = f"{source}_restored"
    backup = tmp_path / "bookit.dump"

    # The backup and the restore, as the README's Deployment section says.
    database_server.run("pg_dump", "--format=custom", f"--file={backup}", f"--dbname={source}")
    database_server.create_database(copy)
    try:
        database_server.run(
            "pg_restore", "--no-owner", "--single-transaction", "--exit-on-error", f"--dbname={copy}", backup
        )
        with database_server.connect(source) as original, database_server.connect(copy) as restored:
            before, after = snapshot(original), snapshot(restored)
        for name in [*SCHEMA, "rows"]:
            assert after[name] == before[name], name
        assert ("bookings_booking", "bookings_booking_no_overlap", "x") in {row[:3] for row in after["constraints"]}
        assert "bookings_event_immutable" in {name for _, name, *_ in after["triggers"]}
        assert after["rows"]["bookings_booking"] > 30 and after["rows"]["bookings_bookingevent"] > 0

        # Sixteen customers race for one slot of each service through gunicorn on the copy: one wins each.
        start = iso_z(future(48).replace(minute=0))
        attempts = [({"service_id": service_id, "start_time": start}, t) for service_id in service_ids for t in tokens]
        with LiveServer(sibling_env(DATABASE_NAME=copy, GUNICORN_WORKERS="2")) as server:
            results = race([lambda s=s, t=t: server.request("POST", "/bookings", s, token=t)[:2] for s, t in attempts])
        for first in range(0, len(attempts), CLIENTS):  # each service's sixteen
            statuses = sorted(status for status, _ in results[first : first + CLIENTS])
            assert statuses == [201] + [409] * (CLIENTS - 1), results
        winners = [body["id"] for status, body in results if status == 201]

        with database_server.connect(copy) as restored:
            assert restored.execute(OVERLAPPING_PAIRS_SQL).fetchall() == []
            events = "SELECT booking_id, action FROM bookings_bookingevent WHERE booking_id = ANY(%s)"
            assert sorted(restored.execute(events, [winners]).fetchall()) == [
                (won, "created") for won in sorted(winners)
            ]
            # The history still refuses to change, there too.
            for statement in ("UPDATE bookings_bookingevent SET action = action", "DELETE FROM bookings_bookingevent"):
                with pytest.raises(psycopg.errors.RestrictViolation, match="never changed or deleted"):
                    restored.execute(statement)
    finally:
        database_server.drop_database(copy)
