from django.contrib import admin

from bookit.admin import DeletesThroughServices
from reviews import services
from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(DeletesThroughServices, admin.ModelAdmin):
    """Reviews are the reviewers' words: staff read and delete them, as in the API, but never write them."""

    list_display = ("service", "user", "rating", "created_at")
    list_filter = ("rating", "service")
    list_select_related = ("service", "user")
    search_fields = ("comment",)
    fields = ("booking", "service", "user", "rating", "comment", "created_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_through_service(self, request, obj):
        services.review_delete(review=obj)
