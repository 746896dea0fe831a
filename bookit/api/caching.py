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

import functools
import hashlib
import platform
from collections.abc import Callable
from pathlib import Path

import django
import rest_framework
from django.apps import apps
from django.conf import settings
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


# Besides the project's own code, the libraries that render answers.
RELEASE_LIBRARIES = (("django", django.__version__), ("djangorestframework", rest_framework.__version__))


@functools.cache
def release_fingerprint() -> str:
    """A short hash of this release's code: every Python file of the project's apps, and the versions of
    Python, Django and REST framework. Computed once per process, at the first ETag (about 5 ms).

    A deploy that changes how an answer looks must change the ETag, or clients would keep
    their old copies on 304s until the catalog next changes. The code is the honest
    measure: the OpenAPI schema's hash (0.35 s per worker to generate) would miss a
    changed rendering of the same schema. Any other deploy changes it too, which costs each
    client one full answer per deploy.
    """
    digest = hashlib.sha256(repr((platform.python_version(), RELEASE_LIBRARIES)).encode())
    base = Path(settings.BASE_DIR).resolve()
    roots = {Path(config.path).resolve() for config in apps.get_app_configs()}
    roots.add(Path(__file__).resolve().parents[1])  # the project package itself (bookit)
    for root in sorted(root for root in roots if root.parent == base):  # not the libraries in a .venv inside
        digest.update(source_digest(root, base))
    return digest.hexdigest()[:12]


def source_digest(root: Path, base: Path) -> bytes:
    """SHA-256 of every ``*.py`` file under ``root``: each path relative to ``base``, then its bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def versioned_response(request, answers: VersionedAnswers, *, version: int, scope: str, compute) -> HttpResponse:
    """``compute()``'s data for this URL, kept rendered under ``version``; a 304 when the client has it already.

    ``scope`` names who sees this answer (``public`` or ``staff``): it is part of the ETag
    and of the key, as the release is part of the ETag. Clients may keep the answer but must
    revalidate it (``no-cache``): a 304 costs them one request and no body. A 304 comes only
    once the answer is known to exist (RFC 9110, 13.1.2): from a kept answer of this version,
    or after ``compute()``, whose 404 for an unknown resource (or 400, for bad parameters)
    comes first.
    """
    etag = f'"{scope}-{version}-{release_fingerprint()}"'
    cache_control = "public, no-cache" if scope == "public" and not request.auth else "private, no-cache"
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Authorization"}
    if connection.in_atomic_block:  # a transaction's reads may include its own uncommitted changes: not for others
        data = compute()
        return _not_modified(headers) if _client_has(request, etag) else Response(data, headers=headers)
    body = answers.get_or_compute(
        version, (scope, request.build_absolute_uri()), lambda: JSONRenderer().render(compute())
    )
    if _client_has(request, etag):
        return _not_modified(headers)
    return HttpResponse(body, content_type="application/json", headers=headers)  # kept rendered


def _client_has(request, etag: str) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    return bool(if_none_match) and (if_none_match.strip() == "*" or etag in parse_etags(if_none_match))


def _not_modified(headers: dict) -> Response:
    return Response(status=304, headers=headers)
