"""The resources migrations (catalog 0006, bookings 0010) on 100,000 bookings: forward, back and forward again.

The database goes back to the state before resources (catalog 0005, bookings
0009), is filled in SQL with 100,000 bookings over a few services (one every
90 minutes per service, none overlapping its neighbour even with its buffer;
every tenth cancelled), and migrates forward. Each direction must keep every
booking (the count and a checksum of id, service, period and status) and the
no-overlap guarantee of its side: per resource forward (each service's own
resource, named after it, holds all its bookings), per service backward. The
times of each direction are printed, not asserted (README, "Upgrading";
BENCHMARKS.md): run with ``-s`` to see them.
"""

import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from bookings.models import OVERLAP_CONSTRAINT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BOOKINGS = 100_000
SERVICES = 4
BEFORE = [("catalog", "0005_notification_preferences"), ("bookings", "0009_bookingevent_no_truncate")]
AFTER = [("catalog", "0006_resources"), ("bookings", "0010_resources")]
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)

CHECKSUM_SQL = """
SELECT count(*), md5(string_agg(concat_ws(',', id, service_id, start_time, end_time, status), ';' ORDER BY id))
FROM bookings_booking
"""
# One booking every 90 minutes per service, 60 long, a third with a 15-minute buffer: no two overlap.
FILL_SQL = """
INSERT INTO bookings_booking (user_id, service_id, start_time, end_time, status, notes, cancellation_reason,
                              buffer_minutes, sequence, created_at, updated_at)
SELECT %(user)s, s.id, %(start)s + n * interval '90 minutes', %(start)s + n * interval '90 minutes' + interval '1 hour',
       CASE WHEN n %% 10 = 0 THEN 'cancelled' WHEN n %% 10 < 4 THEN 'completed'
            WHEN n %% 2 = 0 THEN 'confirmed' ELSE 'pending' END,
       '', '', CASE WHEN n %% 3 = 0 THEN 15 ELSE 0 END, 0, now(), now()
FROM unnest(%(services)s::bigint[]) AS s(id), generate_series(0, %(per_service)s - 1) AS n
"""


def migrate(targets) -> float:
    """Migrate to ``targets``; the seconds it took."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    began = time.perf_counter()
    executor.migrate(targets)
    return time.perf_counter() - began


def fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def constraint_definition() -> str | None:
    rows = fetch("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [OVERLAP_CONSTRAINT])
    return rows[0][0] if rows else None


def fill() -> list[int]:
    """Users, services with hours, and the bookings, as the database holds them before resources."""
    apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    user = get_user_model().objects.create(email="migrated@example.com", password="!")  # accounts: not migrated
    service_model = apps.get_model("catalog", "Service")
    hours = apps.get_model("catalog", "WorkingHours")
    services = []
    for n in range(SERVICES):
        service = service_model.objects.create(name=f"Chair {n}", price="10.00", duration_minutes=60)
        hours.objects.create(service=service, weekday=1 + n, start="09:00", end="17:00")
        services.append(service.id)
    with connection.cursor() as cursor:
        params = {"user": user.id, "start": START, "services": services, "per_service": BOOKINGS // SERVICES}
        cursor.execute(FILL_SQL, params)
        cursor.execute("ANALYZE bookings_booking")
    return services


def insert_overlapping(booking_id: int, service_id: int | None = None) -> None:
    """INSERT an active copy of a booking (same period, same resource if any), of ``service_id`` if given.

    Raises what the database says; an accepted copy fails the test (and is rolled back).
    """
    columns = "user_id, service_id, start_time, end_time, buffer_minutes, status, notes, cancellation_reason, sequence"
    resource = ", resource_id" if has_resource_column() else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO bookings_booking ({columns}, created_at, updated_at{resource}) "  # noqa: S608 (constants)
            "SELECT user_id, coalesce(%s, service_id), start_time, end_time, buffer_minutes, 'confirmed', '', '', 0, "
            f"now(), now(){resource} FROM bookings_booking WHERE id = %s",
            [service_id, booking_id],
        )
        raise AssertionError("the overlap was accepted")


def has_resource_column() -> bool:
    return bool(
        fetch(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'bookings_booking' "
            "AND column_name = 'resource_id' AND table_schema = current_schema()"
        )
    )


def refused_by_the_constraint(booking_id: int, service_id: int | None = None) -> bool:
    with pytest.raises(IntegrityError) as refused:
        insert_overlapping(booking_id, service_id)
    return refused.value.__cause__.diag.constraint_name == OVERLAP_CONSTRAINT


def an_active_booking(service_id: int) -> int:
    [(booking_id,)] = fetch(
        "SELECT min(id) FROM bookings_booking WHERE service_id = %s AND status <> 'cancelled'", [service_id]
    )
    return booking_id


def check_forward(services: list[int], checksum: list[tuple], hours: list[tuple]) -> None:
    assert fetch(CHECKSUM_SQL) == checksum
    # Each service has one resource, named after it, and every booking of the service is on it.
    own = fetch(
        "SELECT s.id, s.name, array_agg(r.name), array_agg(r.id) FROM catalog_service s "
        "JOIN catalog_resource_services rs ON rs.service_id = s.id JOIN catalog_resource r ON r.id = rs.resource_id "
        "GROUP BY s.id ORDER BY s.id"
    )
    assert [(service_id, [name]) for service_id, name, _, _ in own] == [
        (service_id, names) for service_id, _, names, _ in own
    ]
    assert [service_id for service_id, *_ in own] == services
    resource_of = {service_id: ids[0] for service_id, _, _, ids in own}
    assert fetch(
        "SELECT service_id, array_agg(DISTINCT resource_id) FROM bookings_booking GROUP BY service_id ORDER BY 1"
    ) == [(service_id, [resource_of[service_id]]) for service_id in services]
    assert fetch('SELECT service_id, weekday, start, "end" FROM catalog_workinghours ORDER BY id') == hours
    # The guarantee is the resource's: no second booking on it then, whatever its service.
    assert constraint_definition().startswith("EXCLUDE USING gist (resource_id WITH =, bookings_session_key(")
    first, second = services[:2]
    assert refused_by_the_constraint(an_active_booking(first))
    assert refused_by_the_constraint(an_active_booking(first), service_id=second)  # one stylist, two services
    assert fetch(CHECKSUM_SQL) == checksum  # the refused rows left nothing behind


def check_backward(services: list[int], checksum: list[tuple], hours: list[tuple]) -> None:
    assert fetch(CHECKSUM_SQL) == checksum
    assert not has_resource_column()
    assert not fetch("SELECT 1 FROM pg_tables WHERE tablename = 'catalog_resource'")
    assert fetch('SELECT service_id, weekday, start, "end" FROM catalog_workinghours ORDER BY id') == hours
    assert constraint_definition().startswith(
        "EXCLUDE USING gist (service_id WITH =, tstzrange(start_time, bookings_blocked_until(end_time, buffer_minutes)"
    )
    assert refused_by_the_constraint(an_active_booking(services[0]))
    assert fetch(CHECKSUM_SQL) == checksum


def test_resources_migrate_100k_bookings_forward_back_and_forward_keeping_them_and_the_guarantee():
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 600000")  # what `manage.py migrate` gets (bookit/settings.py)
    try:
        migrate(BEFORE)
        began = time.perf_counter()
        services = fill()
        filled = time.perf_counter() - began
        checksum = fetch(CHECKSUM_SQL)
        assert checksum[0][0] == BOOKINGS
        hours = fetch('SELECT service_id, weekday, start, "end" FROM catalog_workinghours ORDER BY id')
        assert refused_by_the_constraint(an_active_booking(services[0]))  # the per-service guarantee before

        forward = migrate(AFTER)
        check_forward(services, checksum, hours)
        backward = migrate(BEFORE)
        check_backward(services, checksum, hours)
        again = migrate(AFTER)
        check_forward(services, checksum, hours)
        print(
            f"\nresources migrations on {BOOKINGS:,} bookings over {SERVICES} services: "
            f"fill {filled:.1f} s, forward {forward:.1f} s, backward {backward:.1f} s, forward again {again:.1f} s"
        )
    finally:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
