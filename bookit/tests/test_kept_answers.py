"""Kept answers (bookit/api/caching.py): keyed by validated parameters, bounded in bytes, least recently used
out first.

Transactional tests: answers are kept only outside a transaction, as in production.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookit.api.caching import KEPT_ANSWERS, VersionedAnswers
from catalog.tests.factories import ServiceFactory
from reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_store():
    KEPT_ANSWERS.clear()
    yield
    KEPT_ANSWERS.clear()


@pytest.fixture
def services():
    return ServiceFactory.create_batch(25)


def get(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content
    return response


class TestKeys:
    def test_unknown_parameters_share_the_entry_and_never_make_one(self, services, anon):
        first = get(anon, "/services?page=1").json()
        assert len(KEPT_ANSWERS.answers) == 1
        for url in ("/services?page=1&junk=x", "/services?junk=y", "/services?page=01&utm_source=z", "/services"):
            with CaptureQueriesContext(connection) as queries:
                assert get(anon, url).json() == first  # the kept answer: links without the junk
            assert len(queries) == 1  # the version only
        assert len(KEPT_ANSWERS.answers) == 1
        assert first["next"] == "http://testserver/services?page=2"

    def test_spellings_of_the_same_filter_share_an_entry(self, services, anon):
        bodies = [get(anon, f"/services?min_price={price}&ordering=-price").json() for price in ("10", "10.00", "010")]
        assert bodies[0] == bodies[1] == bodies[2]
        assert len(KEPT_ANSWERS.answers) == 1

    def test_links_come_from_the_validated_parameters_whoever_filled_the_entry(self, services, anon):
        junk = get(anon, "/services/?page_size=5&min_price=0.0&junk=1&page=2").json()
        assert junk["next"] == "http://testserver/services?min_price=0&page=3&page_size=5"
        assert junk["previous"] == "http://testserver/services?min_price=0&page_size=5"
        assert get(anon, "/services?min_price=0&page_size=5&page=2").json() == junk

    def test_a_reviews_page_is_one_entry_however_the_id_is_written(self, anon):
        review = ReviewFactory()
        for path in (f"/reviews/services/{review.service_id}", f"/reviews/services/000{review.service_id}/"):
            assert get(anon, path).json()["results"][0]["id"] == review.id
        assert len(KEPT_ANSWERS.answers) == 1

    def test_refused_requests_keep_nothing(self, services, anon):
        assert anon.get("/services?min_price=abc").status_code == 400
        assert anon.get("/services?page=9").status_code == 404
        assert anon.get("/services?page=²").status_code == 404
        assert anon.get("/reviews/services/999999").status_code == 404
        assert not KEPT_ANSWERS.answers

    def test_what_decides_the_answer_still_tells_entries_apart(self, services, anon, admin_client):
        pages = {get(anon, f"/services?page={n}").content for n in (1, 2)}
        pages |= {get(anon, "/services?page_size=3").content, get(anon, "/services?ordering=-price").content}
        assert len(pages) == len(KEPT_ANSWERS.answers) == 4
        get(admin_client, "/services")  # the same rows here, but staff and the public never share an answer
        assert len(KEPT_ANSWERS.answers) == 5


class TestBytes:
    def test_the_store_stays_under_its_bound_and_keeps_the_recent(self, services, anon, settings):
        one = len(get(anon, "/services?page_size=1").content)
        settings.ANSWER_CACHE_BYTES = 4 * (one + 1000)  # room for about four one-row pages
        for size in range(1, 20):
            get(anon, f"/services?page_size={size}")
            assert KEPT_ANSWERS.bytes <= settings.ANSWER_CACHE_BYTES
            assert KEPT_ANSWERS.bytes == sum(cost for _, cost in KEPT_ANSWERS.answers.values())
        assert KEPT_ANSWERS.answers  # evicted one by one, never all at once

    def test_an_answer_larger_than_the_store_is_served_not_kept(self, services, anon, settings):
        settings.ANSWER_CACHE_BYTES = 1000
        assert len(get(anon, "/services?page_size=25").json()["results"]) == 25
        assert not KEPT_ANSWERS.answers and KEPT_ANSWERS.bytes == 0


class TestLeastRecentlyUsed:
    def store(self, entries: int) -> VersionedAnswers:
        body = b"x" * 1000
        return VersionedAnswers(max_bytes=entries * (len(body) + len(repr("a")) + VersionedAnswers.ENTRY_OVERHEAD))

    def test_a_read_keeps_an_entry_and_the_least_recently_used_goes(self):
        answers = self.store(3)
        for key in "abc":
            answers.put(1, key, b"x" * 1000)
        assert answers.get(1, "a") == b"x" * 1000  # a is now the most recent
        answers.put(1, "d", b"x" * 1000)
        assert list(answers.answers) == ["c", "a", "d"]  # b went, alone
        answers.put(1, "e", b"x" * 1000)
        assert list(answers.answers) == ["a", "d", "e"]

    def test_another_version_starts_afresh_and_is_never_taken_for_this_one(self):
        answers = self.store(3)
        answers.put(1, "a", b"x" * 1000)
        assert answers.get(2, "a") is None
        answers.put(2, "b", b"x" * 1000)
        assert list(answers.answers) == ["b"] and answers.get(1, "b") is None

    def test_through_the_api(self, services, anon, settings):
        sizes = [len(get(anon, f"/services?page_size={n}").content) for n in (1, 2, 3)]
        KEPT_ANSWERS.clear()
        settings.ANSWER_CACHE_BYTES = sum(sizes) + 3 * 1000  # the three pages, not a fourth
        for n in (1, 2, 3):
            get(anon, f"/services?page_size={n}")
        get(anon, "/services?page_size=1")  # read again: the most recent
        get(anon, "/services?page_size=4")
        kept = [dict(params).get("page_size") for (_, (_, _, _, params, _)) in KEPT_ANSWERS.answers]
        assert kept == ["3", "1", "4"]
