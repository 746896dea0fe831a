from rest_framework import serializers

from bookit.api.serializers import InputSerializer
from reviews.models import Review


class PublicReviewSerializer(serializers.ModelSerializer):
    """A review as anyone sees it in a service's list: never the email, nor the booking's id."""

    service_id = serializers.IntegerField(read_only=True)
    reviewer_name = serializers.CharField(source="user.full_name", read_only=True, help_text="Never the email.")

    class Meta:
        model = Review
        fields = ["id", "service_id", "reviewer_name", "rating", "comment", "created_at", "updated_at"]
        read_only_fields = fields


class ReviewSerializer(PublicReviewSerializer):
    """A review as its author gets it back from a create or a change: with the booking reviewed."""

    booking_id = serializers.IntegerField(read_only=True)

    class Meta(PublicReviewSerializer.Meta):
        fields = ["id", "booking_id", "service_id", "reviewer_name", "rating", "comment", "created_at", "updated_at"]
        read_only_fields = fields


class ReviewCreateSerializer(InputSerializer):
    booking_id = serializers.IntegerField(min_value=1)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")


class ReviewUpdateSerializer(InputSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    comment = serializers.CharField(max_length=5000, allow_blank=True, required=False)
