from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import idempotency
from accounts.idempotency import idempotent
from bookit.api.caching import KeptListMixin
from bookit.api.error_responses import ErrorSerializer
from bookit.api.viewsets import RowListMixin, validated
from catalog import selectors as catalog_selectors
from reviews import selectors, services
from reviews.models import Review
from reviews.serializers import (
    PublicReviewSerializer,
    ReviewCreateSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
)


@extend_schema_view(
    create=extend_schema(
        summary="Review one of your completed bookings",
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
        parameters=[idempotency.PARAMETER],
    ),
    partial_update=extend_schema(summary="Change your review", request=ReviewUpdateSerializer),
    destroy=extend_schema(summary="Delete a review (author or admin)"),
)
class ReviewViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = ReviewSerializer
    permission_classes = [IsAuthenticated]
    http_method_names = ["post", "patch", "delete", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real caller
            return Review.objects.none()
        return selectors.review_list_editable(user=self.request.user)

    @idempotent
    def create(self, request):
        review = services.review_create(user=request.user, **validated(ReviewCreateSerializer, request.data))
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        review = self.get_object()
        changes = validated(ReviewUpdateSerializer, request.data)
        review = services.review_update(review=review, user=request.user, **changes)
        return Response(ReviewSerializer(review).data)

    def perform_destroy(self, instance):
        services.review_delete(review=instance)


@extend_schema(summary="Reviews of a service, newest first", auth=[{}, {"jwtAuth": []}])
class ServiceReviewList(KeptListMixin, RowListMixin, generics.ListAPIView):
    serializer_class = PublicReviewSerializer
    permission_classes = [AllowAny]

    queryset = Review.objects.none()  # only for the schema: the list reads ``get_rows``

    def catalog_version(self) -> int:
        """The page, as ``RowListMixin`` builds it, is kept under this (``KeptListMixin``)."""
        return catalog_selectors.catalog_version()

    def get_rows(self):
        return selectors.review_rows_for_service(service_id=self.kwargs["service_id"], user=self.request.user)
