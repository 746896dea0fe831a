"""Listeners to the lower apps' signals; each defers a job in the sender's transaction."""

from django.dispatch import receiver

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
