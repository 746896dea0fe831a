"""Answers of public reads, kept under the version of the data they show; ETag and 304 from the same version.

The version is read from the database on every request (one cheap query), and
it changes in the transaction of every change that alters the answers
(triggers: ``catalog`` migration 0004 for services, their policies, hours,
exceptions and rating totals; ``reviews`` migration 0003 for reviews and
reviewers' names), so a kept answer is used only while
it is still exactly what the database would give: never stale once a change
commits. The answers live in this process's memory (each gunicorn worker has
its own): nothing to invalidate elsewhere, and a new version empties them.
"""

from collections.abc import Callable

from django.db import connection
from django.http import HttpResponse
from django.utils.http import parse_etags
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class VersionedAnswers:
    """Up to ``size`` answers, each under the version it was computed for; a new version starts afresh.

    The version is part of every key, so an answer computed from an older version (a
    request that read it just before a change committed) can never be taken for a newer one.
    """

    def __init__(self, size: int = 1000):
        self.size = size
        self.version: int | None = None
        self.answers: dict = {}

    def get_or_compute(self, version: int, key, compute: Callable[[], object]):
        if version != self.version:
            self.answers = {}
            self.version = version
        answers, key = self.answers, (version, key)
        if (answer := answers.get(key)) is None:
            if len(answers) >= self.size:
                answers.clear()
            answer = answers[key] = compute()
        return answer


def versioned_response(request, answers: VersionedAnswers, *, version: int, scope: str, compute) -> HttpResponse:
    """``compute()``'s data for this URL, kept rendered under ``version``; a 304 when the client has it already.

    ``scope`` names who sees this answer (``public`` or ``staff``): it is part of the
    ETag and of the key. Clients may keep the answer but must revalidate it
    (``no-cache``): a 304 costs them one request and no body.
    """
    etag = f'"{scope}-{version}"'
    cache_control = "public, no-cache" if scope == "public" and not request.auth else "private, no-cache"
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Authorization"}
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and (etag in parse_etags(if_none_match) or if_none_match.strip() == "*"):
        return Response(status=304, headers=headers)
    if connection.in_atomic_block:  # a transaction's reads may include its own uncommitted changes: not for others
        return Response(compute(), headers=headers)
    body = answers.get_or_compute(
        version, (scope, request.build_absolute_uri()), lambda: JSONRenderer().render(compute())
    )
    return HttpResponse(body, content_type="application/json", headers=headers)  # kept rendered
