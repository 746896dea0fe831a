from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from bookings import selectors, services
from bookings.filters import BookingFilter
from bookings.models import Booking
from bookings.serializers import (
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    BookingCreateSerializer,
    BookingSerializer,
    BookingStatusSerializer,
    BookingUpdateSerializer,
    availability_json,
    booking_json,
)
from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdmin
from bookit.api.viewsets import ModelViewSet, validated
from catalog import selectors as catalog_selectors

CONFLICT = {409: ErrorSerializer}


@extend_schema_view(
    list=extend_schema(summary="Your bookings (admins: everyone's), ordered by start time"),
    retrieve=extend_schema(summary="One booking (owner or admin; 404 for anyone else)"),
    create=extend_schema(
        summary="Book a service", request=BookingCreateSerializer, responses={201: BookingSerializer, **CONFLICT}
    ),
    partial_update=extend_schema(
        summary="Reschedule, edit notes, or cancel",
        request=BookingUpdateSerializer,
        responses={200: BookingSerializer, **CONFLICT},
    ),
    destroy=extend_schema(summary="Delete a booking", responses={204: None, **CONFLICT}),
)
class BookingViewSet(ModelViewSet):
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real caller
            return Booking.objects.none()
        return selectors.booking_list(user=self.request.user)

    def get_rows(self):
        return selectors.booking_rows(user=self.request.user)

    def create(self, request):
        data = validated(BookingCreateSerializer, request.data)
        booking = services.booking_create(user=request.user, actor=request.user, **data)
        return Response(booking_json(booking), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        booking = self.get_object()
        changes = dict(validated(BookingUpdateSerializer, request.data))
        cancel = changes.pop("status", None) == Booking.Status.CANCELLED
        reason = changes.pop("cancellation_reason", None)
        booking = services.booking_apply_changes(
            booking=booking, actor=request.user, cancel=cancel, reason=reason, **changes
        )
        return Response(booking_json(booking))

    def destroy(self, request, pk=None):
        services.booking_delete(booking=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Move a booking along the status workflow (admin)",
        request=BookingStatusSerializer,
        responses={200: BookingSerializer, **CONFLICT},
    )
    @action(detail=True, methods=["patch"], url_path="status", permission_classes=[IsAdmin])
    def set_status(self, request, pk=None):
        booking = self.get_object()
        data = validated(BookingStatusSerializer, request.data)
        booking = services.booking_set_status(
            booking=booking, status=data["status"], reason=data["cancellation_reason"], actor=request.user
        )
        return Response(booking_json(booking))


class AvailabilityView(GenericAPIView):
    """The free slots of an active service in a window of up to 31 days: every slot offered can be booked."""

    permission_classes = [AllowAny]
    serializer_class = AvailabilitySerializer

    @extend_schema(
        summary="Free slots of a service",
        tags=["services"],
        auth=[{}, {"jwtAuth": []}],
        parameters=[
            OpenApiParameter("from", str, required=True, description="Date (local midnight) or date-time with offset."),
            OpenApiParameter("to", str, required=True, description="Exclusive; at most 31 days after `from`."),
            OpenApiParameter("tz", str, description="IANA zone of the answer's offsets (default: the service's)."),
        ],
        responses={200: AvailabilitySerializer},
    )
    def get(self, request, pk: int):
        service = catalog_selectors.service_with_schedule(pk=pk, bookable=True)
        query = validated(AvailabilityQuerySerializer, request.query_params, context={"zone": service.timezone})
        starts = selectors.service_availability(
            service=service, start=query["start"], end=query["end"], now=timezone.now()
        )
        length = timedelta(minutes=service.duration_minutes)
        return Response(availability_json(service.pk, query["zone"], starts, length))
