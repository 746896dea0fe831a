"""Reads of reviews."""

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import User
from bookit.domain_errors import NotFoundError
from catalog.selectors import service_list_visible
from reviews.models import Review

# The columns of a row of GET /reviews/services/{id}: PublicReviewSerializer's fields (no
# booking ids: they say nothing to the public and number everyone's bookings). The
# reviewer's name is a subquery, not a join, so the page's count() leaves it out.
REVIEW_ROW = ("id", "service_id", "rating", "comment", "created_at", "updated_at")
REVIEWER_NAME = Subquery(User.objects.filter(pk=OuterRef("user_id")).order_by().values("full_name"))


def review_rows_for_service(*, service_id: int, user) -> QuerySet:
    """The reviews of a service the caller may see, newest first, as rows with PublicReviewSerializer's keys.

    A service the caller cannot see (an inactive one, unless staff) is a ``NotFoundError``, as an unknown one.
    """
    if not service_list_visible(user=user).filter(pk=service_id).exists():
        raise NotFoundError("No service with this id.")
    return Review.objects.filter(service_id=service_id).values(*REVIEW_ROW, reviewer_name=REVIEWER_NAME)


def review_list_editable(*, user) -> QuerySet[Review]:
    """Reviews the caller may change or delete: their own, or any for staff."""
    reviews = Review.objects.select_related("user")
    return reviews if user.is_staff else reviews.filter(user=user)
