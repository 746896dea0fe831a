from django.urls import re_path

from bookings.views import AvailabilityView, BookingSeriesViewSet, BookingViewSet, CalendarFeedView, CalendarTokenView
from bookit.api.routers import Router

router = Router()
router.register("bookings/series", BookingSeriesViewSet, basename="booking-series")
router.register("bookings", BookingViewSet, basename="booking")
urlpatterns = [
    re_path(r"^services/(?P<pk>\d+)/availability/?$", AvailabilityView.as_view(), name="service-availability"),
    re_path(r"^me/calendar-token/?$", CalendarTokenView.as_view(), name="calendar-token"),
    re_path(r"^calendar/(?P<token>[A-Za-z0-9_-]{20,100})\.ics$", CalendarFeedView.as_view(), name="calendar-feed"),
    *router.urls,
]
