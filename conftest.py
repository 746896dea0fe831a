"""Shared test fixtures: API clients for anonymous, user and admin callers, and a staff browser for the admin."""

import pytest
from django.core.cache import caches
from django.db.backends.postgresql.operations import DatabaseOperations
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from bookit.api.throttling import Counter, throttle_cache


def client_for(user=None) -> APIClient:
    """An APIClient that sends a real JWT for `user` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


QUEUE_TRUNCATE = (
    "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers CASCADE"
)


@pytest.fixture(scope="session", autouse=True)
def flush_past_the_history_guard():
    """Lets pytest-django empty the tables after each transactional test, the history's included.

    It empties them with one TRUNCATE (Django's ``flush``), which the history's
    BEFORE TRUNCATE trigger refuses (``bookings/migrations/0009_*``), as it must
    everywhere else. The suite connects as a superuser, who may run that one
    transaction as a replica applies changes: without firing triggers.

    The job queue's tables are procrastinate's unmanaged models, which Django's
    flush leaves alone: they are emptied too, so no test's worker or ``/health``
    meets the jobs of an earlier test's bookings.
    """
    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return flush(self, ["SET LOCAL session_replication_role = replica", *sql_list, QUEUE_TRUNCATE])

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = flush


@pytest.fixture
def anon():
    return client_for(None)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def admin_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def user_client(user):
    return client_for(user)


@pytest.fixture
def other_client(other_user):
    return client_for(other_user)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def staff(db):
    """A staff member with every admin permission, like the demo admin."""
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(staff):
    """Django's test client with a logged-in staff session: the admin site, not the API."""
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def throttle_counters(settings, monkeypatch):
    """Throttling on with empty counters, Redis not marked down, and rates no test reaches unless it sets its own.

    The fixed windows' clock stands still, early in a minute, an hour and a day,
    so no test's requests straddle two windows.
    """
    monkeypatch.setattr(Counter, "timer", lambda self: 1_800_000_030.0)
    settings.THROTTLE_ENABLED = True
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES, "1000/min")
    caches["throttle"].clear()
    throttle_cache.fallback.clear()
    throttle_cache.down_until = 0.0
    yield settings.THROTTLE_RATES
    throttle_cache.down_until = 0.0
