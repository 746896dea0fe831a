"""Listeners to the lower apps' signals; each defers a job in the sender's transaction."""

from django.dispatch import receiver

from bookings.series import series_cancelled
from bookit.jobs import defer, job
from bookit.utc import iso_z
from notifications import tasks
from reviews.serializers import ReviewSerializer
from reviews.signals import review_created


@receiver(review_created)
def defer_review_event(sender, review, **kwargs) -> None:
    """The ``review.created`` webhook, with the review as its author got it back."""
    data = ReviewSerializer(review).data
    defer(job(tasks.review_event, review_id=review.pk, data=data, at=iso_z(review.created_at)))


@receiver(series_cancelled)
def defer_series_mail(sender, series, bookings, actor, **kwargs) -> None:
    """One digest mail for a series' cancelled occurrences; their own events carry ``in_digest``, so the
    per-event dispatch sends no mail of its own for them (their webhooks still go, one per occurrence)."""
    cancelled_by = "you" if actor is not None and actor.pk == series.user_id else "staff"
    ids = [booking.pk for booking in bookings]
    defer(job(tasks.send_series_mail, series_id=series.pk, booking_ids=ids, cancelled_by=cancelled_by))
