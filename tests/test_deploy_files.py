"""Dockerfile, docker-compose.yml, gunicorn.conf.py and `make serve`, checked without a Docker engine."""

import json
import logging
import os
import pydoc
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bookit.db.privileges import app_role_grants
from bookit.logging import JsonFormatter
from bookit.testing.balancer import site_config

REPO = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


class TestDockerfile:
    def test_multi_stage_slim_with_dependencies_in_their_own_layer(self):
        steps = dockerfile()
        bases = [args for op, args in steps if op == "FROM"]
        assert len(bases) >= 2 and all("-slim" in base for base in bases)
        install = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "pip install -r" in args)
        copy_all = next(i for i, (op, args) in enumerate(steps) if op == "COPY" and args.startswith(". "))
        copy_requirements = next(i for i, (op, args) in enumerate(steps) if op == "COPY" and "requirements" in args)
        assert copy_requirements < install < copy_all

    def test_static_files_are_collected_at_build(self):
        assert any(op == "RUN" and "collectstatic --noinput" in args for op, args in dockerfile())

    def test_runs_as_a_non_root_user(self):
        steps = dockerfile()
        users = [args for op, args in steps if op == "USER"]
        assert users and users[-1] not in {"root", "0"}
        assert any(op == "RUN" and "useradd" in args and users[-1] in args for op, args in steps)
        last_user = max(i for i, (op, _) in enumerate(steps) if op == "USER")
        assert last_user < next(i for i, (op, _) in enumerate(steps) if op == "CMD")

    def test_healthcheck_probes_health(self):
        [check] = [args for op, args in dockerfile() if op == "HEALTHCHECK"]
        assert "bookit.healthcheck" in check
        assert "/health" in (REPO / "bookit" / "healthcheck.py").read_text()

    def test_command_is_gunicorn_with_its_config_file(self):
        [command] = [json.loads(args) for op, args in dockerfile() if op == "CMD"]
        assert command == ["gunicorn", "-c", "gunicorn.conf.py", "bookit.wsgi"]
        env = " ".join(args for op, args in dockerfile() if op == "ENV")
        assert "APP_ENV=prod" in env and "GUNICORN_BIND=0.0.0.0:8000" in env


class TestCompose:
    @pytest.fixture
    def compose(self):
        return yaml.safe_load((REPO / "docker-compose.yml").read_text())

    def test_services_and_ports(self, compose):
        services = compose["services"]
        assert set(services) == {"app", "db", "redis", "migrate", "worker"}
        assert "ports" not in services["worker"]
        # The app, the database and Redis are published on this machine's loopback only: in production a
        # buffering TLS proxy stands in front of gunicorn (README, Deployment).
        assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]
        assert services["db"]["ports"] == ["127.0.0.1:5432:5432"]
        assert services["redis"]["ports"] == ["127.0.0.1:6379:6379"]

    def test_postgres_15_with_a_healthcheck_and_a_named_volume(self, compose):
        db = compose["services"]["db"]
        assert db["image"] == "postgres:15"
        assert "pg_isready" in " ".join(db["healthcheck"]["test"])
        volume = db["volumes"][0].split(":")[0]
        assert volume in compose["volumes"]

    def test_migrations_run_once_the_db_is_healthy_and_before_the_app(self, compose):
        services = compose["services"]
        assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
        assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
        assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services["app"]["image"] == services["migrate"]["image"]

    def test_app_environment_is_production_with_db_and_redis(self, compose):
        env = compose["services"]["app"]["environment"]
        assert env["APP_ENV"] == "prod"
        assert "@db:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?") and env["JWT_SECRET"].startswith("${JWT_SECRET:?")
        assert "command" not in compose["services"]["app"]  # the image's gunicorn CMD

    def test_a_worker_runs_the_queue_from_the_same_image_and_environment(self, compose):
        services = compose["services"]
        worker = services["worker"]
        assert worker["image"] == services["app"]["image"]
        assert worker["command"] == ["python", "manage.py", "procrastinate", "worker"]
        assert worker["environment"] == services["app"]["environment"]
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


class TestGunicornConf:
    def load(self, monkeypatch, **env) -> dict:
        for name in [n for n in os.environ if n.startswith("GUNICORN_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(REPO / "gunicorn.conf.py"))

    def test_defaults(self, monkeypatch):
        conf = self.load(monkeypatch)
        assert conf["bind"] == "127.0.0.1:8000"
        assert conf["workers"] == min(2 * len(os.sched_getaffinity(0)), 8)
        assert conf["threads"] == 1  # sync workers
        assert conf["timeout"] == 30 and conf["graceful_timeout"] == 30

    def test_everything_from_the_environment(self, monkeypatch):
        conf = self.load(
            monkeypatch,
            GUNICORN_BIND="0.0.0.0:9000",
            GUNICORN_WORKERS="3",
            GUNICORN_THREADS="4",
            GUNICORN_TIMEOUT="60",
            GUNICORN_GRACEFUL_TIMEOUT="20",
        )
        assert (conf["bind"], conf["workers"], conf["threads"], conf["timeout"], conf["graceful_timeout"]) == (
            "0.0.0.0:9000",
            3,
            4,
            60,
            20,
        )

    def test_logs_go_through_the_json_formatter_once(self, monkeypatch):
        conf = self.load(monkeypatch)
        logging_config = conf["logconfig_dict"]
        formatter = logging_config["formatters"]["json"]["()"]
        assert formatter == f"{JsonFormatter.__module__}.{JsonFormatter.__name__}"
        assert logging_config["handlers"]["stdout"]["stream"] == "ext://sys.stdout"
        assert logging_config["loggers"]["gunicorn.error"]["handlers"] == ["stdout"]
        assert logging_config["loggers"]["gunicorn.access"]["handlers"] == []  # the app writes the access line
        assert conf["accesslog"] is None

    def test_gunicorns_access_log_if_switched_on_shows_no_feed_token(self, monkeypatch):
        """Off by default (above); were it switched on, its own format's request line and path are redacted."""
        logging_config = self.load(monkeypatch)["logconfig_dict"]
        [name] = logging_config["loggers"]["gunicorn.access"]["filters"]
        redact = pydoc.locate(logging_config["filters"][name]["()"])()
        token = "Zq3_x-" * 7
        atoms = {"h": "10.0.0.1", "r": f"GET /calendar/{token}.ics HTTP/1.1", "U": f"/calendar/{token}.ics", "s": 200}
        record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, '%(h)s "%(r)s" %(U)s %(s)s', (atoms,), None)
        assert redact.filter(record)
        assert logging.Formatter().format(record) == (
            '10.0.0.1 "GET /calendar/<redacted>.ics HTTP/1.1" /calendar/<redacted>.ics 200'
        )


def test_make_serve_migrates_collects_static_and_runs_gunicorn_without_debug():
    command = [shutil.which("make"), "--dry-run", "--always-make", "serve"]
    dry_run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    steps = [line for line in dry_run.splitlines() if "manage.py" in line or "gunicorn" in line]
    assert "migrate --noinput" in steps[0]
    assert "collectstatic --noinput" in steps[1]
    assert "gunicorn -c gunicorn.conf.py bookit.wsgi" in steps[-1]
    makefile = (REPO / "Makefile").read_text()
    assert "serve: export APP_DEBUG = false" in makefile


def test_the_readme_shows_the_nginx_site_that_the_load_balancer_test_runs():
    site = site_config(
        servers=["10.0.0.11:8000", "10.0.0.12:8000"],
        listen="443",
        server_name="api.example.com",
        certificate="/etc/ssl/bookit/fullchain.pem",
        key="/etc/ssl/bookit/privkey.pem",
        access_log="/var/log/nginx/bookit-access.log",
    )
    assert f"```nginx\n{site}```" in (REPO / "README.md").read_text()


def test_the_readme_shows_the_grants_that_the_least_privilege_test_runs():
    grants = app_role_grants(database="bookit", owner="bookit_owner", app="bookit_app")
    assert f"{grants}```" in (REPO / "README.md").read_text()
