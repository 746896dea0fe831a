"""One JSON error shape for every error the API returns.

    {"status": 409, "code": "booking_conflict", "detail": "This service is ...", "errors": {}}

``errors`` maps field names to lists of messages for validation errors
(``non_field_errors`` for the request as a whole; nested fields are dotted,
``items.0.name``) and is empty otherwise. A domain error may add fields of its
own beside these (its ``extra``), each declared on ``ErrorSerializer`` as
optional: a refused series lists its ``occurrences``.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from bookit.db.sqlstate import CONFLICTS, FOREIGN_KEY_VIOLATION, TIMEOUTS, sqlstate
from bookit.domain_errors import DomainError

logger = logging.getLogger("bookit.api")


class OccurrenceVerdictSerializer(serializers.Serializer):
    """An occurrence of a recurring booking and the verdict of the rules on it."""

    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    verdict = serializers.CharField(
        help_text="`ok`, or the code of the rule that refused it (`booking_conflict`, ...)."
    )
    booking_id = serializers.IntegerField(allow_null=True, help_text="The booking written; null unless written.")

    class Meta:
        ref_name = "OccurrenceVerdict"


class ErrorSerializer(serializers.Serializer):
    """Schema of every error response."""

    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `not_found`, `booking_conflict`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name -> messages, for validation errors; empty otherwise.",
    )
    occurrences = OccurrenceVerdictSerializer(
        many=True,
        required=False,
        help_text="Only with `series_conflict` (POST /bookings/series): every occurrence with its verdict.",
    )

    class Meta:
        ref_name = "Error"


def error_body(status: int, code: str, detail: str, errors: dict | None = None) -> dict:
    return {"status": status, "code": code, "detail": str(detail), "errors": errors or {}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors -> {"field": [...], "items.0.name": [...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    errors = _flatten(exc.detail)
    field, messages = next(iter(errors.items()))
    detail = messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
    return Response(error_body(400, "invalid", detail, errors), status=400)


def _to_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    return exc


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _to_api_exception(exc)

    if isinstance(exc, DomainError):
        set_rollback()
        errors = {exc.field: [exc.message]} if exc.field else {}
        body = error_body(exc.status_code, exc.code, exc.message, errors) | (getattr(exc, "extra", None) or {})
        return Response(body, status=exc.status_code)

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _validation_response(exc)

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if auth_header := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail, code = exc.detail, exc.get_codes()
        if isinstance(detail, dict):  # simplejwt: {"detail": ..., "code": ..., "messages": [...]}
            code = detail.get("code", exc.default_code)
            detail = detail.get("detail", exc.default_detail)
        if isinstance(detail, list):
            detail, code = detail[0], exc.default_code
        return Response(error_body(exc.status_code, str(code), detail), status=exc.status_code, headers=headers)

    view = context.get("view").__class__.__name__
    if isinstance(exc, OperationalError) and sqlstate(exc) in TIMEOUTS:
        # The database is up, but this request's statement ran past statement_timeout (or a lock wait past
        # lock_timeout): a pathological query or an overloaded database, worth a look. Nothing was written.
        set_rollback()
        logger.error("database timeout in %s: %s", view, exc, exc_info=exc)
        return Response(
            error_body(503, "database_timeout", "The database took too long to answer; try again shortly."),
            status=503,
            headers={"Retry-After": "5"},
        )

    if isinstance(exc, OperationalError) and sqlstate(exc) in CONFLICTS:
        # A deadlock or serialization failure that outlived the service's retries: this request collided
        # with another one writing the same rows. Nothing was written; a retry normally succeeds.
        set_rollback()
        logger.warning("database conflict in %s: %s", view, exc)
        return Response(
            error_body(409, "database_conflict", "This request collided with another change; retry it."),
            status=409,
        )

    if isinstance(exc, (OperationalError, InterfaceError)):
        # Connection refused, timed out or dropped: the database is down, not the request.
        logger.error("database unavailable: %s", exc)
        return Response(
            error_body(503, "database_unavailable", "The database is unavailable; try again shortly."),
            status=503,
            headers={"Retry-After": "5"},
        )

    if isinstance(exc, IntegrityError) and sqlstate(exc) == FOREIGN_KEY_VIOLATION:
        # A row this request points at was deleted by another request meanwhile.
        set_rollback()
        return Response(
            error_body(409, "conflict", "Something this request refers to changed meanwhile; reload and retry."),
            status=409,
        )

    if isinstance(exc, DataError):
        # A value the validators let through but PostgreSQL refuses: still the client's input.
        set_rollback()
        logger.warning("database rejected a value: %s", exc)
        return Response(error_body(400, "invalid", "A value in the request is out of range."), status=400)

    if isinstance(exc, DatabaseError):
        set_rollback()
    logger.error("unhandled error in %s", view, exc_info=exc)
    return Response(error_body(500, "server_error", "Internal server error."), status=500)


# Django-level handlers (errors raised outside DRF views), same shape.
def bad_request_view(request, exception=None):  # e.g. a Host header not in ALLOWED_HOSTS
    return JsonResponse(error_body(400, "bad_request", "Bad request."), status=400)


def forbidden_view(request, exception=None):
    return JsonResponse(error_body(403, "permission_denied", "You do not have permission to do this."), status=403)


def not_found_view(request, exception=None):
    return JsonResponse(error_body(404, "not_found", "Not found."), status=404)


def server_error_view(request):
    return JsonResponse(error_body(500, "server_error", "Internal server error."), status=500)
