from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from bookit.api.caching import KeptListMixin
from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdminOrReadOnly
from bookit.api.rows import RowRenderer
from bookit.api.viewsets import ModelViewSet, validated
from bookit.domain_errors import NotFoundError
from catalog import selectors, services
from catalog.filters import ResourceFilter, ServiceFilter
from catalog.serializers import (
    ResourceAnswerSerializer,
    ResourceDetailSerializer,
    ResourceInputSerializer,
    ResourceSerializer,
    ResourceStaffSerializer,
    ServiceCreateSerializer,
    ServiceDetailSerializer,
    ServiceInputSerializer,
    ServiceSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List services (active ones unless you are an admin)", auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(summary="One service, with its booking policy", auth=[{}, {"jwtAuth": []}]),
    create=extend_schema(
        summary="Create a service (admin)", request=ServiceCreateSerializer, responses={201: ServiceDetailSerializer}
    ),
    partial_update=extend_schema(
        summary="Change a service (admin)", request=ServiceInputSerializer, responses={200: ServiceDetailSerializer}
    ),
    destroy=extend_schema(
        summary="Delete a service without bookings (admin)", responses={204: None, 409: ErrorSerializer}
    ),
)
class CatalogViewSet(KeptListMixin, ModelViewSet):
    """A catalog viewset: ``list`` kept under the catalog's version, and admins' writes through the services.

    A write checks the body with an input serializer and calls the app's service;
    the answer is the row read again as ``detail_serializer_class`` shows it (a
    404 if deleted meanwhile).
    """

    create_serializer_class: type
    update_serializer_class: type
    detail_serializer_class: type

    def catalog_version(self) -> int:
        """``list``'s page, as ``RowListMixin`` builds it, is kept under this (``KeptListMixin``)."""
        return selectors.catalog_version()

    def create_through_service(self, data: dict):
        raise NotImplementedError

    def update_through_service(self, obj, data: dict) -> None:
        raise NotImplementedError

    def delete_through_service(self, obj) -> None:
        raise NotImplementedError

    def create(self, request):
        created = self.create_through_service(validated(self.create_serializer_class, request.data))
        return Response(self._read(created), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_object()
        self.update_through_service(obj, validated(self.update_serializer_class, request.data, partial=True))
        return Response(self._read(obj))

    def destroy(self, request, pk=None):
        self.delete_through_service(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _read(self, obj):
        fresh = self.get_queryset().filter(pk=obj.pk).first()
        if fresh is None:  # deleted since the write committed
            raise NotFoundError(f"This {obj._meta.verbose_name} no longer exists.")
        return self.detail_serializer_class(fresh).data


class ServiceViewSet(CatalogViewSet):
    """Services: what people book. Everyone reads the active ones; admins read them all and write them."""

    serializer_class = ServiceSerializer
    filterset_class = ServiceFilter
    permission_classes = [IsAdminOrReadOnly]

    def get_queryset(self):
        if self.action == "list":
            return selectors.service_list(user=self.request.user)
        return selectors.service_list_detailed(user=self.request.user)

    def get_serializer_class(self):
        return ServiceSerializer if self.action == "list" else ServiceDetailSerializer

    def get_rows(self):
        return selectors.service_rows(user=self.request.user)

    create_serializer_class, update_serializer_class = ServiceCreateSerializer, ServiceInputSerializer
    detail_serializer_class = ServiceDetailSerializer

    def create_through_service(self, data: dict):
        return services.service_create(**data)

    def update_through_service(self, obj, data: dict) -> None:
        services.service_update(service=obj, **data)

    def delete_through_service(self, obj) -> None:
        services.service_delete(service=obj)


class ResourceRows(RowRenderer):
    """Rows carry the service ids as ``service_ids`` (``services`` is the relation's name); shown as ``services``."""

    def render_one(self, row: dict) -> dict:
        return super().render_one({**row, "services": row["service_ids"]})


RESOURCE_ROWS = {False: ResourceRows(ResourceSerializer), True: ResourceRows(ResourceStaffSerializer)}


# The list is kept under the catalog's version like the services' (resources and their links move it: catalog
# migration 0006); its scope (public or staff) is part of the key, as the two see different rows.
@extend_schema_view(
    list=extend_schema(
        summary="List resources (active ones unless you are an admin)",
        auth=[{}, {"jwtAuth": []}],
        responses=ResourceAnswerSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="One resource; admins also get its state, zone, hours and exceptions",
        auth=[{}, {"jwtAuth": []}],
        responses=ResourceAnswerSerializer,
    ),
    create=extend_schema(
        summary="Create a resource (admin)", request=ResourceInputSerializer, responses={201: ResourceDetailSerializer}
    ),
    partial_update=extend_schema(
        summary="Change a resource (admin)", request=ResourceInputSerializer, responses={200: ResourceDetailSerializer}
    ),
    destroy=extend_schema(
        summary="Delete a resource without bookings (admin)", responses={204: None, 409: ErrorSerializer}
    ),
)
class ResourceViewSet(CatalogViewSet):
    """Resources: who or what delivers services (staff, rooms, equipment). Everyone reads the active ones'
    id, name, kind and services; admins read everything (state, zone, hours, exceptions) and write them."""

    serializer_class = ResourceSerializer
    filterset_class = ResourceFilter
    permission_classes = [IsAdminOrReadOnly]

    def _staff(self) -> bool:
        return bool(self.request.user and self.request.user.is_staff)

    def get_queryset(self):
        if self.action == "list":
            return selectors.resource_list(user=self.request.user)
        return selectors.resource_list_detailed(user=self.request.user)

    def get_serializer_class(self):
        if not self._staff():
            return ResourceSerializer
        return ResourceStaffSerializer if self.action == "list" else ResourceDetailSerializer

    def get_rows(self):
        return selectors.resource_rows(user=self.request.user)

    def row_renderer(self) -> RowRenderer:
        return RESOURCE_ROWS[self._staff()]

    create_serializer_class = update_serializer_class = ResourceInputSerializer
    detail_serializer_class = ResourceDetailSerializer

    def create_through_service(self, data: dict):
        return services.resource_create(**data)

    def update_through_service(self, obj, data: dict) -> None:
        services.resource_update(resource=obj, **data)

    def delete_through_service(self, obj) -> None:
        services.resource_delete(resource=obj)
