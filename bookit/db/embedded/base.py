"""PostgreSQL on the embedded cluster, started where a connection first needs it.

Settings only name the database (``{"ENGINE": "bookit.db.embedded", "NAME": ...}``),
so importing them starts nothing. The first connection of a process starts the
cluster unless it runs and creates the database unless it exists (pytest-django's
connection to the ``postgres`` database, NAME None, only needs the cluster). The
cluster's socket directory and port are known only once it runs: they are written
into the connection's settings then, where ``dbshell``, the benchmark's pgbench
and Django's test database creation read them.
"""

from django.db.backends.postgresql import client

from bookit.db.embedded import cluster
from bookit.db.postgresql import base


class DatabaseClient(client.DatabaseClient):
    def runshell(self, parameters):
        self.connection.resolve_address()
        super().runshell(parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def resolve_address(self) -> None:
        self.settings_dict["HOST"], self.settings_dict["PORT"] = cluster.address()

    def get_connection_params(self):
        self.resolve_address()
        if self.settings_dict["NAME"]:
            cluster.ensure_database(self.settings_dict["NAME"])
        return super().get_connection_params()
