from django.urls import re_path

from bookings.views import AvailabilityView, BookingViewSet
from bookit.api.routers import Router

router = Router()
router.register("bookings", BookingViewSet, basename="booking")
urlpatterns = [
    re_path(r"^services/(?P<pk>\d+)/availability/?$", AvailabilityView.as_view(), name="service-availability"),
    *router.urls,
]
