"""Request ids, one JSON access line per request, and each error's traceback logged once."""

import io
import json
import logging
import re

import pytest
from django.test import Client

from accounts.tests.factories import PASSWORD, UserFactory
from bookit.logging import JsonFormatter

pytestmark = pytest.mark.django_db

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logs():
    """The lines the configured stdout handler writes (settings.LOGGING), parsed; read with `logs()`."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter))
    buffer = io.StringIO()
    stdout = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(stdout)


def access_lines(logs) -> list[dict]:
    return [line for line in logs() if line["logger"] == "bookit.access"]


class TestRequestId:
    def test_a_valid_incoming_id_is_kept_and_returned(self, anon):
        response = anon.get("/health", HTTP_X_REQUEST_ID="lb-7f3a.92_x")
        assert response["X-Request-ID"] == "lb-7f3a.92_x"

    def test_without_one_a_uuid_is_generated(self, anon):
        first, second = anon.get("/health")["X-Request-ID"], anon.get("/health")["X-Request-ID"]
        assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second

    @pytest.mark.parametrize("bad", ["a" * 129, "has space", "new\nline", "<script>", "ünï"])
    def test_an_invalid_id_is_replaced(self, anon, bad):
        assert HEX_ID.fullmatch(anon.get("/health", HTTP_X_REQUEST_ID=bad)["X-Request-ID"])

    def test_errors_and_unknown_paths_carry_it_too(self, anon):
        for response in (anon.get("/nope"), anon.get("/me"), anon.post("/health", {})):
            assert response.status_code in (404, 401, 405)
            assert HEX_ID.fullmatch(response["X-Request-ID"])


class TestAccessLine:
    def test_one_line_per_request_with_the_fields(self, user_client, user, logs):
        response = user_client.get("/me?page=2", HTTP_X_REQUEST_ID="req-1")
        assert response.status_code == 200
        [line] = access_lines(logs)
        assert line["level"] == "INFO"
        assert line["time"].endswith("Z")
        assert {k: line[k] for k in ("request_id", "method", "path", "status", "user_id")} == {
            "request_id": "req-1",
            "method": "GET",
            "path": "/me",  # no query string: it may carry secrets
            "status": 200,
            "user_id": user.pk,
        }
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0

    def test_anonymous_and_failed_requests_are_logged(self, anon, logs):
        anon.get("/nope")
        anon.get("/me")
        assert [(line["path"], line["status"], line["user_id"]) for line in access_lines(logs)] == [
            ("/nope", 404, None),
            ("/me", 401, None),
        ]

    def test_no_password_email_or_token_is_logged(self, anon, logs):
        user = UserFactory(email="secret.person@example.com")
        login = anon.post("/auth/login", {"email": user.email, "password": PASSWORD})
        assert login.status_code == 200
        access = login.json()["access"]
        anon.get("/me", HTTP_AUTHORIZATION=f"Bearer {access}")
        anon.post("/auth/login", {"email": user.email, "password": "wrong-password-123"})
        logged = "\n".join(json.dumps(line) for line in logs())
        assert "/auth/login" in logged and "/me" in logged
        for secret in (PASSWORD, "wrong-password-123", user.email, "secret.person", access, login.json()["refresh"]):
            assert secret not in logged


class TestFeedTokens:
    """A calendar feed's URL is its only key: whoever reads the logs must not be able to open the feed."""

    REDACTED = "/calendar/<redacted>.ics"

    @pytest.fixture
    def feed(self, user_client):
        url = user_client.post("/me/calendar-token").json()["url"].removeprefix("http://testserver")
        return url, url.removeprefix("/calendar/").removesuffix(".ics")

    def test_a_feed_poll_logs_the_route_never_the_token(self, anon, feed, logs):
        url, token = feed
        assert anon.get(url).status_code == 200
        [line] = [line for line in access_lines(logs) if line["method"] == "GET"]
        assert (line["path"], line["message"], line["status"]) == (self.REDACTED, f"GET {self.REDACTED} 200", 200)
        assert token not in "\n".join(json.dumps(line) for line in logs())

    def test_refused_and_failed_feed_requests_hide_it_too(self, anon, feed, logs, monkeypatch):
        url, token = feed
        assert anon.get(f"{url}/").status_code == 404  # not the route: the catch-all's 404
        assert anon.get(url.removesuffix(".ics")).status_code == 404
        assert anon.post(url).status_code == 405

        def broken(**_):
            raise RuntimeError(f"boom while reading {url}")

        monkeypatch.setattr("bookings.selectors.calendar_feed_bookings", broken)
        assert anon.get(url).status_code == 500
        lines = logs()
        assert [line["path"] for line in access_lines(logs)] == [f"{self.REDACTED}/"] + [self.REDACTED] * 3
        assert any("exception" in line and self.REDACTED in line["exception"] for line in lines)
        assert token not in "\n".join(json.dumps(line) for line in lines)

    def test_no_logger_writes_it(self, logs):
        """Django's and gunicorn's own lines name the path in their messages (and a Resolver404's text without
        its leading slash): every line the formatter writes is scrubbed."""
        token = "Zq3_x-" * 7
        logging.getLogger("django.request").error("Internal Server Error: /calendar/%s.ics", token)
        logging.getLogger("gunicorn.error").error("Error handling request /calendar/%s.ics?x=1", token)
        logging.getLogger("django.server").info('"GET /calendar/%s.ics HTTP/1.1" 200 12', token)
        try:
            raise LookupError({"tried": [], "path": f"calendar/{token}.ics"})
        except LookupError:
            logging.getLogger("bookit.api").exception("unhandled error")
        lines = logs()
        assert len(lines) == 4
        assert token not in "\n".join(json.dumps(line) for line in lines)
        assert [line["message"] for line in lines[:2]] == [
            "Internal Server Error: /calendar/<redacted>.ics",
            "Error handling request /calendar/<redacted>.ics?x=1",
        ]
        assert "'path': 'calendar/<redacted>.ics'" in lines[3]["exception"]


class TestErrors:
    def test_an_api_error_logs_its_traceback_once_with_the_request_id(self, anon, logs, monkeypatch):
        class BrokenConnection:
            def cursor(self):
                raise RuntimeError("boom in the health view")

        monkeypatch.setattr("bookit.api.views.connection", BrokenConnection())
        response = anon.get("/health", HTTP_X_REQUEST_ID="req-500")
        assert response.status_code == 500
        assert response.json()["code"] == "server_error"
        lines = logs()
        with_traceback = [line for line in lines if "exception" in line]
        assert len(with_traceback) == 1
        assert "boom in the health view" in with_traceback[0]["exception"]
        assert with_traceback[0]["request_id"] == "req-500"
        # Django's "Internal Server Error: /health" echo is dropped; the access line says 500.
        assert [line["logger"] for line in lines] == ["bookit.api", "bookit.access"]
        assert lines[1]["status"] == 500 and lines[1]["level"] == "ERROR"

    @pytest.mark.urls("bookit.tests.urls_broken")
    def test_an_error_outside_the_api_logs_its_traceback_once(self, settings, logs):
        settings.DEBUG = False
        response = Client(raise_request_exception=False).get("/broken", HTTP_X_REQUEST_ID="req-plain")
        assert response.status_code == 500
        assert response.json()["code"] == "server_error"
        with_traceback = [line for line in logs() if "exception" in line]
        assert len(with_traceback) == 1
        assert with_traceback[0]["logger"] == "django.request"
        assert "boom in a plain view" in with_traceback[0]["exception"]
        assert with_traceback[0]["request_id"] == "req-plain"


def test_formatter_keeps_scalar_extras_and_drops_objects():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.status_code = 404
    record.request = object()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["status_code"] == 404
    assert "request" not in line
