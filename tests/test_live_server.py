"""The harness of live servers (bookit/testing/) itself: a server that cannot start is reported, never waited on,
and production code never imports the harness."""

import re
from pathlib import Path

import pytest

from bookit.testing.live_server import REPO, LiveServer, LiveServerError

PRODUCTION = ["accounts", "catalog", "bookings", "reviews", "bookit", "manage.py", "gunicorn.conf.py"]
IMPORTS_HARNESS = re.compile(r"^\s*(from|import)\s+bookit\.testing\b", re.MULTILINE)


@pytest.mark.slow
def test_a_server_that_cannot_start_fails_at_once_with_its_log_tail():
    server = LiveServer({"DJANGO_SETTINGS_MODULE": "bookit.no_such_settings"}, timeout=60)
    with pytest.raises(LiveServerError, match=r"No module named 'bookit\.no_such_settings'") as failure:
        server.start()
    assert "gunicorn exited" in str(failure.value)  # noticed when gunicorn gave up, not at the timeout
    assert server.process.poll() is not None


def test_production_code_never_imports_the_harness():
    def production(path: Path) -> bool:
        parts = path.relative_to(REPO).parts
        return "tests" not in parts and parts[:2] != ("bookit", "testing")

    files = [path for name in PRODUCTION for path in [REPO / name, *(REPO / name).rglob("*.py")] if path.is_file()]
    offenders = [str(path) for path in files if production(path) and IMPORTS_HARNESS.search(path.read_text())]
    assert len(files) > 50
    assert offenders == []
