from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q

from bookit.db.models import TimestampedModel


class Service(TimestampedModel):
    """Something people can book, for ``duration_minutes`` at a time."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    duration_minutes = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    # Kept by a trigger on reviews_review (reviews migration 0002), in the review's own
    # transaction: a list of services reads its ratings without aggregating every review.
    review_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    # Maintained by PostgreSQL; `?q=` searches it through a GIN index.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config="english")
        + SearchVector("description", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="catalog_service_price_non_negative",
                violation_error_message="Price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=1440),
                name="catalog_service_duration_1_to_1440",
                violation_error_message="Duration must be between 1 and 1440 minutes.",
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="catalog_svc_search_idx"),
            models.Index(fields=["price"], name="catalog_svc_price_idx"),
            models.Index(fields=["duration_minutes"], name="catalog_svc_duration_idx"),
            models.Index(fields=["created_at"], name="catalog_svc_created_idx"),
            models.Index(fields=["is_active", "name"], name="catalog_svc_active_name_idx"),
        ]

    def __str__(self):
        return self.name
