"""OpenAPI generation: every operation documents its error responses."""

from drf_spectacular import openapi
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdminOrReadOnly

_SIMPLE_PERMISSIONS = (AllowAny, IsAuthenticated)


class AutoSchema(openapi.AutoSchema):
    """Adds the shared ``Error`` response for the statuses an operation can return.

    400 when it reads a body or query filters, 401 always (a bad token is
    rejected everywhere), 403 when it needs more than a login, 404 when the path
    names an object or the list is paginated (`?page=` past the end), 413 and 415
    when it reads a body, 429 when it is throttled,
    503 always (the database is down, or too slow: `database_timeout`). Operation-specific ones (409) are
    declared on the view with ``extend_schema``.
    """

    def _error_statuses(self) -> list[str]:
        statuses = ["401"]
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self.get_filter_backends() or self.method == "GET":
            statuses.append("400")
        if any(self._may_forbid(permission) for permission in self.view.get_permissions()):
            statuses.append("403")
        if "{" in self.path or self._is_list_view():  # a list's page past the end is a 404 too
            statuses.append("404")
        if has_body:
            statuses += ["413", "415"]
        if self.view.get_throttles():
            statuses.append("429")
        statuses.append("503")
        return statuses

    def _may_forbid(self, permission) -> bool:
        if isinstance(permission, _SIMPLE_PERMISSIONS):
            return False
        return not (isinstance(permission, IsAdminOrReadOnly) and self.method in SAFE_METHODS)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
        return responses


def strip_trailing_slashes(result, generator, request, public):
    """Routes accept both forms; the contract names them without the slash."""
    result["paths"] = {(path.rstrip("/") or "/"): item for path, item in result["paths"].items()}
    return result


# What a client (or schemathesis' stateful phase) can do next with the object a POST created.
LINKS = {
    "bookings_create": [
        "bookings_retrieve",
        "bookings_partial_update",
        "bookings_status_partial_update",
        "bookings_destroy",
    ],
    "services_create": ["services_retrieve", "services_partial_update", "services_destroy"],
    "reviews_create": ["reviews_partial_update", "reviews_destroy"],
}


def add_links(result, generator, request, public):
    """OpenAPI links from each created object's ``id`` to the operations on it."""
    operations = {
        operation["operationId"]: operation
        for item in result["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for creator, targets in LINKS.items():
        if creator not in operations:
            continue
        created = operations[creator]["responses"]["201"]
        created["links"] = {
            target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for target in targets
            if target in operations
        }
    return result
