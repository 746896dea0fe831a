from bookit.api.routers import Router
from catalog.views import ServiceViewSet

router = Router()
router.register("services", ServiceViewSet, basename="service")
urlpatterns = router.urls
