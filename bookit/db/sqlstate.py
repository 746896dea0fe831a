"""PostgreSQL error codes the services react to, and how to read them off Django's exceptions."""

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
DEADLOCK_DETECTED = "40P01"


def sqlstate(exc: Exception) -> str | None:
    """The SQLSTATE of a database error Django wrapped (psycopg's error is its ``__cause__``)."""
    return getattr(exc.__cause__, "sqlstate", None)
