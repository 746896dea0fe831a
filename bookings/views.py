import functools
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts import idempotency
from accounts.idempotency import idempotent
from bookings import selectors, services
from bookings import series as series_services
from bookings.calendar import CalendarNegotiation, ICalendarRenderer, calendar_of
from bookings.filters import BookingFilter
from bookings.models import Booking
from bookings.serializers import (
    WINDOW_BOUND,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    BookingCreateSerializer,
    BookingEventPageSerializer,
    BookingEventSerializer,
    BookingSerializer,
    BookingStatusSerializer,
    BookingUpdateSerializer,
    CalendarTokenSerializer,
    SeriesCancelSerializer,
    SeriesCreateSerializer,
    SeriesSerializer,
    availability_json,
    booking_json,
    series_json,
)
from bookit.api.error_responses import ErrorSerializer
from bookit.api.permissions import IsAdmin
from bookit.api.viewsets import ModelViewSet, validated
from bookit.domain_errors import NotFoundError
from catalog import selectors as catalog_selectors

CONFLICT = {409: ErrorSerializer}
# Writes a client may retry safely with an Idempotency-Key (accounts/idempotency.py).
RETRYABLE = {"parameters": [idempotency.PARAMETER]}
RETRY_ERRORS = {409: ErrorSerializer, 422: ErrorSerializer}
# The calendar views answer text/calendar only, whatever the client accepts (errors are JSON):
# a schema declaring JSON too made generated clients read the calendar as JSON, and fail.
CALENDAR = {"renderer_classes": [ICalendarRenderer], "content_negotiation_class": CalendarNegotiation}
ICS_RESPONSE = OpenApiResponse(
    OpenApiTypes.STR,
    description="An RFC 5545 calendar, `text/calendar` whatever `Accept` says (errors are JSON).",
)


@extend_schema_view(
    list=extend_schema(summary="Your bookings (admins: everyone's), ordered by start time"),
    retrieve=extend_schema(summary="One booking (owner or admin; 404 for anyone else)"),
    create=extend_schema(
        summary="Book a service",
        request=BookingCreateSerializer,
        responses={201: BookingSerializer, **RETRY_ERRORS},
        **RETRYABLE,
    ),
    partial_update=extend_schema(
        summary="Reschedule, edit notes, or cancel",
        request=BookingUpdateSerializer,
        responses={200: BookingSerializer, **RETRY_ERRORS},
        **RETRYABLE,
    ),
    destroy=extend_schema(
        summary="Delete a booking",
        description="Owners delete cancelled bookings, and pending ones on a cancellation's terms: 409 "
        "`booking_started` once started, 409 `cancellation_cutoff` inside the service's cutoff. Admins delete "
        "any booking without a review (409 `booking_has_review`).",
        responses={204: None, **CONFLICT},
    ),
)
class BookingViewSet(ModelViewSet):
    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    permission_classes = [IsAuthenticated]
    lookup_value_regex = "[0-9]+"  # ids are integers: anything else is the catch-all 404

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real caller
            return Booking.objects.none()
        return selectors.booking_list(user=self.request.user)

    def get_rows(self):
        return selectors.booking_rows(user=self.request.user)

    def list(self, request, *args, **kwargs):
        """The page from ``selectors.booking_page``: the filters validated here, the read in one statement."""
        filters = BookingFilter.validated(request)
        start, end = BookingFilter.window(filters)
        rows = self.paginator.paginate_rows(
            request,
            lambda limit, offset: selectors.booking_page(
                user=request.user,
                limit=limit,
                offset=offset,
                status=filters.get("status") or None,
                service=filters.get("service"),
                resource=filters.get("resource"),
                owner=filters.get("user"),
                start=start,
                end=end,
            ),
        )
        return self.get_paginated_response(self.row_renderer().render(rows))

    @idempotent
    def create(self, request):
        data = validated(BookingCreateSerializer, request.data, context={"user": request.user})
        booking = services.booking_create(user=request.user, actor=request.user, **data)
        return Response(booking_json(booking), status=status.HTTP_201_CREATED)

    @idempotent
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

    @extend_schema(summary="The booking as an iCalendar event (owner or admin)", responses={200: ICS_RESPONSE})
    @action(detail=True, methods=["get"], url_path="ics", filterset_class=None, **CALENDAR)
    def ics(self, request, pk=None):
        booking = self.get_object()
        return _ics(calendar_of([booking], name=booking.service.name), f"booking-{booking.pk}.ics")

    @extend_schema(summary="The booking's history, oldest first (owner or admin)", responses=BookingEventPageSerializer)
    @action(detail=True, methods=["get"], url_path="history", filterset_class=None)
    def history(self, request, pk=None):
        events = selectors.booking_history(booking_id=int(pk), user=request.user)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(BookingEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Move a booking along the status workflow (admin)",
        request=BookingStatusSerializer,
        responses={200: BookingSerializer, **RETRY_ERRORS},
        **RETRYABLE,
    )
    @action(detail=True, methods=["patch"], url_path="status", permission_classes=[IsAdmin])
    @idempotent
    def set_status(self, request, pk=None):
        booking = self.get_object()
        data = validated(BookingStatusSerializer, request.data)
        booking = services.booking_set_status(
            booking=booking, status=data["status"], reason=data["cancellation_reason"], actor=request.user
        )
        return Response(booking_json(booking))


@extend_schema_view(
    create=extend_schema(
        summary="Book a recurring series, all or nothing (or skipping refused occurrences)",
        description="Expands `recurrence` (an RRULE subset) on the wall clock of the service's zone and books every "
        "occurrence under the rules of a single booking, in one transaction. 201 with the series; with "
        '`on_conflict: "fail"` any refused occurrence books nothing: 409 `series_conflict` whose `occurrences` give '
        "each verdict. `dry_run: true`: 200 with the verdicts, nothing booked. A bad rule is a 400 `bad_recurrence` "
        "naming the part.",
        request=SeriesCreateSerializer,
        responses={201: SeriesSerializer, 200: SeriesSerializer, **RETRY_ERRORS},
        **RETRYABLE,
    ),
    retrieve=extend_schema(summary="A recurring series with each booking's status (owner or admin; 404 otherwise)"),
)
class BookingSeriesViewSet(viewsets.GenericViewSet):
    """Recurring bookings (``bookings.series``): each occurrence is an ordinary booking with its ``series_id``."""

    serializer_class = SeriesSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []
    pagination_class = None

    @idempotent
    def create(self, request):
        data = validated(SeriesCreateSerializer, request.data, context={"user": request.user})
        result = series_services.booking_series_create(
            user=request.user,
            service=data["service"],
            start_time=data["start_time"],
            recurrence_rule=data["recurrence"],
            resource_id=data.get("resource_id"),
            notes=data["notes"],
            on_conflict=data["on_conflict"],
            dry_run=data["dry_run"],
            actor=request.user,
        )
        answer = status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED
        return Response(series_json(result), status=answer)

    def retrieve(self, request, pk=None):
        series = selectors.booking_series_get(pk=int(pk), user=request.user)
        return Response(series_json(series_services.series_occurrences(series), status=True))

    @extend_schema(
        summary="Cancel a series' occurrences that have not started (from `from` on: this and following)",
        description="One transaction; each occurrence gets its history event and webhook as a single cancellation "
        "would, and the owner one digest mail. Occurrences inside the service's cancellation cutoff are left and "
        "listed in `not_cancelled` with `cancellation_cutoff` (staff override the cutoff).",
        request=SeriesCancelSerializer,
        responses={200: SeriesSerializer, **RETRY_ERRORS},
        **RETRYABLE,
    )
    @action(detail=True, methods=["post"], url_path="cancel")
    @idempotent
    def cancel(self, request, pk=None):
        data = validated(SeriesCancelSerializer, request.data)
        series = selectors.booking_series_get(pk=int(pk), user=request.user)
        result = series_services.booking_series_cancel(
            series=series, since=data.get("from"), reason=data["reason"], actor=request.user
        )
        return Response(series_json(result, status=True, cancel=True))


class AvailabilityView(GenericAPIView):
    """The free slots of an active service in a window of up to 31 days: every slot offered can be booked."""

    permission_classes = [AllowAny]
    serializer_class = AvailabilitySerializer

    @extend_schema(
        summary="Free slots of a service",
        tags=["services"],
        auth=[{}, {"jwtAuth": []}],
        parameters=[
            OpenApiParameter(
                "from", WINDOW_BOUND, required=True, description="A date (local midnight) or a date-time with offset."
            ),
            OpenApiParameter(
                "to", WINDOW_BOUND, required=True, description="Exclusive, as `from`; at most 31 days after it."
            ),
            OpenApiParameter("tz", str, description="IANA zone of the answer's offsets (default: the service's)."),
        ],
        responses={200: AvailabilitySerializer},
    )
    def get(self, request, pk: int):
        service = catalog_selectors.service_with_schedule(pk=pk, bookable=True)
        query = validated(AvailabilityQuerySerializer, request.query_params, context={"zone": service.timezone})
        starts = selectors.service_free_moments(
            service=service, start=query["start"], end=query["end"], now=timezone.now()
        )
        body = _availability_body(service.pk, query["zone"], starts, timedelta(minutes=service.duration_minutes))
        return HttpResponse(body, content_type="application/json")


@functools.lru_cache(maxsize=32)  # a busy month's answer is about 70 kB
def _availability_body(service_id: int, zone: ZoneInfo, starts: tuple[float, ...], length: timedelta) -> bytes:
    """The availability answer, rendered as JSONRenderer renders it: a pure function of its arguments, and
    the same window is asked again and again (formatting and encoding a busy month is most of its time)."""
    return JSONRenderer().render(availability_json(service_id, zone, starts, length))


def _ics(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class CalendarTokenView(GenericAPIView):
    """Create or rotate your calendar feed's secret token (the old feed URL stops working), or end the feed."""

    permission_classes = [IsAuthenticated]
    serializer_class = CalendarTokenSerializer

    @extend_schema(summary="Your calendar feed's URL (a new one each time)", request=None, tags=["me"])
    def post(self, request):
        """A new secret feed URL; the previous one, if any, is a 404 from now on."""
        token = services.calendar_token_rotate(user=request.user)
        return Response({"url": request.build_absolute_uri(f"/calendar/{token}.ics")})

    @extend_schema(
        summary="End your calendar feed: its URL is then a 404 (204 also when there was none)",
        request=None,
        responses={204: None},
        tags=["me"],
    )
    def delete(self, request):
        """The feed's URL is a 404 from now on; without a feed, nothing changes (the caller wants none)."""
        services.calendar_feed_end(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(GenericAPIView):
    """All bookings of the feed's owner, for calendar apps to subscribe to: the secret URL is the only key."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    renderer_classes = CALENDAR["renderer_classes"]
    content_negotiation_class = CalendarNegotiation

    @extend_schema(
        summary="Subscribe to your bookings (the URL from POST /me/calendar-token)",
        auth=[],
        responses={200: ICS_RESPONSE},
        tags=["me"],
    )
    def get(self, request, token: str):
        bookings = selectors.calendar_feed_bookings(token=token)
        if bookings is None:
            raise NotFoundError("No calendar feed at this address.")
        return _ics(calendar_of(bookings, name="BookIt"), "bookit.ics")
