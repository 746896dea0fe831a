"""Domain errors: what a service raises when a business rule says no.

Services know nothing about HTTP; the API's exception handler
(``bookit.api.error_responses``) maps each class to its status code, and the admin shows
the message as a form error or a message.
"""


class DomainError(Exception):
    """A request that breaks a rule. ``code`` is machine-readable, the message is for people."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field


class ForbiddenError(DomainError):
    """The caller is known but may not do this (staff editing someone's words, say)."""

    status_code = 403
    default_code = "permission_denied"


class NotFoundError(DomainError):
    status_code = 404
    default_code = "not_found"


class ConflictError(DomainError):
    """The request is valid but clashes with the current state (a taken slot, a final status)."""

    status_code = 409
    default_code = "conflict"
