"""OpenAPI generation: every operation documents its error responses."""

from drf_spectacular import openapi
from rest_framework.permissions import AllowAny, IsAuthenticated

from bookit.api.errors import ErrorSerializer

_SIMPLE_PERMISSIONS = (AllowAny, IsAuthenticated)


class AutoSchema(openapi.AutoSchema):
    """Adds the shared ``Error`` response for the statuses an operation can return.

    400 when it reads a body or query filters, 401 always (a bad token is
    rejected everywhere), 403 when it needs more than a login, 404 when the path
    names an object or the list is paginated (`?page=` past the end), 413 and 415
    when it reads a body, 429 when it is throttled,
    503 always (the database is down). Operation-specific ones (409) are
    declared on the view with ``extend_schema``.
    """

    def _error_statuses(self) -> list[str]:
        statuses = ["401"]
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self.get_filter_backends() or self.method == "GET":
            statuses.append("400")
        if any(not isinstance(p, _SIMPLE_PERMISSIONS) for p in self.view.get_permissions()):
            statuses.append("403")
        if "{" in self.path or self._is_list_view():  # a list's page past the end is a 404 too
            statuses.append("404")
        if has_body:
            statuses += ["413", "415"]
        if self.view.get_throttles():
            statuses.append("429")
        statuses.append("503")
        return statuses

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
