from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from bookit.api.error_responses import ErrorSerializer
from catalog import selectors as catalog_selectors
from reviews import selectors, services
from reviews.models import Review
from reviews.serializers import (
    ReviewCreateSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
    review_row_renderer,
)


@extend_schema_view(
    create=extend_schema(
        summary="Review one of your completed bookings",
        request=ReviewCreateSerializer,
        responses={201: ReviewSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
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

    def create(self, request):
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_create(user=request.user, **data.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        review = self.get_object()
        data = ReviewUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_update(review=review, user=request.user, **data.validated_data)
        return Response(ReviewSerializer(review).data)

    def perform_destroy(self, instance):
        services.review_delete(review=instance)


@extend_schema(summary="Reviews of a service, newest first", auth=[{}, {"jwtAuth": []}])
class ServiceReviewList(generics.ListAPIView):
    serializer_class = ReviewSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return selectors.review_list_for_service(service_id=self.kwargs["service_id"])

    def list(self, request, service_id=None):
        if not catalog_selectors.service_list_visible(user=request.user).filter(pk=service_id).exists():
            raise Http404
        rows = selectors.review_rows_for_service(service_id=service_id)
        return self.get_paginated_response(review_row_renderer.render(self.paginate_queryset(rows)))
