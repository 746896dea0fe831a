"""BookIt on a primary and a real streaming standby: reads from the replica, writes and sign-in from the primary.

A throwaway primary (Debian's PostgreSQL 15 where installed, else the embedded
18) and a hot standby made from it with ``pg_basebackup -R``, each on a local
port; gunicorn with production settings, ``DATABASE_REPLICA_URLS`` pointing at
the standby and a short read-your-writes window. The test pauses the standby's
replay (``pg_wal_replay_pause``) to make its lag visible: what a request sees
then tells which server answered it. At the end the standby is stopped, and
reads still answer, from the primary.

Needs Redis at 127.0.0.1:6379 (the markers of recent writes live there):
``make test`` skips without it, saying why; CI requires it.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bookit.testing.live_server import PROXIED, LiveServer, production_env
from bookit.testing.postgres import ThrowawayPostgres, server_binaries
from bookit.testing.requirements import require_redis

pytestmark = [pytest.mark.slow, pytest.mark.scale]
DATABASE = "bookit_replicated"
PASSWORD = "replica-test-password-123"
WINDOW = 2  # READ_YOUR_WRITES_SECONDS


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
        READ_YOUR_WRITES_SECONDS=str(WINDOW),
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


def test_reads_from_the_replica_writes_and_sign_in_from_the_primary(primary, standby, gunicorn):
    admin = gunicorn.sign_up("admin@example.com", PASSWORD)
    primary.execute(DATABASE, "UPDATE accounts_user SET is_staff = true WHERE email = 'admin@example.com'")
    alice = gunicorn.sign_up("alice@example.com", PASSWORD)
    bob = gunicorn.sign_up("bob@example.com", PASSWORD)
    status, service, _ = gunicorn.request(
        "POST", "/services", {"name": "Sauna", "price": "10.00", "duration_minutes": 60}, token=admin
    )
    assert status == 201, service
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    slot = start.isoformat().replace("+00:00", "Z")
    day = start.date()
    availability = f"/services/{service['id']}/availability?from={day}&to={day + timedelta(days=1)}"
    standby.wait_until_replayed(primary)
    time.sleep(WINDOW)  # everyone's read-your-writes window has passed

    # The replica stops replaying: from now on it lags behind the primary, visibly.
    replay(standby, paused=True)
    status, booking, _ = gunicorn.request("POST", "/bookings", {"service_id": service["id"], "start_time": slot}, alice)
    assert status == 201, booking
    path = f"/bookings/{booking['id']}"

    # Read-your-writes: Alice sees her booking at once (her reads go to the primary for a while) ...
    assert gunicorn.request("GET", path, token=alice)[0] == 200
    assert [row["id"] for row in gunicorn.request("GET", "/bookings", token=alice)[1]["results"]] == [booking["id"]]
    # ... while the reads of those who did not write come from the replica, which has not seen it yet.
    assert gunicorn.request("GET", path, token=admin)[0] == 404
    status, free, _ = gunicorn.request("GET", availability)
    assert status == 200
    assert start in [datetime.fromisoformat(s["start"]) for s in free["slots"]]  # the replica still offers it
    # Bob trusts it and books: the primary's constraint judges, a clean 409, never a double booking.
    status, conflict, _ = gunicorn.request("POST", "/bookings", {"service_id": service["id"], "start_time": slot}, bob)
    assert (status, conflict["code"]) == (409, "booking_conflict")

    # Sign-in reads come from the primary: Carol, whom the replica has never seen, signs in and is known at once ...
    carol = gunicorn.sign_up("carol@example.com", PASSWORD)
    assert gunicorn.request("GET", "/me", token=carol)[0] == 200
    # ... and deactivated on the primary, her token stops working at once, whatever the replica says.
    primary.execute(DATABASE, "UPDATE accounts_user SET is_active = false WHERE email = 'carol@example.com'")
    assert gunicorn.request("GET", "/me", token=carol)[0] == 401

    # When Alice's window has passed, her reads go back to the (still lagging) replica ...
    time.sleep(WINDOW + 0.5)
    assert gunicorn.request("GET", path, token=alice)[0] == 404
    # ... which, replaying again, catches up.
    replay(standby, paused=False)
    standby.wait_until_replayed(primary)
    assert gunicorn.request("GET", path, token=alice)[0] == 200
    assert gunicorn.request("GET", path, token=admin)[0] == 200

    # The replica goes down: reads keep working, from the primary, in both workers.
    standby.stop()
    for _ in range(6):
        status, _, seconds = gunicorn.request("GET", path, token=admin)
        assert status == 200
        assert seconds < 5
        assert gunicorn.request("GET", "/services")[0] == 200
    assert gunicorn.request("GET", "/health")[0] == 200
    assert '"replica replica1 unreachable' in gunicorn.output()
