from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from bookit.api.caching import KeptListMixin
from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdminOrReadOnly
from bookit.api.viewsets import ModelViewSet, validated
from bookit.domain_errors import NotFoundError
from catalog import selectors, services
from catalog.filters import ServiceFilter
from catalog.serializers import ServiceDetailSerializer, ServiceInputSerializer, ServiceSerializer


@extend_schema_view(
    list=extend_schema(summary="List services (active ones unless you are an admin)", auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(summary="One service, with its booking policy", auth=[{}, {"jwtAuth": []}]),
    create=extend_schema(
        summary="Create a service (admin)", request=ServiceInputSerializer, responses={201: ServiceDetailSerializer}
    ),
    partial_update=extend_schema(
        summary="Change a service (admin)", request=ServiceInputSerializer, responses={200: ServiceDetailSerializer}
    ),
    destroy=extend_schema(
        summary="Delete a service without bookings (admin)", responses={204: None, 409: ErrorSerializer}
    ),
)
class ServiceViewSet(KeptListMixin, ModelViewSet):
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

    def catalog_version(self) -> int:
        """``list``'s page, as ``RowListMixin`` builds it, is kept under this (``KeptListMixin``)."""
        return selectors.catalog_version()

    def create(self, request):
        service = services.service_create(**validated(ServiceInputSerializer, request.data))
        return Response(self._read(service), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        service = self.get_object()
        services.service_update(service=service, **validated(ServiceInputSerializer, request.data, partial=True))
        return Response(self._read(service))

    def destroy(self, request, pk=None):
        services.service_delete(service=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _read(self, service):
        fresh = self.get_queryset().filter(pk=service.pk).first()
        if fresh is None:  # deleted since the write committed
            raise NotFoundError("This service no longer exists.")
        return ServiceDetailSerializer(fresh).data
