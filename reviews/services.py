"""Review rules: only the owner of a completed booking reviews it, once; only the author rewrites it."""

from django.db import IntegrityError, transaction

from bookings.models import Booking
from bookit.db.sqlstate import UNIQUE_VIOLATION, sqlstate
from bookit.db.updates import given, model_update
from bookit.domain_errors import ConflictError, ForbiddenError, NotFoundError
from reviews.models import Review
from reviews.signals import review_created


@transaction.atomic
def review_create(*, user, booking_id: int, rating: int, comment: str = "") -> Review:
    """Review one's own completed booking; the unique (service, booking) stops a second review, even a racing one.

    The booking row is locked (not its service), so it cannot be deleted or
    change status while its review is written.
    """
    booking = Booking.objects.select_for_update(of=("self",)).filter(pk=booking_id, user=user).first()
    if booking is None:
        raise NotFoundError("No booking of yours with this id.", code="booking_not_found")
    if booking.status != Booking.Status.COMPLETED:
        raise ConflictError(
            f"Only completed bookings can be reviewed; this one is {booking.status}.", code="booking_not_completed"
        )
    review = Review(booking=booking, user=user, service_id=booking.service_id, rating=rating, comment=comment)
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError as exc:
        if sqlstate(exc) == UNIQUE_VIOLATION:  # the unique (service, booking)
            raise ConflictError("This booking already has a review.", code="already_reviewed") from exc
        raise
    review_created.send(sender=Review, review=review)
    return review


def review_update(*, review: Review, user, rating: int | None = None, comment: str | None = None) -> Review:
    """Reviews are their authors' words: staff may delete one, never rewrite it.

    Only the given columns are written; a review deleted meanwhile is a ``NotFoundError``, never re-inserted.
    """
    if review.user_id != user.pk:
        raise ForbiddenError("Only the author can change a review.", code="not_author")
    model_update(instance=review, data=given(rating=rating, comment=comment))
    return review


def review_delete(*, review: Review) -> None:
    """Delete ``review``; one deleted meanwhile (two deletes at once) is a ``NotFoundError``."""
    _, deleted = review.delete()
    if not deleted.get(Review._meta.label):
        raise NotFoundError("This review no longer exists.")
