"""What the Django admin screens of every app share."""

import contextlib

from bookit.domain_errors import NotFoundError


class DeletesThroughServices:
    """A ModelAdmin mixin: single and bulk deletes call ``delete_through_service``, the app's service.

    A row another request deleted meanwhile is what staff asked for, not an error.
    """

    def delete_through_service(self, request, obj) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        with contextlib.suppress(NotFoundError):
            self.delete_through_service(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
