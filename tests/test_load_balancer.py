"""Two BookIt servers behind nginx, on one database and one Redis: whichever instance answers, the answer is the same.

Production settings on both (one SECRET_KEY and JWT_SECRET, REDIS_URL, one
trusted proxy), a throwaway PostgreSQL (Debian's 15 where installed), and
nginx as the README's Deployment section configures it: TLS, round robin
(``bookit.testing.balancer``). Each request carries its own ``X-Request-ID``;
the servers' logs tell which instance answered it.

Needs nginx (``apt-get install nginx``) and Redis at 127.0.0.1:6379: without
them ``make test`` skips this, saying why; ``.ci/run`` installs nginx and sets
BOOKIT_REQUIRE_NGINX=1 and BOOKIT_REQUIRE_REDIS=1, which turn the skip into a failure.
"""

import collections
import http.cookies
import random
import re
import threading
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bookings.selectors import OVERLAPPING_PAIRS_SQL
from bookit.testing.balancer import Balancer, nginx_path
from bookit.testing.live_server import PROXIED, LiveServer, production_env
from bookit.testing.postgres import ThrowawayPostgres, server_binaries
from bookit.testing.requirements import require, require_redis

pytestmark = [pytest.mark.slow, pytest.mark.scale]
DATABASE = "bookit_balanced"
PASSWORD = "balanced-test-password-123"
ATTEMPTS = 500
CLIENTS = 40  # users, and threads sending their attempts at once
FAILURES_ALLOWED = 5  # THROTTLE_LOGIN_FAILURES_RATE below, per day: no window boundary mid-test


class Deployment:
    def __init__(self, postgres: ThrowawayPostgres, servers: list[LiveServer], balancer: Balancer):
        self.postgres, self.servers, self.balancer = postgres, servers, balancer

    def call(self, method: str, path: str, body=None, token=None) -> tuple[int, dict, int]:
        """(status, JSON body, index of the instance that answered) of one request through nginx."""
        request_id = uuid.uuid4().hex
        status, content, _ = self.balancer.request(method, path, body, token, headers={"X-Request-ID": request_id})
        return status, content, self.answered(request_id)

    def answered(self, request_id: str) -> int:
        [index] = [i for i, server in enumerate(self.servers) if request_id in server.output()]
        return index

    def user(self, email: str, *, staff: bool = False) -> str:
        """Sign ``email`` up through the balancer; its access token."""
        token = self.balancer.sign_up(email, PASSWORD)
        if staff:  # the token stays good: each request reads the user afresh
            promote = "UPDATE accounts_user SET is_staff = true, is_superuser = true WHERE email = %s"
            self.postgres.execute(DATABASE, promote, email)
        return token


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    require(bool(nginx_path()), reason="nginx is not installed (apt-get install nginx)", env="BOOKIT_REQUIRE_NGINX")
    env = {
        "REDIS_URL": require_redis(),
        "REDIS_KEY_PREFIX": f"bookit-test-{uuid.uuid4().hex}",  # Redis is shared with other runs
        "TRUSTED_PROXIES": "127.0.0.1",  # nginx
        # Everything from this test's one client IP: only the limit under test is low.
        "THROTTLE_ANON_RATE": "100000/min",
        "THROTTLE_USER_RATE": "100000/min",
        "THROTTLE_LOGIN_RATE": "100000/min",
        "THROTTLE_REGISTER_RATE": "100000/min",
        "THROTTLE_LOGIN_FAILURES_RATE": f"{FAILURES_ALLOWED}/day",
    }
    logs = tmp_path_factory.mktemp("balanced")
    with ThrowawayPostgres(bin_dir=server_binaries()) as postgres:
        postgres.create_database(DATABASE)
        env = production_env(postgres.url(DATABASE), **env)
        servers = [LiveServer(env, log_path=logs / f"gunicorn-{i}.log", headers=PROXIED) for i in range(2)]
        servers[0].manage("migrate", "--noinput")
        servers[0].manage("collectstatic", "--noinput")  # as a release does (README, Deployment)
        with servers[0], servers[1], Balancer(servers, log_path=logs / "nginx.log") as balancer:
            yield Deployment(postgres, servers, balancer)


def test_a_token_issued_by_one_instance_works_on_the_other(deployment):
    token = deployment.user(f"token-{uuid.uuid4().hex[:8]}@example.com")
    answers = [deployment.call("GET", "/me", token=token) for _ in range(4)]
    assert [status for status, _, _ in answers] == [200] * 4
    assert {instance for _, _, instance in answers} == {0, 1}  # round robin: both checked the token


def test_login_failures_count_across_instances(deployment, monkeypatch):
    # From a client IP of its own (limits count per IP): the other tests' stays unblocked.
    monkeypatch.setattr(deployment.balancer, "client_address", "127.0.0.2")
    attempts = [
        deployment.call("POST", "/auth/login", {"email": f"guess-{i}@example.com", "password": "wrong"})
        for i in range(FAILURES_ALLOWED + 2)
    ]
    statuses = [status for status, _, _ in attempts]
    assert statuses == [401] * FAILURES_ALLOWED + [429, 429]
    # Both instances counted and refused: one counter in Redis, not one per instance or per worker.
    assert {instance for _, _, instance in attempts[:FAILURES_ALLOWED]} == {0, 1}
    assert {instance for _, _, instance in attempts[FAILURES_ALLOWED:]} == {0, 1}
    assert all(body["code"] == "throttled" for _, body, _ in attempts[FAILURES_ALLOWED:])


def test_the_admin_session_works_whichever_instance_answers(deployment):
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    deployment.user(email, staff=True)
    cookies = http.cookies.SimpleCookie()

    def page(method: str, path: str, form: dict | None = None) -> tuple[int, str, int]:
        request_id = uuid.uuid4().hex
        headers = {"X-Request-ID": request_id, "Cookie": "; ".join(f"{k}={m.value}" for k, m in cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://bookit.test"}
        status, response_headers, raw = deployment.balancer.exchange(method, path, body, headers)
        for value in response_headers.get_all("Set-Cookie") or []:
            cookies.load(value)
        return status, raw.decode(), deployment.answered(request_id)

    status, html, login_page_from = page("GET", "/admin/login/?next=/admin/")
    assert status == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    form = {"csrfmiddlewaretoken": csrf, "username": email, "password": PASSWORD, "next": "/admin/"}
    status, _, login_from = page("POST", "/admin/login/?next=/admin/", form)
    assert status == 302, "the login form was refused"
    assert login_from != login_page_from  # the form from one instance, accepted by the other
    assert {"sessionid", "csrftoken"} <= set(cookies)
    assert all(cookies[name]["secure"] for name in ("sessionid", "csrftoken"))  # TLS ended at nginx

    answers = [page("GET", "/admin/bookings/booking/") for _ in range(4)]
    assert [status for status, _, _ in answers] == [200] * 4
    assert all("Select booking to change" in html for _, html, _ in answers)
    assert {instance for _, _, instance in answers} == {0, 1}


def test_concurrent_conflicting_bookings_over_both_instances(deployment):
    admin = deployment.user(f"admin-{uuid.uuid4().hex[:8]}@example.com", staff=True)
    service_ids = []
    for name in ("Court 1", "Court 2"):
        status, service, _ = deployment.call(
            "POST", "/services", {"name": name, "price": "20.00", "duration_minutes": 60}, token=admin
        )
        assert status == 201, service
        service_ids.append(service["id"])
    tokens = [deployment.user(f"player-{i}-{uuid.uuid4().hex[:8]}@example.com") for i in range(CLIENTS)]
    # Six one-hour slots 20 minutes apart per service: each overlaps its neighbours.
    origin = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = [(origin + timedelta(minutes=20 * k)).isoformat().replace("+00:00", "Z") for k in range(6)]
    rng = random.Random(15)
    plan = [(tokens[i % CLIENTS], rng.choice(service_ids), rng.choice(slots)) for i in range(ATTEMPTS)]
    statuses = collections.Counter()
    lock = threading.Lock()

    def attempt(step):
        token, service_id, start = step
        try:
            status, _, _ = deployment.balancer.request(
                "POST", "/bookings", {"service_id": service_id, "start_time": start}, token=token
            )
        except OSError:
            status = 599  # no answer at all counts as a server error
        with lock:
            statuses[status] += 1

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(attempt, plan))

    assert sum(statuses.values()) == ATTEMPTS
    assert set(statuses) <= {201, 409}, statuses  # zero 5xx, nothing else either
    [(rows,)] = deployment.postgres.execute(DATABASE, "SELECT count(*) FROM bookings_booking")
    assert statuses[201] == rows >= len(service_ids)
    assert deployment.postgres.execute(DATABASE, OVERLAPPING_PAIRS_SQL) == []
    served = [server.output().count('"message": "POST /bookings ') for server in deployment.servers]
    assert sum(served) == ATTEMPTS and min(served) > ATTEMPTS // 4  # both instances took their share
