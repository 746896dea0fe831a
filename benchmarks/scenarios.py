"""The benchmark's scenarios and data: what is measured, on which rows, and the queries each endpoint runs.

``SCENARIOS`` lists every run, ceilings first; ``prepare_database`` and
``bench_data`` give them a seeded database and the ids and tokens they use;
``count_queries`` counts each endpoint's queries in process.
"""

import io
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bookit.testing import live_server

# Bookings from here on are the benchmark's own (POST scenarios, pgbench); each run deletes them afterwards.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
PGBENCH_FROM = datetime(2200, 1, 1, tzinfo=UTC)
SLOT_STEP = timedelta(hours=4)  # longer than any demo service's duration (2 h at most)
SERVICES = 20
USERS = 100  # fixed across scales: a user's share of a week stays the same, only the table grows
WINDOW = timedelta(days=7)  # GET /bookings?from&to: the coming week
SEARCH = "massage"
P99_MS = 50.0  # every scenario but the ceilings and the availability (100 ms)
# GET /services/{id}/availability reads a month of a service booked two slots in three, in a
# month of its own (no seeded booking is there), so its size is the same at every scale.
BUSY_SERVICE = "Benchmark: busy court"
BUSY_MINUTES = 15
BUSY_FROM = datetime(2099, 1, 1, tzinfo=UTC)
BUSY_DAYS = 31
# The same month of a service delivered by five resources (issue 20), each with its own hours (from
# 06:00 + k to 18:00 + k UTC) and booked two slots in three inside them: about 3,000 slots to
# offer, 6,000 bookings behind them, and a free count per slot.
SALON_SERVICE = "Benchmark: busy salon"
SALON_RESOURCES = 5
# "Any available" (issue 20): a service of three resources of which the first two are busy whenever
# the benchmark books (each holds one booking across every era the POST scenarios use, from just
# before FAR_FUTURE, so delete_benchmark_rows keeps it): BookIt must pass them over for the third.
TRIO_SERVICE = "Benchmark: three stylists"
TRIO_BUSY_UNTIL = FAR_FUTURE + timedelta(days=365 * 100)


@dataclass
class Scenario:
    name: str
    path: str = ""
    auth: str | None = None  # None, "user" or "admin"
    method: str = "GET"
    expect: int | None = None  # the only status accepted (409 for the conflict run); None: any 2xx
    server: str = "bookit"  # "bookit" (gunicorn.conf.py + bookit.wsgi), "minimal" (the minimal project), "" (pgbench)
    ceiling: bool = False  # a ceiling itself: no ratio, no target
    target: float | None = None  # minimum share of the minimal project's bare view (the targets)
    p99_ms: float | None = P99_MS  # p99 target (None: none)
    old: tuple = ("stack",)  # the earlier ratio columns: "stack" (bare view through BookIt), "pgbench", "201"
    kind: str = "wrk"  # "wrk", "pgbench" or "book" (fresh slots through wrk.lua)
    spread: bool = False  # "book" over every seeded service instead of one
    trio: str = ""  # "book" the three-resource service instead: "any" available, or "direct" to its free one

    def path_for(self, data: "Data") -> str:
        return self.path.format(
            window=data.window,
            service=data.service_id,
            busy=data.busy_service_id,
            salon=data.salon_service_id,
            month=data.busy_window,
        )


BARE = "bare DRF view, minimal project (ceiling)"
STACK = "bare DRF view, BookIt's stack"
POST_201 = "POST /bookings (201, one service)"
ANY_AVAILABLE = "POST /bookings any available (2 of 3 busy)"
DIRECT = "POST /bookings direct (resource_id given)"
SCENARIOS = [
    Scenario("pgbench INSERT booking (ceiling)", kind="pgbench", server="", ceiling=True, p99_ms=None),
    Scenario(BARE, "/bench/bare", server="minimal", ceiling=True, p99_ms=None),
    Scenario(
        "bare + SELECT 1, minimal project (ceiling)", "/bench/select1", server="minimal", ceiling=True, p99_ms=None
    ),
    Scenario(STACK, "/bench/bare", target=0.85, old=()),
    Scenario("GET /health", "/health", target=0.60),
    Scenario("GET /services", "/services", target=0.45),
    Scenario("GET /services?q&ordering", f"/services?q={SEARCH}&ordering=-average_rating"),
    Scenario("GET /me", "/me", auth="user", target=0.55),
    Scenario("GET /bookings?from&to (user)", "/bookings?{window}", auth="user", target=0.30),
    Scenario("GET /bookings?from&to (admin)", "/bookings?{window}", auth="admin", target=0.30),
    Scenario("GET /reviews/services/{id}", "/reviews/services/{service}"),
    Scenario("GET /services/{id}/availability (31 days)", "/services/{busy}/availability?{month}", p99_ms=100.0),
    Scenario(
        "GET /services/{id}/availability (5 resources, 31 days)",
        "/services/{salon}/availability?{month}",
        p99_ms=100.0,
    ),
    Scenario(POST_201, "/bookings", auth="user", target=0.30, old=("stack", "pgbench"), kind="book"),
    Scenario(
        "POST /bookings (201, 20 services)",
        "/bookings",
        auth="user",
        target=0.30,
        old=("stack", "pgbench"),
        kind="book",
        spread=True,
    ),
    Scenario(
        "POST /bookings (all 409)",
        "/bookings",
        auth="user",
        method="POST",
        expect=409,
        target=0.50,
        old=("stack", "201"),
    ),
    Scenario(DIRECT, "/bookings", auth="user", old=("stack", "pgbench"), kind="book", trio="direct"),
    Scenario(ANY_AVAILABLE, "/bookings", auth="user", old=("stack", "direct"), kind="book", trio="any"),
]
SCALE_TARGET = 0.75  # from 10k to 1M, no scenario loses more than a quarter


@dataclass
class Result:
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict = field(default_factory=dict)
    requests: int = 0
    ratio: dict = field(default_factory=dict)
    target: str = ""
    met: bool | None = None


# --- Data ------------------------------------------------------------------------------------


def prepare_database(name: str, bookings: int, *, reuse: bool) -> None:
    """Switch this process to database `name`, (re)created unless `reuse` and it holds `bookings` already."""
    from django.core.management import call_command
    from django.db import connection

    from bookings.models import Booking

    fresh = live_server.throwaway_database(name, keep_if=lambda: reuse and _booking_count(name) == bookings)
    delete_benchmark_rows()
    started = time.monotonic()
    call_command("seed_demo", users=USERS, services=SERVICES, bookings=bookings, stdout=io.StringIO())
    if fresh:
        print(f"  seeded {Booking.objects.count():,} bookings in {time.monotonic() - started:.0f} s", flush=True)
    else:
        print(f"  reusing {name} ({bookings:,} bookings)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_slot_seq")
        if not fresh:
            # Earlier runs' write scenarios inserted and deleted tens of thousands of rows: their
            # indexes (the GiST ones most) are larger and looser than the seeded table's, and
            # PostgreSQL then picks another index than it would (2 minutes at a million bookings).
            cursor.execute("REINDEX TABLE bookings_booking")
        cursor.execute("VACUUM (ANALYZE)")


def _booking_count(name: str) -> int | None:
    from django.db import DatabaseError, connection

    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bookings_booking WHERE start_time < %s", [BUSY_FROM])
            return cursor.fetchone()[0]
    except DatabaseError:  # not migrated yet
        return None
    finally:
        connection.close()  # DROP DATABASE ... WITH (FORCE) would cut it


def delete_benchmark_rows() -> None:
    """Remove the bookings the write scenarios made, so every scenario sees the seeded data only."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bookings_booking WHERE start_time >= %s", [FAR_FUTURE])
        deleted = cursor.rowcount
        # Their notification jobs too (no worker runs during the benchmark's scenarios).
        cursor.execute("DELETE FROM procrastinate_jobs WHERE status = 'todo'")
        if deleted:
            # INDEX_CLEANUP ON: with fewer dead rows than 2% of the table, VACUUM would leave their
            # index entries, and the demo user's list (its user_id entries) would read them all.
            cursor.execute("VACUUM (ANALYZE, INDEX_CLEANUP ON) bookings_booking")


@dataclass
class Data:
    user_id: int
    admin_id: int
    tokens: dict
    service_id: int  # POST scenarios and pgbench book this one, far in the future
    resource_id: int  # its own resource, which pgbench's raw INSERTs name
    service_ids: list[int]  # the seeded services, for the spread POST scenario
    busy_service_id: int
    salon_service_id: int
    trio_service_id: int
    trio_free_resource_id: int  # the third of its resources, the one free when the benchmark books
    conflict_body: str
    window: str
    busy_window: str


def bench_data() -> Data:
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from bookings.models import Booking
    from catalog.models import Service
    from demo.logins import DEMO_ADMIN, DEMO_USER

    user = User.objects.get(email=DEMO_USER[0])
    admin = User.objects.get(email=DEMO_ADMIN[0])
    service = Service.objects.filter(is_active=True, reviews__isnull=False).order_by("pk").first()
    busy = busy_service(admin)
    salon = salon_service(admin)
    trio, trio_free = trio_service(admin)
    taken = Booking.objects.create(
        user=user,
        service=service,
        resource=own_resource(service),
        start_time=FAR_FUTURE,
        end_time=FAR_FUTURE + timedelta(hours=1),
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return Data(
        user_id=user.pk,
        admin_id=admin.pk,
        tokens={"user": str(AccessToken.for_user(user)), "admin": str(AccessToken.for_user(admin))},
        service_id=service.pk,
        resource_id=taken.resource_id,
        service_ids=list(
            Service.objects.filter(is_active=True)
            .exclude(pk__in=[busy.pk, salon.pk, trio.pk])
            .values_list("pk", flat=True)
        ),
        busy_service_id=busy.pk,
        salon_service_id=salon.pk,
        trio_service_id=trio.pk,
        trio_free_resource_id=trio_free,
        conflict_body=json.dumps({"service_id": service.pk, "start_time": iso(taken.start_time)}),
        window=f"from={iso(start)}&to={iso(start + WINDOW)}",
        busy_window=f"from={BUSY_FROM.date()}&to={(BUSY_FROM + timedelta(days=BUSY_DAYS)).date()}",
    )


def busy_service(owner):
    """A 15-minute service booked two slots in three for a month (about 2,000 bookings), made once per database."""
    from django.db import connection

    from bookings.models import Booking
    from catalog.models import Service

    service, _ = Service.objects.get_or_create(
        name=BUSY_SERVICE, defaults={"description": "Booked solid.", "price": 10, "duration_minutes": BUSY_MINUTES}
    )
    if not Booking.objects.filter(service=service).exists():
        step = timedelta(minutes=BUSY_MINUTES)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO bookings_booking (user_id, service_id, resource_id, start_time, end_time, status, notes,
                    cancellation_reason, buffer_minutes, sequence, created_at, updated_at)
                SELECT %s, %s, %s, slot, slot + %s, 'confirmed', '', '', 0, 0, now(), now()
                FROM generate_series(%s::timestamptz, %s::timestamptz, %s) WITH ORDINALITY AS g(slot, n)
                WHERE n %% 3 <> 0
                """,
                [
                    *(owner.pk, service.pk, own_resource(service).pk, step),
                    *(BUSY_FROM, BUSY_FROM + timedelta(days=BUSY_DAYS) - step, step),
                ],
            )
    return service


def own_resource(service):
    """The resource a service gets when it is created (catalog migration 0006): its one calendar."""
    return service.resources.order_by("pk").first()


def salon_service(owner):
    """A 15-minute service delivered by five resources with their own hours, each booked two slots in three
    inside them for a month (about 6,000 bookings), made once per database."""
    from datetime import time

    from django.db import connection

    from bookings.models import Booking
    from catalog.models import Resource, Service, WorkingHours

    service, _ = Service.objects.get_or_create(
        name=SALON_SERVICE, defaults={"description": "Five stylists.", "price": 10, "duration_minutes": BUSY_MINUTES}
    )
    if Booking.objects.filter(service=service).exists():
        return service
    names = [f"{SALON_SERVICE} {k + 1}" for k in range(SALON_RESOURCES)]
    Resource.objects.filter(services=service).exclude(name__in=names).update(is_active=False)  # its own one
    step = timedelta(minutes=BUSY_MINUTES)
    for k, name in enumerate(names):
        resource, _ = Resource.objects.get_or_create(name=name)
        resource.services.add(service)
        opens, closes = time(6 + k), time(min(18 + k, 23))
        if not resource.working_hours.exists():
            WorkingHours.objects.bulk_create(
                WorkingHours(resource=resource, weekday=day, start=opens, end=closes) for day in range(1, 8)
            )
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO bookings_booking (user_id, service_id, resource_id, start_time, end_time, status, notes,
                    cancellation_reason, buffer_minutes, sequence, created_at, updated_at)
                SELECT %s, %s, %s, slot, slot + %s, 'confirmed', '', '', 0, 0, now(), now()
                FROM generate_series(%s::timestamptz, %s::timestamptz, %s) WITH ORDINALITY AS g(slot, n)
                WHERE n %% 3 <> k %% 3 AND slot::time >= %s AND slot::time < %s
                """.replace("k %% 3", str(k % 3)),
                [
                    *(owner.pk, service.pk, resource.pk, step),
                    *(BUSY_FROM, BUSY_FROM + timedelta(days=BUSY_DAYS) - step, step, opens, closes),
                ],
            )
    return service


def trio_service(owner) -> tuple:
    """The one-hour service of three resources (its own and two more), the first two busy across every era the
    POST scenarios book (TRIO_SERVICE); made once per database. Returns it and the third resource's id."""
    from bookings.models import Booking
    from catalog.models import Resource, Service

    service, _ = Service.objects.get_or_create(
        name=TRIO_SERVICE, defaults={"description": "Any of three.", "price": 10, "duration_minutes": 60}
    )
    while service.resources.count() < 3:
        Resource.objects.create(name=f"{TRIO_SERVICE} {service.resources.count() + 1}").services.add(service)
    first, second, third = service.resources.order_by("pk").values_list("pk", flat=True)[:3]
    for busy in (first, second):
        Booking.objects.get_or_create(
            service=service,
            resource_id=busy,
            defaults={
                "user": owner,
                "status": Booking.Status.CONFIRMED,
                "start_time": FAR_FUTURE - timedelta(days=1),
                "end_time": TRIO_BUSY_UNTIL,
            },
        )
    return service, third


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def keep_conflict_slot(data: Data) -> None:
    """The all-409 scenario posts the slot of this booking; cleaning up after a write run removed it."""
    from bookings.models import Booking

    body = json.loads(data.conflict_body)
    start = datetime.fromisoformat(body["start_time"])

    Booking.objects.get_or_create(
        service_id=data.service_id,
        start_time=start,
        defaults={"user_id": data.user_id, "resource_id": data.resource_id, "end_time": start + timedelta(hours=1)},
    )


# --- Queries per request (in process, Django's test client) ----------------------------------


def count_queries(data: Data) -> dict:
    """Queries each endpoint runs, authentication included; lists at two page sizes to show they are constant."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    slot = FAR_FUTURE + timedelta(days=1)
    book = json.dumps({"service_id": data.service_id, "start_time": iso(slot)})
    checks = [
        ("GET /health", "GET", "/health", None, None, 200),
        ("GET /services", "GET", "/services", None, None, 200),
        ("GET /services?page_size=5", "GET", "/services?page_size=5", None, None, 200),
        ("GET /services?q&ordering", "GET", f"/services?q={SEARCH}&ordering=-average_rating", None, None, 200),
        ("GET /me", "GET", "/me", "user", None, 200),
        ("GET /bookings?from&to (user)", "GET", f"/bookings?{data.window}", "user", None, 200),
        ("GET /bookings?from&to (admin)", "GET", f"/bookings?{data.window}", "admin", None, 200),
        (
            "GET /bookings?from&to&page_size=5 (admin)",
            "GET",
            f"/bookings?{data.window}&page_size=5",
            "admin",
            None,
            200,
        ),
        (
            "GET /bookings?from&to&page_size=100 (admin)",
            "GET",
            f"/bookings?{data.window}&page_size=100",
            "admin",
            None,
            200,
        ),
        ("GET /reviews/services/{id}", "GET", f"/reviews/services/{data.service_id}", None, None, 200),
        (
            "GET /services/{id}/availability (31 days)",
            "GET",
            f"/services/{data.busy_service_id}/availability?{data.busy_window}",
            None,
            None,
            200,
        ),
        (
            "GET /reviews/services/{id}?page_size=100",
            "GET",
            f"/reviews/services/{data.service_id}?page_size=100",
            None,
            None,
            200,
        ),
        ("POST /bookings (201)", "POST", "/bookings", "user", book, 201),
        (ANY_AVAILABLE + " (201)", "POST", "/bookings", "user", trio_body(data, slot, direct=False), 201),
        (DIRECT + " (201)", "POST", "/bookings", "user", trio_body(data, slot + SLOT_STEP, direct=True), 201),
        ("POST /bookings (409)", "POST", "/bookings", "user", data.conflict_body, 409),
    ]
    client = Client()
    counts = {}
    for name, method, path, auth, body, expected in checks:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {data.tokens[auth]}"} if auth else {}
        with CaptureQueriesContext(connection) as queries:
            response = client.generic(method, path, data=body or "", content_type="application/json", **headers)
        if response.status_code != expected:
            sys.exit(
                f"bench: {method} {path} answered {response.status_code}, expected {expected}: {response.content[:300]}"
            )
        counts[name] = {"queries": len(queries), "sql": [query["sql"][:300] for query in queries.captured_queries]}
    delete_benchmark_rows()
    return counts


def trio_body(data: Data, slot: datetime, *, direct: bool) -> str:
    body = {"service_id": data.trio_service_id, "start_time": iso(slot)}
    if direct:
        body["resource_id"] = data.trio_free_resource_id
    return json.dumps(body)
