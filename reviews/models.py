from django.conf import settings
from django.db import models
from django.db.models import Q

from bookings.models import Booking
from bookit.db.models import TimestampedModel
from catalog.models import Service


class Review(TimestampedModel):
    """One review per completed booking, by the booking's owner.

    ``service`` is the booking's, and the key that keeps a booking and its review
    together when bookings are spread by service (SCALING.md). So the database's
    foreign key to the booking is ``(booking_id, service_id)`` (migration 0003;
    Django's own is off): a review's service is always its booking's, and the
    unique ``(service, booking)`` allows one review per booking.
    """

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, db_constraint=False, related_name="reviews")
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
            models.UniqueConstraint(
                fields=["service", "booking"],
                name="reviews_review_one_per_booking",
                violation_error_message="This booking already has a review.",
            ),
        ]
        indexes = [
            models.Index(fields=["service", "-created_at", "-id"], name="reviews_service_newest_idx"),
            models.Index(fields=["rating"], name="reviews_rating_idx"),
        ]

    def __str__(self):
        return f"{self.rating}/5 for {self.service}"
