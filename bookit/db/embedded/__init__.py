"""A Django database backend for the embedded PostgreSQL: ``ENGINE: "bookit.db.embedded"`` (see ``base.py``)."""
