"""Conventions every endpoint shares: paths, error shape, docs."""

import json

import pytest

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}


@pytest.mark.parametrize("path", ["/services", "/services/", "/health", "/health/", "/me", "/me/"])
def test_paths_work_with_and_without_trailing_slash(anon, path):
    response = anon.get(path)
    assert response.status_code in (200, 401)  # never a 301/302
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", ["/nope", "/services/1/nope", "/auth/nope/"])
def test_unknown_path_is_json_404(anon, path):
    response = anon.get(path)
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_malformed_json_is_400(admin_client):
    response = admin_client.post("/services", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unsupported_content_type_is_415(admin_client):
    response = admin_client.post("/services", data="name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert set(response.json()) == ERROR_KEYS


def test_wrong_method_is_405(anon, admin_client):
    assert anon.post("/health", {}).status_code == 405
    response = admin_client.put("/services", {})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_validation_error_shape(anon):
    body = anon.post("/auth/register", {"email": "bad"}).json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "password"}
    assert body["detail"].startswith(("email:", "password:"))


def test_bad_token_is_401_in_the_error_shape(anon):
    response = anon.get("/services", HTTP_AUTHORIZATION="Bearer garbage")
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_health_reports_database_and_an_empty_queue(anon):
    assert anon.get("/health").json() == {
        "status": "ok",
        "database": "ok",
        "queue": {"waiting": 0, "oldest_waiting_seconds": None},
    }


def test_openapi_schema_documents_paths_and_error_shape(anon):
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    for path in (
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/me",
        "/services",
        "/services/{id}",
        "/health",
    ):
        assert path in schema["paths"], path
    assert "Error" in schema["components"]["schemas"]
    delete = schema["paths"]["/services/{id}"]["delete"]["responses"]
    assert {"204", "401", "403", "404", "409"} <= set(delete)
    assert delete["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_assets_from_this_server(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html


def test_bad_host_header_is_a_json_400(client, settings):
    settings.DEBUG = False
    response = client.get("/services", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS


def test_schema_path_accepts_a_trailing_slash_too(anon):
    assert anon.get("/openapi.json/").status_code == 200


def test_schema_links_created_objects_to_their_operations(anon):
    schema = json.loads(anon.get("/openapi.json").content)
    links = schema["paths"]["/bookings"]["post"]["responses"]["201"]["links"]
    assert set(links) == {
        "bookings_retrieve",
        "bookings_partial_update",
        "bookings_status_partial_update",
        "bookings_destroy",
    }
    assert links["bookings_retrieve"]["parameters"] == {"id": "$response.body#/id"}
    assert "403" not in schema["paths"]["/services"]["get"]["responses"]  # reading is open to everyone


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*", "text/html, */*;q=0.1"])
def test_json_whatever_acceptable_accept_header(anon, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = anon.get("/health", **headers)
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")


def test_an_unacceptable_accept_header_is_still_406(anon):
    assert anon.get("/health", HTTP_ACCEPT="text/html").status_code == 406
    assert anon.get("/health?format=xml").status_code == 404  # DRF: an unknown ?format= is a 404
