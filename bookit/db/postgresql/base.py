"""Django's PostgreSQL backend with psycopg's C loader for ``timestamptz``.

Django registers its own ``timestamptz`` loader on every connection: a Python
subclass of psycopg's pure-Python loader that sets the connection's time zone
on each value. With ``USE_TZ`` and the database in UTC (BookIt's settings)
that zone is UTC, which psycopg's C loader (from ``psycopg[binary]``) already
gives, several times faster: a page of bookings is dozens of timestamps.
Everything else is Django's. Where the C loader is missing, or the
connection's zone is not UTC, Django's loader stays.
"""

from datetime import UTC

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
_DEFAULT_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)


class UTCTimestamptzLoader(Loader):
    """psycopg's own loader (a C class, which cannot be subclassed), with the ``timezone`` that Django's
    ``create_cursor`` compares with the connection's."""

    timezone = UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._loader = _DEFAULT_LOADER(oid, context)
        self.load = self._loader.load  # the C method itself: no Python frame per value

    def load(self, data):  # shadowed per instance, above
        return self._loader.load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if self.timezone == UTC and not issubclass(_DEFAULT_LOADER, BaseTzLoader):
            context = AdaptersMap(params["context"])
            context.register_loader("timestamptz", UTCTimestamptzLoader)
            params["context"] = context
        return params
