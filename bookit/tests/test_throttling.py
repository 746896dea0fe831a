"""Throttling: per IP and per email on login, per IP on register, general rates; Redis, and Redis down."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from accounts.tests.factories import PASSWORD, UserFactory
from bookit.api.throttling import throttle_cache
from bookit.tests.http import race, request

pytestmark = pytest.mark.django_db

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_counters(throttle_counters):
    """Each test starts with empty counters, Redis not marked down, and the given low rates only."""


def login(client, email, ip="10.0.0.1", password="wrong-password", **headers):  # noqa: S107
    return client.post("/auth/login", {"email": email, "password": password}, REMOTE_ADDR=ip, **headers)


def register(client, n, ip="10.0.0.1"):
    return client.post("/auth/register", {"email": f"new{n}@example.com", "password": PASSWORD}, REMOTE_ADDR=ip)


def assert_throttled(response, window=60):
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"status", "code", "detail", "errors"}
    assert body["status"] == 429 and body["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= window


class TestLogin:
    def test_a_stranger_cannot_lock_the_owner_out(self, anon, settings):
        settings.THROTTLE_RATES = dict(settings.DEFAULT_THROTTLE_RATES)
        owner = UserFactory(email="owner@example.com")
        statuses = [login(anon, "Owner@Example.com", ip="203.0.113.66").status_code for _ in range(30)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}  # the stranger's address is stopped
        assert login(anon, owner.email, ip="10.0.0.1", password=PASSWORD).status_code == 200

    def test_failures_count_per_account_and_ip(self, anon, settings):
        settings.THROTTLE_RATES["login_email_ip"] = "3/min"
        UserFactory(email="target@example.com")
        assert [login(anon, "target@example.com").status_code for _ in range(3)] == [401] * 3
        assert_throttled(login(anon, " TARGET@example.com", password=PASSWORD))  # this address, this account
        assert login(anon, "target@example.com", ip="10.0.0.2", password=PASSWORD).status_code == 200
        assert login(anon, "someone-else@example.com").status_code == 401

    def test_a_ceiling_per_account_whatever_the_ip(self, anon, settings):
        settings.THROTTLE_RATES["login_email"] = "3/min"
        UserFactory(email="target@example.com")
        assert [login(anon, "target@example.com", ip=f"10.0.1.{n}").status_code for n in range(3)] == [401] * 3
        assert_throttled(login(anon, "target@example.com", ip="10.0.2.1", password=PASSWORD))
        assert login(anon, "someone-else@example.com", ip="10.0.2.1").status_code == 401

    def test_refused_attempts_feed_no_counter(self, anon, settings):
        settings.THROTTLE_RATES.update(login_email_ip="2/min", login_email="3/min")
        owner = UserFactory(email="target@example.com")
        assert [login(anon, owner.email).status_code for _ in range(2)] == [401, 401]
        for _ in range(10):  # refused by the per-address limit: no password checked, the ceiling untouched
            assert_throttled(login(anon, owner.email))
        assert login(anon, owner.email, ip="10.0.0.2").status_code == 401  # the ceiling's third failure
        assert_throttled(login(anon, owner.email, ip="10.0.0.3", password=PASSWORD))

    def test_per_ip_whatever_the_email(self, anon, settings):
        settings.THROTTLE_RATES["login"] = "3/min"
        assert [login(anon, f"u{n}@example.com").status_code for n in range(3)] == [401, 401, 401]
        assert_throttled(login(anon, "u4@example.com"))
        assert login(anon, "u4@example.com", ip="10.0.0.2").status_code == 401

    def test_brute_force_from_one_ip_hits_429_before_the_tenth_failure_with_default_rates(self, anon, settings):
        settings.THROTTLE_RATES = dict(settings.DEFAULT_THROTTLE_RATES)
        statuses = [login(anon, f"victim{n}@example.com").status_code for n in range(10)]
        assert 429 in statuses[:9], statuses
        assert set(statuses[: statuses.index(429)]) == {401}

    def test_only_failures_count_against_the_failure_limit(self, anon, settings):
        settings.THROTTLE_RATES["login_failures"] = "2/min"
        users = UserFactory.create_batch(4)
        assert [login(anon, u.email, password=PASSWORD).status_code for u in users] == [200] * 4
        assert [login(anon, "x@example.com").status_code for _ in range(3)] == [401, 401, 429]
        assert login(anon, users[0].email, ip="10.0.0.9", password=PASSWORD).status_code == 200

    def test_refused_bodies_do_not_count_as_failed_logins(self, anon, settings):
        settings.THROTTLE_RATES["login_failures"] = "2/min"
        bad = [{"email": "x@example.com"}, {"password": "x"}, {"email": "", "password": ""}]
        assert [anon.post("/auth/login", body, REMOTE_ADDR="10.0.0.1").status_code for body in bad] == [400] * 3
        not_json = anon.post("/auth/login", "{", content_type="application/json", REMOTE_ADDR="10.0.0.1")
        assert not_json.status_code == 400
        assert [login(anon, "x@example.com").status_code for _ in range(3)] == [401, 401, 429]

    def test_attempts_refused_by_another_limit_do_not_count_as_failed_logins(self, anon, settings):
        settings.THROTTLE_RATES.update(login="1/min", login_email="2/min")
        victim = UserFactory(email="victim@example.com")
        assert login(anon, victim.email).status_code == 401  # one real failure
        for _ in range(3):  # this IP is over its limit: no password is checked, so nothing failed
            assert_throttled(login(anon, victim.email))
        assert login(anon, victim.email, ip="10.0.0.2", password=PASSWORD).status_code == 200

    def test_simultaneous_guesses_cannot_slip_past_the_failure_limit(self, live_server, settings):
        settings.THROTTLE_RATES = dict(settings.DEFAULT_THROTTLE_RATES)
        calls = [
            lambda n=n: request(
                "POST", f"{live_server.url}/auth/login", body={"email": f"victim{n}@example.com", "password": "guess"}
            )
            for n in range(16)  # the live server's listen backlog takes about this many at once
        ]
        statuses = [status for status, _ in race(calls)]
        assert set(statuses) == {401, 429}
        assert statuses.count(401) <= 5, statuses

    def test_a_forged_forwarded_for_header_does_not_reset_the_ip_count(self, anon, settings):
        settings.THROTTLE_RATES["login"] = "2/min"
        for n in range(2):
            login(anon, f"u{n}@example.com")
        response = anon.post(
            "/auth/login",
            {"email": "u9@example.com", "password": "x"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.77",
        )
        assert_throttled(response)


class TestClientIP:
    def test_a_client_reaching_gunicorn_directly_cannot_choose_its_ip(self, anon, settings):
        settings.THROTTLE_RATES["login"] = "2/min"
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # how BookIt used to trust it
        for n in range(2):
            login(anon, "x@example.com", ip="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert_throttled(login(anon, "x@example.com", ip="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.99"))

    def test_behind_a_trusted_proxy_each_client_counts_under_the_address_the_proxy_saw(self, anon, settings):
        settings.THROTTLE_RATES["login"] = "2/min"
        settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
        via_proxy = {"ip": "10.0.0.5"}
        for _ in range(2):
            login(anon, "x@example.com", **via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")
        assert_throttled(login(anon, "x@example.com", **via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.1"))
        # What the client wrote before the proxy's own entry changes nothing.
        forged = "198.51.100.77, 198.51.100.1"
        assert_throttled(login(anon, "x@example.com", **via_proxy, HTTP_X_FORWARDED_FOR=forged))
        assert login(anon, "x@example.com", **via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 401
        # Two trusted hops (a CDN at 192.0.2.1, then the load balancer): the client is the hop before both.
        chain = "198.51.100.1, 192.0.2.1"
        assert_throttled(login(anon, "x@example.com", **via_proxy, HTTP_X_FORWARDED_FOR=chain))


def test_register_per_ip(anon, settings):
    settings.THROTTLE_RATES["register"] = "2/hour"
    assert [register(anon, n).status_code for n in range(2)] == [201, 201]
    response = register(anon, 3)
    assert_throttled(response, window=3600)
    assert int(response["Retry-After"]) > 60  # an hourly window
    assert register(anon, 4, ip="10.0.0.2").status_code == 201


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login"])
def test_simultaneous_requests_from_one_ip_count_atomically(path, live_server, settings, monkeypatch):
    settings.THROTTLE_RATES.update(register="3/hour", login="3/hour")
    real_get = throttle_cache.get

    def slow_get(*args):  # a slow counter store: a throttle that reads, then writes, lets all of them read "none yet"
        value = real_get(*args)
        time.sleep(0.3)
        return value

    monkeypatch.setattr(throttle_cache, "get", slow_get)
    body = lambda n: {"email": f"racer{n}@example.com", "password": PASSWORD}  # noqa: E731
    calls = [lambda n=n: request("POST", f"{live_server.url}{path}", body=body(n)) for n in range(8)]
    statuses = [status for status, _ in race(calls)]
    assert statuses.count(429) == 5, statuses


def test_general_rates_for_anonymous_callers_and_users(anon, user_client, other_client, settings):
    settings.THROTTLE_RATES.update(anon="2/min", user="3/min")
    assert [anon.get("/services").status_code for _ in range(2)] == [200, 200]
    assert_throttled(anon.get("/services"))
    assert [user_client.get("/services").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(user_client.get("/me"))
    assert other_client.get("/me").status_code == 200  # per user, not per IP


def test_health_is_never_throttled(anon, settings):
    settings.THROTTLE_RATES["anon"] = "1/min"
    assert {anon.get("/health").status_code for _ in range(5)} == {200}


def test_throttle_enabled_false_switches_every_throttle_off(anon, settings):
    settings.THROTTLE_ENABLED = False
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES, "1/hour")
    assert {login(anon, "a@example.com").status_code for _ in range(4)} == {401}
    assert [register(anon, n).status_code for n in range(3)] == [201, 201, 201]
    assert {anon.get("/services").status_code for _ in range(4)} == {200}


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


class TestRedis:
    @pytest.fixture
    def redis_cache(self, settings):
        """The throttle cache on the machine's Redis, under a prefix of this test's own.

        Skips without a Redis at 127.0.0.1:6379 on a newcomer's machine; CI sets
        BOOKIT_REQUIRE_REDIS=1, which turns a missing Redis into a failure.
        """
        if not redis_reachable():
            if os.environ.get("BOOKIT_REQUIRE_REDIS") == "1":
                pytest.fail("Redis at 127.0.0.1:6379 is required here (BOOKIT_REQUIRE_REDIS=1) but not reachable")
            pytest.skip("no Redis at 127.0.0.1:6379 (start one to run this; CI requires it)")
        prefix = f"bookit-test-prod-{uuid.uuid4().hex}"
        settings.CACHES = {
            **settings.CACHES,
            "throttle": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": LOCAL_REDIS,
                "KEY_PREFIX": prefix,
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
            },
        }
        client = redis.Redis.from_url(LOCAL_REDIS)
        yield client, prefix
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)

    def test_counters_live_in_redis(self, anon, settings, redis_cache):
        client, prefix = redis_cache
        settings.THROTTLE_RATES["login_email"] = "2/min"
        for ip in ("10.0.0.1", "10.0.0.2"):
            assert login(anon, "shared@example.com", ip).status_code == 401
        keys = {key.decode() for key in client.scan_iter(f"{prefix}:*")}
        assert any("throttle_login_email_" in key for key in keys)
        assert not any("shared@example.com" in key for key in keys)  # the email is hashed
        # Another worker's memory knows nothing; Redis still says no.
        throttle_cache.fallback.clear()
        assert_throttled(login(anon, "shared@example.com", "10.0.0.3"))
        assert throttle_cache.down_until == 0.0

    def test_redis_down_falls_back_to_local_memory_and_keeps_serving(self, anon, settings, caplog):
        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            dead_port = sock.getsockname()[1]
        settings.CACHES = {
            **settings.CACHES,
            "throttle": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{dead_port}/0",
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
            },
        }
        settings.THROTTLE_RATES["anon"] = "3/min"
        assert [anon.get("/services").status_code for _ in range(3)] == [200, 200, 200]
        assert_throttled(anon.get("/services"))  # still counted, in this process's memory
        warnings = [r for r in caplog.records if r.name == "bookit.throttling"]
        assert len(warnings) == 1  # once per outage, not per request
        assert "counting in local memory" in warnings[0].getMessage()


def test_rates_and_switch_come_from_the_environment():
    """Outside tests (here APP_ENV=dev) every rate and THROTTLE_ENABLED are read from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THROTTLE_") and k != "PYTEST_VERSION"}
    env.update(APP_ENV="dev", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    show = "from django.conf import settings as s; print(json.dumps([s.THROTTLE_ENABLED, s.THROTTLE_RATES]))"
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", f"import json; {show}"]

    def settings_with(**overrides):
        result = subprocess.run(command, cwd=REPO, env={**env, **overrides}, capture_output=True, text=True, check=True)
        return json.loads(result.stdout.splitlines()[-1])

    assert settings_with() == [
        True,
        {
            "anon": "120/min",
            "user": "600/min",
            "login": "20/min",
            "login_failures": "5/min",
            "login_email_ip": "10/hour",
            "login_email": "100/hour",
            "register": "10/hour",
        },
    ]
    enabled, rates = settings_with(
        THROTTLE_ENABLED="false",
        THROTTLE_ANON_RATE="1/second",
        THROTTLE_USER_RATE="2/min",
        THROTTLE_LOGIN_RATE="3/hour",
        THROTTLE_LOGIN_EMAIL_RATE="4/day",
        THROTTLE_LOGIN_EMAIL_IP_RATE="7/min",
        THROTTLE_LOGIN_FAILURES_RATE="6/hour",
        THROTTLE_REGISTER_RATE="5/min",
    )
    assert enabled is False
    assert rates == dict(
        anon="1/second",
        user="2/min",
        login="3/hour",
        login_failures="6/hour",
        login_email_ip="7/min",
        login_email="4/day",
        register="5/min",
    )
