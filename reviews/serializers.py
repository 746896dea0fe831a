from rest_framework import serializers

from bookit.api.fields import datetime_json
from reviews.models import Review


class ReviewSerializer(serializers.ModelSerializer):
    booking_id = serializers.IntegerField(read_only=True)
    service_id = serializers.IntegerField(read_only=True)
    reviewer_name = serializers.CharField(source="user.full_name", read_only=True, help_text="Never the email.")

    class Meta:
        model = Review
        fields = ["id", "booking_id", "service_id", "reviewer_name", "rating", "comment", "created_at", "updated_at"]
        read_only_fields = fields


# Columns of a list page: ReviewSerializer's, but `reviewer_name`, which reviews.views adds as a subquery.
REVIEW_LIST_VALUES = [name for name in ReviewSerializer.Meta.fields if name != "reviewer_name"]


def review_rows(rows) -> list[dict]:
    """``ReviewSerializer``'s output for ``.values(*REVIEW_LIST_VALUES, reviewer_name=...)`` rows.

    The list endpoint builds its page with this rather than the serializer: the
    same JSON (a test compares them) for a fraction of DRF's per-field work.
    """
    return [
        {
            "id": row["id"],
            "booking_id": row["booking_id"],
            "service_id": row["service_id"],
            "reviewer_name": row["reviewer_name"],
            "rating": row["rating"],
            "comment": row["comment"],
            "created_at": datetime_json(row["created_at"]),
            "updated_at": datetime_json(row["updated_at"]),
        }
        for row in rows
    ]


class ReviewCreateSerializer(serializers.Serializer):
    booking_id = serializers.IntegerField(min_value=1)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")


class ReviewUpdateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    comment = serializers.CharField(max_length=5000, allow_blank=True, required=False)
