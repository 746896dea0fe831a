import django_filters
from django.contrib.postgres.search import SearchQuery

from catalog.models import Service


class StableOrderingFilter(django_filters.OrderingFilter):
    """Orders by the requested fields, then by id, so pages never overlap on ties."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "id") if value else qs


class ServiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Full-text search over name and description.")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    max_duration = django_filters.NumberFilter(field_name="duration_minutes", lookup_expr="lte")
    is_active = django_filters.BooleanFilter(help_text="Admins only; others only ever see active services.")
    ordering = StableOrderingFilter(
        fields=("price", "name", "created_at"),
        help_text="price, name, created_at; prefix with - for descending.",
    )

    class Meta:
        model = Service
        fields = ["q", "min_price", "max_price", "max_duration", "is_active"]

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(search_vector=SearchQuery(value, search_type="websearch", config="english"))
