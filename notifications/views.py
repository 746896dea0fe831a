from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from bookit.api.permissions import IsAdmin
from bookit.api.viewsets import validated
from notifications import services
from notifications.models import WebhookEndpoint
from notifications.serializers import WebhookEndpointInputSerializer, WebhookEndpointSerializer, WebhookPingSerializer


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints (admin)"),
    retrieve=extend_schema(summary="One webhook endpoint (admin)"),
    create=extend_schema(
        summary="Add a webhook endpoint (admin); 400 webhook_url_not_allowed for a private or non-https URL",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint (admin)",
        request=WebhookEndpointInputSerializer,
        responses={200: WebhookEndpointSerializer},
    ),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log (admin)"),
)
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdmin]
    queryset = WebhookEndpoint.objects.order_by("id")
    lookup_value_regex = "[0-9]+"

    def create(self, request):
        endpoint = services.webhook_endpoint_create(**validated(WebhookEndpointInputSerializer, request.data))
        return Response(WebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        changes = validated(WebhookEndpointInputSerializer, request.data, partial=True)
        endpoint = services.webhook_endpoint_update(endpoint=self.get_object(), **changes)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(summary="A new signing secret (admin)", request=None, responses={200: WebhookEndpointSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.webhook_endpoint_rotate_secret(endpoint=self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Send a ping event to this endpoint through the queue (admin)",
        request=None,
        responses={202: WebhookPingSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        message = services.webhook_endpoint_ping(endpoint=self.get_object())
        return Response({"message_id": message.pk}, status=status.HTTP_202_ACCEPTED)
