"""Security headers, the deploy check, CORS, and request size and type limits."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"status", "code", "detail", "errors"}


def assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


@pytest.mark.parametrize(
    "path", ["/health", "/services", "/nope", "/me", "/docs", "/redoc", "/openapi.json", "/admin/login/"]
)
def test_every_response_has_the_security_headers(client, path):
    assert_security_headers(client.get(path))


def test_static_files_and_413s_have_them_too(client, settings):
    assert_security_headers(client.get("/static/admin/css/base.css"))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    assert_security_headers(client.post("/auth/login", data="x" * 11, content_type="application/json"))


class _Scripts(HTMLParser):
    """Collects the <script> elements of a page: their src, type and inline text."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append({**dict(attrs), "text": ""})

    def handle_data(self, data):
        if self.scripts and self.lasttag == "script":
            self.scripts[-1]["text"] += data.strip()


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/admin/login/", "/admin/", "/admin/catalog/service/", "/admin/catalog/service/add/"]
)
def test_pages_need_no_inline_script_or_other_origin(client, path):
    """What `script-src 'self'` and `default-src 'self'` require (the pages were also tried in headless Chromium)."""
    if path != "/admin/login/":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Scripts()
    parser.feed(html)
    assert parser.scripts, "the page has scripts to check"
    for script in parser.scripts:
        if script.get("type") == "application/json":
            continue  # data, not executed
        assert script["text"] == "", f"inline script on {path}"
        assert script["src"].startswith("/"), f"script from another origin on {path}: {script['src']}"
    assert not re.search(r"""(?:href|src)=["']https?://""", html), f"{path} loads something from another origin"


def test_swagger_start_up_script_is_served_as_a_file(client):
    response = client.get("/docs?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_deploy_check_is_clean_in_production():
    env = {
        **os.environ,
        "APP_ENV": "prod",
        "SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
        "JWT_SECRET": "j" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
        "DATABASE_URL": "postgres://bookit@db.invalid:5432/bookit",
        "ALLOWED_HOSTS": "api.example.com",
    }
    for name in ("APP_DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "PYTEST_VERSION"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


class TestCors:
    ORIGIN = "https://app.example.com"

    @pytest.fixture(autouse=True)
    def allowed_origin(self, settings):
        settings.CORS_ALLOWED_ORIGINS = [self.ORIGIN]

    def preflight(self, client, origin):
        return client.options(
            "/services",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type,x-request-id",
        )

    def test_preflight_from_an_allowed_origin(self, client):
        response = self.preflight(client, self.ORIGIN)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == self.ORIGIN
        allowed = response["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "x-request-id" in allowed

    def test_an_allowed_origin_can_read_the_request_id_and_retry_after(self, client):
        response = client.get("/services", HTTP_ORIGIN=self.ORIGIN)
        assert response["Access-Control-Allow-Origin"] == self.ORIGIN
        assert {"x-request-id", "retry-after"} <= set(response["Access-Control-Expose-Headers"].lower().split(", "))

    def test_other_origins_get_no_cors_headers(self, client):
        assert "Access-Control-Allow-Origin" not in self.preflight(client, "https://evil.example.net")
        assert "Access-Control-Allow-Origin" not in client.get("/services", HTTP_ORIGIN="https://evil.example.net")


class TestRequestLimits:
    def test_a_body_over_the_limit_is_413_in_the_error_shape(self, admin_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = '{"name": "%s", "price": "1.00", "duration_minutes": 30}' % ("x" * 1000)
        response = admin_client.post("/services", data=body, content_type="application/json")
        assert response.status_code == 413
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["code"] == "request_too_large"

    def test_a_body_within_the_limit_is_served(self, admin_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = admin_client.post("/services", {"name": "Cut", "price": "1.00", "duration_minutes": 30})
        assert response.status_code == 201

    def test_the_default_limit_is_one_mebibyte(self, anon, settings):
        assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
        big = '{"email": "%s"}' % ("x" * 1024 * 1024)
        assert anon.post("/auth/login", data=big, content_type="application/json").status_code == 413

    def test_unsupported_content_type_is_415(self, anon):
        response = anon.post("/auth/login", data="email=a", content_type="application/x-www-form-urlencoded")
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"


def test_the_schema_documents_413_429_and_503(anon):
    schema = anon.get("/openapi.json").json()
    login = schema["paths"]["/auth/login"]["post"]["responses"]
    assert {"413", "415", "429", "503"} <= set(login)
    assert login["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "429" not in schema["paths"]["/health"]["get"]["responses"]  # never throttled
