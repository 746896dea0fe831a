from django.conf import settings
from django.db import models
from django.db.models import Q

from bookings.models import Booking
from bookit.db.models import TimestampedModel
from catalog.models import Service


class Review(TimestampedModel):
    """One review per completed booking, by the booking's owner."""

    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, related_name="review")
    # Copied from the booking when the review is written (never from the request).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5),
                name="reviews_review_rating_1_to_5",
                violation_error_message="Rating must be between 1 and 5.",
            ),
        ]
        indexes = [
            models.Index(fields=["service", "-created_at", "-id"], name="reviews_service_newest_idx"),
            models.Index(fields=["rating"], name="reviews_rating_idx"),
        ]

    def __str__(self):
        return f"{self.rating}/5 for {self.service}"
