"""The README's nginx site logs a calendar feed's route, never its secret token (the feed's only key).

nginx (``apt-get install nginx``; ``.ci/run`` installs it) runs the site of
``bookit.testing.balancer`` (the README's, which ``tests/test_deploy_files.py``
holds equal) in front of a stand-in upstream that answers 200 to everything:
what is checked is nginx's own access log, so no BookIt server is needed.
"""

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bookit.testing.balancer import Balancer, nginx_path
from bookit.testing.requirements import require


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def balancer(tmp_path):
    require(bool(nginx_path()), reason="nginx is not installed (apt-get install nginx)", env="BOOKIT_REQUIRE_NGINX")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    upstream.port = upstream.server_address[1]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with Balancer([upstream], log_path=tmp_path / "nginx.log") as balancer:
            yield balancer
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_the_access_log_shows_the_feed_route_never_its_token(balancer):
    token = uuid.uuid4().hex + "_-Zq"
    paths = [
        f"/calendar/{token}.ics",
        f"/calendar/{token}.ics?since=1",
        f"/%63alendar/{token}.ics",  # nginx decodes the path before it maps it, as Django does before routing
        "/services?page=2",
    ]
    for path in paths:
        assert balancer.exchange("GET", path)[0] == 200
    logged, requests = logged_requests(balancer, len(paths))
    assert token not in logged and "since=" not in logged and "page=" not in logged
    assert requests == ["GET /calendar/<redacted>.ics HTTP/1.1"] * 3 + ["GET /services HTTP/1.1"]


def logged_requests(balancer, count: int) -> tuple[str, list[str]]:
    """nginx's access log and its request lines (the health checks left out), once ``count`` are in.

    nginx writes a request's line after it has sent the answer, so the last one may lag a moment.
    """
    deadline = time.monotonic() + 5
    while True:
        logged = balancer.access_log.read_text()
        requests = [line.split('"')[1] for line in logged.splitlines() if "/health" not in line]
        if len(requests) >= count or time.monotonic() > deadline:
            return logged, requests
        time.sleep(0.05)
