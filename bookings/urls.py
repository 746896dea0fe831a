from bookings.views import BookingViewSet
from bookit.api.routers import Router

router = Router()
router.register("bookings", BookingViewSet, basename="booking")
urlpatterns = router.urls
