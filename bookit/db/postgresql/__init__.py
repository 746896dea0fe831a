"""Django's PostgreSQL backend, loading timestamps in C: ``ENGINE: "bookit.db.postgresql"`` (see ``base.py``)."""
