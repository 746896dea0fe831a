"""Reads of reviews."""

from django.db.models import QuerySet

from reviews.models import Review


def review_list_for_service(*, service_id: int) -> QuerySet[Review]:
    """Newest first, with the reviewer's name in the same query."""
    return Review.objects.filter(service_id=service_id).select_related("user")


def review_list_editable(*, user) -> QuerySet[Review]:
    """Reviews the caller may change or delete: their own, or any for staff."""
    reviews = Review.objects.select_related("user")
    return reviews if user.is_staff else reviews.filter(user=user)
