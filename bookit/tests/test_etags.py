"""ETags (bookit/api/caching.py): a 304 only for an answer that exists, and a new ETag with a new release.

Transactional tests: answers are kept only outside a transaction, as in production.
"""

import pytest

from bookit.api import caching
from bookit.api.caching import source_digest
from catalog.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def get(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return response


class TestETags:
    def test_if_none_match_star_on_an_unknown_service_is_404(self, anon):
        response = anon.get("/reviews/services/999999", HTTP_IF_NONE_MATCH="*")
        assert response.status_code == 404

    def test_a_current_etag_on_an_unknown_service_is_404(self, anon):
        etag = get(anon, f"/reviews/services/{ServiceFactory().id}").headers["ETag"]
        assert anon.get("/reviews/services/999999", HTTP_IF_NONE_MATCH=etag).status_code == 404
        assert anon.get("/services?min_price=abc", HTTP_IF_NONE_MATCH=etag).status_code == 400

    def test_if_none_match_star_on_a_known_service_is_304_kept_or_not(self, anon):
        service = ServiceFactory()
        assert anon.get(f"/reviews/services/{service.id}", HTTP_IF_NONE_MATCH="*").status_code == 304
        assert anon.get(f"/reviews/services/{service.id}", HTTP_IF_NONE_MATCH="*").status_code == 304

    def test_the_etag_changes_with_the_release(self, anon, monkeypatch):
        ServiceFactory()
        etag = get(anon, "/services").headers["ETag"]
        assert anon.get("/services", HTTP_IF_NONE_MATCH=etag).status_code == 304
        monkeypatch.setattr(caching, "release_fingerprint", lambda: "another-release")
        changed = get(anon, "/services", HTTP_IF_NONE_MATCH=etag)
        assert changed.headers["ETag"] != etag and "another-release" in changed.headers["ETag"]

    def test_the_release_fingerprint_is_the_code(self, tmp_path):
        package = tmp_path / "app"
        package.mkdir()
        (package / "views.py").write_text("ROWS = 1\n")
        before = source_digest(package, tmp_path)
        assert source_digest(package, tmp_path) == before
        (package / "views.py").write_text("ROWS = 2\n")
        assert source_digest(package, tmp_path) != before
        (package / "views.py").write_text("ROWS = 1\n")
        (package / "serializers.py").write_text("")
        assert source_digest(package, tmp_path) != before

    def test_the_release_fingerprint_covers_the_projects_apps_only(self):
        fingerprint = caching.release_fingerprint()
        assert fingerprint == caching.release_fingerprint() and len(fingerprint) == 12
