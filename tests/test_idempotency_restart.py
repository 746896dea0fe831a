"""An Idempotency-Key outlives the server: a retry after a restart is still replayed, nothing is booked twice.

The key is stored in PostgreSQL with the booking, in one transaction, so a
process that answered and then died leaves nothing a retry could repeat.
"""

import psycopg
import pytest

from bookit.testing.live_server import LiveServer

DATABASE = "bookit_idempotency_restart"
pytestmark = pytest.mark.slow


@pytest.fixture
def postgres(throwaway_postgres):
    throwaway_postgres.create_database(DATABASE)
    return throwaway_postgres


def serve(postgres) -> LiveServer:
    env = {
        **{"PYTEST_VERSION": None, "DJANGO_SETTINGS_MODULE": None, "REDIS_URL": None, "THROTTLE_ENABLED": "false"},
        **{"APP_ENV": "dev", "APP_DEBUG": "false", "GUNICORN_WORKERS": "2", "DATABASE_URL": postgres.url(DATABASE)},
        "SECRET_KEY": "restart-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "JWT_SECRET": "restart-test-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    }
    return LiveServer(env, headers={"Idempotency-Key": "book-once-across-restarts"})


def test_a_retry_after_a_restart_is_replayed(postgres):
    first = serve(postgres)
    first.manage("migrate", "--noinput")
    first.manage(
        "shell", "-c", "from catalog.services import service_create as c; c(name='Sauna', price=9, duration_minutes=60)"
    )
    with first:
        account = {"email": "ada@example.com", "password": "a-long-enough-password-1", "full_name": "Ada"}
        assert first.request("POST", "/auth/register", account)[0] == 201
        token = first.request("POST", "/auth/login", account)[1]["access"]
        service_id = first.request("GET", "/services")[1]["results"][0]["id"]
        booking = {"service_id": service_id, "start_time": "2030-01-07T10:00:00Z"}
        status, created, _ = first.request("POST", "/bookings", booking, token=token)
        assert status == 201
    with serve(postgres) as second:  # a new gunicorn: nothing of the first survives but the database
        status, replayed, _ = second.request("POST", "/bookings", booking, token=token)
    assert (status, replayed) == (201, created)  # a second booking of that slot would be a 409
    with psycopg.connect(postgres.url(DATABASE)) as conn:
        assert conn.execute("SELECT count(*) FROM bookings_booking").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM bookings_bookingevent").fetchone()[0] == 1
