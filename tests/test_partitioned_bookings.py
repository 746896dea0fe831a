"""bookings_booking hash-partitioned by resource_id, with the project's own exclusion constraint: still no overlap.

Citus spreads a table over nodes by one column and enforces a unique or
exclusion constraint within each shard when the constraint includes that
column with ``=``; PostgreSQL 17+ does the same for the partitions of a table
partitioned by it. The no-overlap constraint is the resource's
(``resource_id WITH =``), so that is the column. This runs on the embedded
PostgreSQL 18, whatever DATABASE_URL says: a throwaway cluster, BookIt
migrated into it, then ``bookings_booking`` rebuilt as 4 hash partitions by
``resource_id`` (primary key ``(id, resource_id)``, the reviews' foreign key
re-pointed at ``(id, service_id, resource_id)``: the steps SCALING.md describes
for the move), and the exclusion constraint added by the SQL of bookings
migration 0010's ``AddExclusionConstraint``, unchanged. Then the races:

* through BookIt under gunicorn, as ``bookings/tests/test_concurrency.py`` does
  on the plain table: only 201s and 409s, and no overlap, also for one
  resource that delivers two services (one stylist, two partitions' worth of
  services, one partition for her bookings);
* straight INSERTs without the advisory lock that BookIt's writes queue on (it
  would not span Citus nodes): the constraint alone keeps every overlap out.
"""

import importlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors

from bookings.selectors import OVERLAPPING_PAIRS_SQL
from bookit.db.operations import AddExclusionConstraint, RemoveExclusionConstraint
from bookit.testing.live_server import PROXIED, LiveServer, production_env
from bookit.testing.postgres import ThrowawayPostgres
from bookit.tests.http import race

pytestmark = [pytest.mark.slow, pytest.mark.scale]
DATABASE = "bookit_partitioned"
PASSWORD = "partition-test-password-123"
PARTITIONS = 4
CLIENTS = 16

PARTITION_BOOKINGS = [
    "ALTER TABLE bookings_booking RENAME TO bookings_booking_plain",
    "CREATE TABLE bookings_booking (LIKE bookings_booking_plain INCLUDING DEFAULTS INCLUDING IDENTITY "
    "INCLUDING CONSTRAINTS) PARTITION BY HASH (resource_id)",
    # The plain table goes, and with it its triggers and the reviews' foreign key to it (recreated below).
    "DROP TABLE bookings_booking_plain CASCADE",
    "ALTER TABLE bookings_booking ADD PRIMARY KEY (id, resource_id)",
    "ALTER TABLE bookings_booking ADD FOREIGN KEY (service_id) REFERENCES catalog_service (id), "
    "ADD FOREIGN KEY (user_id) REFERENCES accounts_user (id), "
    "ADD FOREIGN KEY (resource_id) REFERENCES catalog_resource (id)",
    *(
        f"CREATE TABLE bookings_booking_p{n} PARTITION OF bookings_booking "
        f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {n})"
        for n in range(PARTITIONS)
    ),
    "CREATE INDEX bookings_resource_start_idx ON bookings_booking (resource_id, start_time)",
    # Bookings migration 0010's seat rules: a seat unique per session, within the service's capacity.
    "CREATE UNIQUE INDEX bookings_booking_one_per_seat ON bookings_booking (resource_id, service_id, start_time, seat) "
    "WHERE seat IS NOT NULL AND status <> 'cancelled'",
    "CREATE TRIGGER bookings_seat_within_capacity BEFORE INSERT OR UPDATE OF seat, service_id ON bookings_booking "
    "FOR EACH ROW WHEN (NEW.seat IS NOT NULL) EXECUTE FUNCTION bookings_seat_within_capacity()",
    # A review lives with its booking: it carries the booking's resource, and one foreign key makes both
    # the review's service and its resource the booking's (SCALING.md, "Reviews"). No reviews exist yet.
    "ALTER TABLE bookings_booking ADD CONSTRAINT bookings_booking_id_service_resource_unique "
    "UNIQUE (id, service_id, resource_id)",
    "ALTER TABLE reviews_review ADD COLUMN resource_id bigint NOT NULL, "
    "DROP CONSTRAINT reviews_review_one_per_booking, "
    "ADD CONSTRAINT reviews_review_one_per_booking UNIQUE (resource_id, booking_id), "
    "ADD FOREIGN KEY (booking_id, service_id, resource_id) "
    "REFERENCES bookings_booking (id, service_id, resource_id)",
]


def no_overlap_operation() -> AddExclusionConstraint:
    """The operation that adds today's exclusion constraint, as bookings migration 0010 has it."""
    migration = importlib.import_module("bookings.migrations.0010_resources").Migration
    [operation] = [
        op
        for op in migration.operations
        if isinstance(op, AddExclusionConstraint) and not isinstance(op, RemoveExclusionConstraint)
    ]
    return operation


@pytest.fixture(scope="module")
def postgres():
    with ThrowawayPostgres() as server:  # the embedded PostgreSQL 18: exclusion constraints on partitions need 17+
        server.create_database(DATABASE)
        yield server


@pytest.fixture(scope="module")
def gunicorn(postgres):
    server = LiveServer(production_env(postgres.url(DATABASE), THROTTLE_ENABLED="false"), headers=PROXIED)
    server.manage("migrate", "--noinput")
    with postgres.connect(DATABASE) as conn, conn.transaction():
        for statement in [*PARTITION_BOOKINGS, *no_overlap_operation().sql]:
            conn.execute(statement)
    with server:
        yield server


def partitions_of_bookings(postgres) -> dict[str, int]:
    rows = postgres.execute(DATABASE, "SELECT tableoid::regclass::text, count(*) FROM bookings_booking GROUP BY 1")
    return dict(rows)


def test_the_table_is_partitioned_and_carries_the_migrations_constraint(postgres, gunicorn):
    [(strategy, partitions)] = postgres.execute(
        DATABASE,
        "SELECT p.partstrat, (SELECT count(*) FROM pg_inherits WHERE inhparent = p.partrelid) "
        "FROM pg_partitioned_table p WHERE p.partrelid = 'bookings_booking'::regclass",
    )
    assert (strategy, partitions) == ("h", PARTITIONS)
    [(definition,)] = postgres.execute(
        DATABASE,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'bookings_booking'::regclass AND conname = 'bookings_booking_no_overlap'",
    )
    assert definition.startswith("EXCLUDE USING gist (resource_id WITH =, bookings_session_key(id, service_id, seat,")
    # Each partition enforces it on its own rows: Citus's shard-local enforcement, on one machine.
    assert len(postgres.execute(DATABASE, "SELECT 1 FROM pg_constraint WHERE contype = 'x'")) == 1 + PARTITIONS


def race_for_overlapping_slots(gunicorn, tokens, service_ids, start) -> list[int]:
    """Sixteen one-hour bookings starting 20 minutes apart (each overlaps its neighbours), of the services in turn."""
    bodies = [
        {"service_id": service_ids[n % len(service_ids)], "start_time": (start + timedelta(minutes=20 * n)).isoformat()}
        for n in range(CLIENTS)
    ]
    calls = [
        lambda token=token, body=body: gunicorn.request("POST", "/bookings", body, token=token)[:2]
        for token, body in zip(tokens, bodies, strict=True)
    ]
    statuses = [status for status, _ in race(calls)]
    assert set(statuses) <= {201, 409}, statuses
    return statuses


def own_resource(postgres, service_id: int) -> int:
    [(resource_id,)] = postgres.execute(
        DATABASE, "SELECT resource_id FROM catalog_resource_services WHERE service_id = %s", service_id
    )
    return resource_id


def test_racing_clients_through_bookit_never_double_book(postgres, gunicorn):
    admin = gunicorn.sign_up("admin@example.com", PASSWORD)
    postgres.execute(DATABASE, "UPDATE accounts_user SET is_staff = true WHERE email = 'admin@example.com'")
    services = []
    for n in range(2 * PARTITIONS + 2):
        body = {"name": f"Room {n}", "price": "5.00", "duration_minutes": 60}
        status, service, _ = gunicorn.request("POST", "/services", body, token=admin)
        assert status == 201, service
        services.append(service["id"])
    tokens = [gunicorn.sign_up(f"racer-{n}@example.com", PASSWORD) for n in range(CLIENTS)]
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)

    for service_id in services[: 2 * PARTITIONS]:  # each on its own resource
        statuses = race_for_overlapping_slots(gunicorn, tokens, [service_id], start)
        [(rows,)] = postgres.execute(
            DATABASE, "SELECT count(*) FROM bookings_booking WHERE service_id = %s", service_id
        )
        assert statuses.count(201) == rows >= 1
    assert len(partitions_of_bookings(postgres)) >= 2  # the resources' rows went to different partitions

    # One stylist delivers two services and is the only one for both: their bookings race on her partition.
    haircut, colouring = services[2 * PARTITIONS :]
    stylist = own_resource(postgres, haircut)
    postgres.execute(
        DATABASE,
        "UPDATE catalog_resource_services SET resource_id = %s WHERE service_id = %s",
        stylist,
        colouring,
    )
    statuses = race_for_overlapping_slots(gunicorn, tokens, [haircut, colouring], start)
    rows = postgres.execute(
        DATABASE,
        "SELECT resource_id, count(*) FROM bookings_booking WHERE service_id IN (%s, %s) GROUP BY 1",
        haircut,
        colouring,
    )
    assert rows == [(stylist, statuses.count(201))]
    assert 1 <= statuses.count(201) <= 6  # at most every third slot of the chain
    assert postgres.execute(DATABASE, OVERLAPPING_PAIRS_SQL) == []


def test_the_constraint_alone_stops_racing_inserts_without_the_advisory_lock(postgres, gunicorn):
    [(user_id, service_id, resource_id)] = postgres.execute(
        DATABASE,
        "SELECT (SELECT min(id) FROM accounts_user), service_id, resource_id FROM catalog_resource_services "
        "ORDER BY service_id LIMIT 1",
    )
    start = datetime.now(UTC) + timedelta(days=30, minutes=uuid.uuid4().int % 1000)
    outcomes, lock = [], threading.Lock()

    def insert(n: int):
        begins = start + timedelta(minutes=20 * (n % 8))  # two clients on each of eight overlapping slots
        try:
            with psycopg.connect(postgres.url(DATABASE), autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO bookings_booking (user_id, service_id, resource_id, start_time, end_time, status, "
                    "notes, cancellation_reason, buffer_minutes, sequence, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s, 'pending', '', '', 0, 0, now(), now())",
                    [user_id, service_id, resource_id, begins, begins + timedelta(hours=1)],
                )
            outcome = "inserted"
        except (errors.ExclusionViolation, errors.DeadlockDetected) as exc:
            outcome = type(exc).__name__  # the constraint said no, or PostgreSQL broke a wait cycle
        with lock:
            outcomes.append(outcome)

    race([lambda n=n: insert(n) for n in range(CLIENTS)])
    assert len(outcomes) == CLIENTS
    assert 1 <= outcomes.count("inserted") <= 3  # at most every third slot of the chain
    assert postgres.execute(DATABASE, OVERLAPPING_PAIRS_SQL) == []
