"""Middleware for every response: request ids and access lines, security headers, body size limit;
and the admin's own (sessions, the session's user, messages), which run for the admin's pages only.
"""

import logging
import os
import re
import time

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject, empty

from bookit.api.error_responses import error_body
from bookit.logging import redact_paths, request_id_var

access_logger = logging.getLogger("bookit.access")

# What a client or proxy may send as X-Request-ID; anything else is replaced,
# so a log line can never be forged or bloated through the header.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestLogMiddleware:
    """Gives each request an id and writes one JSON access line when it is answered.

    The id is the client's ``X-Request-ID`` when it is valid (1-128 characters
    of ``A-Z a-z 0-9 . _ -``), a new uuid4 otherwise; it is returned in the
    ``X-Request-ID`` response header and attached to every log line of the
    request. The access line has the method, the path (without the query
    string, which may hold secrets, and with a calendar feed's token redacted:
    ``/calendar/<redacted>.ics``), status, duration and user id; never
    headers, bodies, tokens or emails. A new id is 32 random hex digits, as a
    uuid4's, without building the UUID.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # META, not request.headers: that would build a dict of every header on each request.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        token = request_id_var.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            path = redact_paths(request.path)
            access_logger.log(
                logging.ERROR if response.status_code >= 500 else logging.INFO,
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _user_id(request) -> int | None:
    """The authenticated user's id, without a database query for a session nobody looked at."""
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


class ContentSecurityPolicyMiddleware:
    """Adds ``settings.CONTENT_SECURITY_POLICY`` to every response (Django 5.2 has no CSP of its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class BodySizeLimitMiddleware:
    """Answers 413 in the API's error shape when the declared body exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    Django only enforces that limit when something reads ``request.body`` or
    ``request.POST``; DRF's parsers read the stream directly, so without this a
    JSON body of any size would be read into memory.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            detail = f"The request body is larger than the limit of {limit} bytes."
            return JsonResponse(error_body(413, "request_too_large", detail), status=413)
        return self.get_response(request)


# Where bookit/urls.py mounts the admin.
ADMIN_PREFIX = "/admin/"


def _admin_only(middleware: type) -> type:
    """``middleware`` for the admin's pages only.

    Sessions, the session's user and messages serve the admin; the API
    authenticates with a JWT and uses none of them. Run on every API request
    they cost about a tenth of a bare view's time (the messages' cookie signer
    alone is built per request), for nothing. As subclasses, Django's checks
    still find them (the admin requires them). CSRF stays Django's own, for
    every request: cheap, and ``check --deploy`` asks for it by name.
    """

    class AdminOnly(middleware):
        def __call__(self, request):
            if request.path_info.startswith(ADMIN_PREFIX):
                return super().__call__(request)
            return self.get_response(request)

    AdminOnly.__name__ = AdminOnly.__qualname__ = f"Admin{middleware.__name__}"
    AdminOnly.__doc__ = f"``{middleware.__module__}.{middleware.__name__}``, for the admin's pages only."
    return AdminOnly


AdminSessionMiddleware = _admin_only(SessionMiddleware)
AdminAuthenticationMiddleware = _admin_only(AuthenticationMiddleware)
AdminMessageMiddleware = _admin_only(MessageMiddleware)
