"""Answers of public reads, kept under the version of the data they show; ETag and 304 from the same version.

The version is read from the database on every request (one cheap query), and
it changes in the transaction of every change that alters the answers
(triggers: ``catalog`` migration 0004 for services, their policies, hours,
exceptions and rating totals; ``reviews`` migrations 0004 and 0005 for reviews
and reviewers' names), so a kept answer is used only while it is still exactly
what the database would give: never stale once a change commits. The answers
live in this process's memory (each gunicorn worker has its own): nothing to
invalidate elsewhere, and a new version empties them.

What is kept is keyed by what decides the answer, never by the raw URL: the
caller's scope, the URL's arguments and the query's parameters as validated
(``KeptListMixin``). Parameters the view does not know, and other spellings of
the same values, find the same entry and never make one; the store is bounded
in bytes (``ANSWER_CACHE_BYTES``) and gives up its least recently used answers
first.
"""

import functools
import hashlib
import platform
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import django
import rest_framework
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import parse_etags
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class VersionedAnswers:
    """Rendered answers under one version, at most ``max_bytes`` of them; the least recently used go first.

    The version is part of every lookup, so an answer computed from an older version
    (a request that read it just before a change committed) can never be taken for a
    newer one. A lock keeps the order and the byte count right under gunicorn's
    threaded worker; uncontended, it costs well under a microsecond.
    """

    # What an entry costs beyond its body and its key's text: the key's tuple, the
    # OrderedDict's node and slot, the (body, cost) pair. An estimate, on the high side.
    ENTRY_OVERHEAD = 400

    def __init__(self, max_bytes: int | None = None):
        self._max_bytes = max_bytes
        self.version: int | None = None
        self.answers: OrderedDict[Hashable, tuple[bytes, int]] = OrderedDict()
        self.bytes = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        """``ANSWER_CACHE_BYTES`` unless given: read when needed, so settings only read."""
        return settings.ANSWER_CACHE_BYTES if self._max_bytes is None else self._max_bytes

    def get(self, version: int, key: Hashable) -> bytes | None:
        with self._lock:
            if version != self.version or (entry := self.answers.get(key)) is None:
                return None
            self.answers.move_to_end(key)
            return entry[0]

    def put(self, version: int, key: Hashable, body: bytes) -> None:
        cost = len(body) + len(repr(key)) + self.ENTRY_OVERHEAD
        limit = self.max_bytes
        with self._lock:
            if version != self.version:
                self.answers.clear()
                self.bytes, self.version = 0, version
            if (earlier := self.answers.pop(key, None)) is not None:
                self.bytes -= earlier[1]
            if cost > limit:  # larger than the whole store: served, not kept
                return
            while self.bytes + cost > limit:
                self.bytes -= self.answers.popitem(last=False)[1][1]
            self.answers[key] = (body, cost)
            self.bytes += cost

    def get_or_compute(self, version: int, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        if (answer := self.get(version, key)) is None:
            answer = compute()
            self.put(version, key, answer)
        return answer

    def clear(self) -> None:
        with self._lock:
            self.answers.clear()
            self.bytes, self.version = 0, None


# Every kept answer of this process, of every view: one budget per worker.
KEPT_ANSWERS = VersionedAnswers()

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


def versioned_response(
    request, answers: VersionedAnswers, *, version: int, scope: str, key: Hashable, compute: Callable[[], object]
) -> HttpResponse:
    """``compute()``'s data, kept rendered under ``version`` and ``key``; a 304 when the client has it already.

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
    body = answers.get_or_compute(version, (scope, key), lambda: JSONRenderer().render(compute()))
    if _client_has(request, etag):
        return _not_modified(headers)
    return HttpResponse(body, content_type="application/json", headers=headers)  # kept rendered


def _client_has(request, etag: str) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    return bool(if_none_match) and (if_none_match.strip() == "*" or etag in parse_etags(if_none_match))


def _not_modified(headers: dict) -> Response:
    return Response(status=304, headers=headers)


def canonical_text(value) -> str | None:
    """A validated query value as one text, the same for every spelling of the same value; None for "not given"."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):  # 10, 10.0, 1e1 and 010 are one price
        value = value.normalize()
        return format(value, "f") if -30 < value.as_tuple().exponent < 30 else str(value)
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


class KeptListMixin:
    """``list`` answered from this worker's kept answers under the catalog's version (``versioned_response``).

    Entries are keyed by the validated request only: the scope, the URL's arguments (as
    numbers where they are digits), the filter set's fields as its form cleans them, the
    page and its size. The page's ``next`` and ``previous`` links are built from the same
    values, so whichever request filled an entry, its body is what any request of that key
    gets. A request with bad parameters is refused before any lookup and keeps nothing.
    """

    answers = KEPT_ANSWERS

    def catalog_version(self) -> int:
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        paginator = self.paginator
        route = request.resolver_match.view_name
        arguments = tuple(sorted((name, _argument(value)) for name, value in self.kwargs.items()))
        params = self._canonical_params(request, paginator) if request.query_params else ()
        page = paginator.requested_page(request) if request.query_params else 1
        scope = "staff" if request.user and request.user.is_staff else "public"
        origin = f"{request.scheme}://{request.get_host()}"

        def compute():
            path = reverse(route, kwargs=dict(arguments))
            paginator.page_url = f"{origin}{path}?{urlencode(params)}" if params else f"{origin}{path}"
            return super(KeptListMixin, self).list(request, *args, **kwargs).data

        return versioned_response(
            request,
            self.answers,
            version=self.catalog_version(),
            scope=scope,
            key=(route, origin, arguments, params, page),
            compute=compute,
        )

    def _canonical_params(self, request, paginator) -> tuple[tuple[str, str], ...]:
        filterset = getattr(self, "filterset_class", None)
        filters = filterset.validated(request) if filterset is not None else {}
        size = paginator.get_page_size(request)
        if size != paginator.page_size:
            filters[paginator.page_size_query_param] = size
        return tuple(
            (name, text) for name, value in sorted(filters.items()) if (text := canonical_text(value)) is not None
        )


def _argument(value):
    """A URL argument as one value whatever its spelling (``0007`` and ``7`` are one service)."""
    return int(value) if isinstance(value, str) and value.isdecimal() else value
