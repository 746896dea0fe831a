"""BookIt on a primary and a real streaming standby: reads from the replica, writes and sign-in from the primary.

A throwaway primary (Debian's PostgreSQL 15 where installed, else the embedded
18) and a hot standby made from it with ``pg_basebackup -R``, each on a local
port; gunicorn with production settings, ``DATABASE_REPLICA_URLS`` pointing at
the standby and a small ``REPLICA_MAX_LAG_SECONDS``. The test pauses the
standby's replay (``pg_wal_replay_pause``) to make its lag visible: what a
request sees then tells which server answered it. A booking's author reads it
back for as long as the replica has not replayed it, past the window of the
timer this replaced; past the lag bound the replica serves nobody, and once it
has caught up it serves again. At the end the standby is stopped, and reads
still answer, from the primary.

Needs Redis at 127.0.0.1:6379 (the positions of recent writes live there):
``make test`` skips without it, saying why; CI requires it.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bookit.db.replicas import CHECK_SECONDS
from bookit.testing.live_server import PROXIED, LiveServer, production_env
from bookit.testing.postgres import ThrowawayPostgres, server_binaries
from bookit.testing.requirements import require_redis

pytestmark = [pytest.mark.slow, pytest.mark.scale]
DATABASE = "bookit_replicated"
PASSWORD = "replica-test-password-123"
OLD_WINDOW = 1  # READ_YOUR_WRITES_SECONDS: the timer read-your-writes had (no longer read); the waits outlast it
MAX_LAG = 4  # REPLICA_MAX_LAG_SECONDS: room for the checks made within it on a busy machine


@pytest.fixture
def primary():
    with ThrowawayPostgres(bin_dir=server_binaries()) as server:
        server.create_database(DATABASE)
        yield server


@pytest.fixture
def standby(primary):
    with ThrowawayPostgres(bin_dir=primary.bin_dir, standby_of=primary) as server:
        yield server


@pytest.fixture
def gunicorn(primary, standby):
    env = production_env(
        primary.url(DATABASE),
        DATABASE_REPLICA_URLS=standby.url(DATABASE),
        READ_YOUR_WRITES_SECONDS=str(OLD_WINDOW),  # ignored now; the code that read it fails this test
        REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
        REDIS_URL=require_redis(),
        REDIS_KEY_PREFIX=f"bookit-test-{uuid.uuid4().hex}",  # Redis is shared with other runs
        THROTTLE_ENABLED="false",
    )
    server = LiveServer(env, headers=PROXIED)
    server.manage("migrate", "--noinput")
    with server:
        yield server


def replay(standby: ThrowawayPostgres, *, paused: bool) -> None:
    standby.execute("postgres", "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def commit_replayed(primary: ThrowawayPostgres, standby: ThrowawayPostgres) -> float:
    """A commit on the primary, replayed by the standby; when it was made.

    A replica behind the primary lags by the age of its newest replayed commit:
    a pause that starts just after a fresh one has a known lag at every moment.
    """
    committed_at = time.monotonic()
    primary.execute("postgres", "SELECT pg_current_xact_id()")  # an xid, so a commit record
    standby.wait_until_replayed(primary)
    return committed_at


def until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def test_reads_from_the_replica_writes_and_sign_in_from_the_primary(primary, standby, gunicorn):
    admin = gunicorn.sign_up("admin@example.com", PASSWORD)
    primary.execute(DATABASE, "UPDATE accounts_user SET is_staff = true WHERE email = 'admin@example.com'")
    status, service, _ = gunicorn.request(
        "POST", "/services", {"name": "Sauna", "price": "10.00", "duration_minutes": 60}, token=admin
    )
    assert status == 201, service
    alice = gunicorn.sign_up("alice@example.com", PASSWORD)
    bob = gunicorn.sign_up("bob@example.com", PASSWORD)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    slot = start.isoformat().replace("+00:00", "Z")
    day = start.date()
    availability = f"/services/{service['id']}/availability?from={day}&to={day + timedelta(days=1)}"

    def offered() -> bool:
        status, free, _ = gunicorn.request("GET", availability)
        assert status == 200
        return start in [datetime.fromisoformat(s["start"]) for s in free["slots"]]

    def new_service(name: str) -> str:
        status, created, _ = gunicorn.request(
            "POST", "/services", {"name": name, "price": "5.00", "duration_minutes": 30}, token=admin
        )
        assert status == 201, created
        return f"/services/{created['id']}"

    def replica_health() -> dict:
        status, body, _ = gunicorn.request("GET", "/health")
        assert status == 200
        return body["replicas"]["replica1"]

    standby.wait_until_replayed(primary)
    time.sleep(CHECK_SECONDS)  # every worker's next look at the replica sees the admin's write replayed

    # The replica stops replaying: from now on it lags behind the primary, visibly.
    committed_at = commit_replayed(primary, standby)
    replay(standby, paused=True)
    status, booking, _ = gunicorn.request("POST", "/bookings", {"service_id": service["id"], "start_time": slot}, alice)
    assert status == 201, booking
    booked_at = time.monotonic()
    path = f"/bookings/{booking['id']}"

    # Read-your-writes: Alice sees her booking at once (her reads go to the primary) ...
    assert gunicorn.request("GET", path, token=alice)[0] == 200
    assert [row["id"] for row in gunicorn.request("GET", "/bookings", token=alice)[1]["results"]] == [booking["id"]]
    # ... while the reads of those who did not write come from the replica, which has not seen it yet.
    assert gunicorn.request("GET", path, token=admin)[0] == 404
    assert offered()  # the replica still offers the slot
    # Bob trusts it and books: the primary's constraint judges, a clean 409, never a double booking.
    status, conflict, _ = gunicorn.request("POST", "/bookings", {"service_id": service["id"], "start_time": slot}, bob)
    assert (status, conflict["code"]) == (409, "booking_conflict")

    # Past the old window, with the replica still serving others, Alice still reads her booking: her reads
    # follow the position of her write, which the paused replica has not reached, not a timer.
    until(booked_at + OLD_WINDOW + 0.5)
    for _ in range(4):  # both workers
        assert gunicorn.request("GET", path, token=alice)[0] == 200
        assert gunicorn.request("GET", path, token=admin)[0] == 404
    assert time.monotonic() - committed_at < MAX_LAG, "too slow to see the replica serve within the bound"
    assert replica_health()["serving"] is True

    # Sign-in reads come from the primary: Carol, whom the replica has never seen, signs in and is known at once ...
    carol = gunicorn.sign_up("carol@example.com", PASSWORD)
    assert gunicorn.request("GET", "/me", token=carol)[0] == 200
    # ... and deactivated on the primary, her token stops working at once, whatever the replica says.
    primary.execute(DATABASE, "UPDATE accounts_user SET is_active = false WHERE email = 'carol@example.com'")
    assert gunicorn.request("GET", "/me", token=carol)[0] == 401

    # Past REPLICA_MAX_LAG_SECONDS (and one more look by every worker), the replica serves nobody: a new
    # service is seen by anyone at once, and the slot Alice took is no longer offered.
    until(committed_at + MAX_LAG + CHECK_SECONDS + 0.5)
    pool = new_service("Pool")
    for _ in range(4):
        assert gunicorn.request("GET", pool)[0] == 200
        assert not offered()
    health = replica_health()
    assert health["serving"] is False
    assert health["lag_seconds"] > MAX_LAG

    # Replaying again, it catches up and serves again: paused once more, a new service is not seen yet.
    replay(standby, paused=False)
    standby.wait_until_replayed(primary)
    time.sleep(CHECK_SECONDS)  # every worker looks again
    commit_replayed(primary, standby)
    replay(standby, paused=True)
    spa = new_service("Spa")
    for _ in range(4):
        assert gunicorn.request("GET", spa)[0] == 404
        assert gunicorn.request("GET", pool)[0] == 200
        assert gunicorn.request("GET", path, token=admin)[0] == 200
    assert replica_health() == {"lag_seconds": pytest.approx(0, abs=MAX_LAG), "serving": True}
    replay(standby, paused=False)
    standby.wait_until_replayed(primary)

    # The replica goes down: reads keep working, from the primary, in both workers.
    standby.stop()
    for _ in range(6):
        status, _, seconds = gunicorn.request("GET", path, token=admin)
        assert status == 200
        assert seconds < 5
        assert gunicorn.request("GET", "/services")[0] == 200
    health = replica_health()
    assert health == {"lag_seconds": None, "serving": False}
    assert '"replica replica1 unreachable' in gunicorn.output()
