from django.urls import re_path

from bookit.api.routers import Router
from reviews.views import ReviewViewSet, ServiceReviewList

router = Router()
router.register("reviews", ReviewViewSet, basename="review")
urlpatterns = [
    re_path(r"^reviews/services/(?P<service_id>\d+)/?$", ServiceReviewList.as_view(), name="service-reviews"),
    *router.urls,
]
