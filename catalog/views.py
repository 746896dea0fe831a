from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdminOrReadOnly
from catalog import selectors, services
from catalog.filters import ServiceFilter
from catalog.serializers import ServiceInputSerializer, ServiceSerializer, service_row_renderer


@extend_schema_view(
    list=extend_schema(summary="List services (active ones unless you are an admin)", auth=[{}, {"jwtAuth": []}]),
    retrieve=extend_schema(summary="One service", auth=[{}, {"jwtAuth": []}]),
    create=extend_schema(summary="Create a service (admin)", request=ServiceInputSerializer),
    partial_update=extend_schema(summary="Change a service (admin)", request=ServiceInputSerializer),
    destroy=extend_schema(
        summary="Delete a service without bookings (admin)", responses={204: None, 409: ErrorSerializer}
    ),
)
class ServiceViewSet(viewsets.ModelViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilter
    permission_classes = [IsAdminOrReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.service_list(user=self.request.user)

    def list(self, request):
        rows = self.filter_queryset(selectors.service_rows(user=request.user))
        return self.get_paginated_response(service_row_renderer.render(self.paginate_queryset(rows)))

    def create(self, request):
        data = ServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.service_create(**data.validated_data)
        return Response(self._read(service), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        service = self.get_object()
        data = ServiceInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.service_update(service=service, **data.validated_data)
        return Response(self._read(service))

    def destroy(self, request, pk=None):
        services.service_delete(service=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _read(self, service):
        return ServiceSerializer(self.get_queryset().get(pk=service.pk)).data
