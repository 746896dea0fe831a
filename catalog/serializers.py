from rest_framework import serializers

from catalog.models import Service


class ServiceSerializer(serializers.ModelSerializer):
    average_rating = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        read_only=True,
        help_text="Mean rating, 2 decimals; null without reviews.",
    )
    review_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "price",
            "duration_minutes",
            "is_active",
            "created_at",
            "updated_at",
            "average_rating",
            "review_count",
        ]
        read_only_fields = fields


class ServiceInputSerializer(serializers.Serializer):
    """Body of POST /services (all required but description/is_active) and PATCH (all optional)."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1440)
    is_active = serializers.BooleanField(required=False, default=True)
