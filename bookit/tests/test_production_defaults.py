"""Production refuses what would expose it: debug pages, and trusting forwarded IPs from anyone."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROD = {
    "APP_ENV": "prod",
    "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
    "JWT_SECRET": "j" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
    "DATABASE_URL": "postgres://bookit@db.invalid:5432/bookit",
}


def start(environment: dict) -> subprocess.CompletedProcess:
    """Load the settings as manage.py would, with exactly ``environment``, and print DEBUG."""
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ} | environment
    command = [
        sys.executable,
        "manage.py",
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG)",
    ]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    [line] = [line for line in result.stderr.splitlines() if line.strip()]  # one line, naming the variable
    return line


def test_prod_refuses_debug_naming_the_variable():
    assert "APP_DEBUG" in refusal(start({**PROD, "APP_DEBUG": "true"}))


def test_env_example_with_only_app_env_changed_is_not_in_debug_mode():
    example = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            example[name.strip()] = value.strip()
    result = start({**example, **PROD})  # the secrets and DATABASE_URL production requires anyway
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "False"


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"NUM_PROXIES": "1"}, "TRUSTED_PROXIES"),  # silently ignoring it would count every client as the proxy
        ({"TRUSTED_PROXIES": "10.0.0.0/8, load-balancer"}, "TRUSTED_PROXIES"),
    ],
)
def test_a_proxy_setting_that_cannot_be_honoured_stops_start_up(environment, named):
    assert named in refusal(start({**PROD, **environment}))


def test_trusted_proxies_take_addresses_and_ranges():
    assert start({**PROD, "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1,2001:db8::/32"}).returncode == 0
