"""Review rules: only the owner of a completed booking reviews it, once."""

from django.db import IntegrityError, transaction

from bookings.models import Booking
from bookit.errors import Conflict, NotFound
from reviews.models import Review

UNIQUE_VIOLATION = "23505"


@transaction.atomic
def review_create(*, user, booking_id: int, rating: int, comment: str = "") -> Review:
    """Review one's own completed booking. The one-to-one constraint stops a second review, even a racing one."""
    booking = Booking.objects.filter(pk=booking_id, user=user).first()
    if booking is None:
        raise NotFound("No booking of yours with this id.", code="booking_not_found")
    if booking.status != Booking.Status.COMPLETED:
        raise Conflict(
            f"Only completed bookings can be reviewed; this one is {booking.status}.", code="booking_not_completed"
        )
    review = Review(booking=booking, user=user, service_id=booking.service_id, rating=rating, comment=comment)
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == UNIQUE_VIOLATION:  # the one-to-one on booking
            raise Conflict("This booking already has a review.", code="already_reviewed") from exc
        raise
    return review


def review_update(*, review: Review, rating: int | None = None, comment: str | None = None) -> Review:
    if rating is not None:
        review.rating = rating
    if comment is not None:
        review.comment = comment
    review.save()
    return review


def review_delete(*, review: Review) -> None:
    review.delete()
