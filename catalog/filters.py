import django_filters
from django.contrib.postgres.search import SearchQuery
from django.db.models import F

from bookit.api.filters import FilterSet, IdFilter
from catalog.models import Resource, Service


class StableOrderingFilter(django_filters.OrderingFilter):
    """Orders by the requested fields (services without ratings last), then by id for stable pages."""

    def get_ordering_value(self, param):
        descending = param.startswith("-")
        field = F(self.param_map[param.lstrip("-")])
        return field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "id")


class ServiceFilter(FilterSet):
    q = django_filters.CharFilter(method="search", help_text="Full-text search over name and description.")
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    max_duration = django_filters.NumberFilter(field_name="duration_minutes", lookup_expr="lte")
    is_active = django_filters.BooleanFilter(help_text="Admins only; others only ever see active services.")
    ordering = StableOrderingFilter(
        fields=("price", "name", "created_at", "average_rating"),
        help_text="price, name, created_at, average_rating; prefix with - for descending.",
    )

    class Meta:
        model = Service
        fields = ["q", "min_price", "max_price", "max_duration", "is_active"]

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(search_vector=SearchQuery(value, search_type="websearch", config="english"))


class ResourceFilter(FilterSet):
    service = IdFilter(method="delivering", help_text="Resources that deliver this service (to the public: active).")
    kind = django_filters.ChoiceFilter(choices=Resource.Kind.choices)
    is_active = django_filters.BooleanFilter(help_text="Admins only; others only ever see active resources.")

    class Meta:
        model = Resource
        fields = ["service", "kind", "is_active"]

    def delivering(self, queryset, name, value):
        """Through the links, as the rows' ``services`` show them: the public's only name active services."""
        links = Resource.services.through.objects.filter(service_id=value)
        if not (self.request and self.request.user.is_staff):
            links = links.filter(service__is_active=True)
        return queryset.filter(pk__in=links.values("resource_id"))
