"""PostgreSQL error codes the services react to, and how to read them off Django's exceptions."""

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
QUERY_CANCELED = "57014"  # statement_timeout ran out (or the query was cancelled)
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out

# Errors of one statement or transaction, not of the connection: the database is up.
TIMEOUTS = frozenset({QUERY_CANCELED, LOCK_NOT_AVAILABLE})
CONFLICTS = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})


def sqlstate(exc: Exception) -> str | None:
    """The SQLSTATE of a database error Django wrapped (psycopg's error is its ``__cause__``)."""
    return getattr(exc.__cause__, "sqlstate", None)
