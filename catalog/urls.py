from bookit.api.routers import Router
from catalog.views import ResourceViewSet, ServiceViewSet

router = Router()
router.register("services", ServiceViewSet, basename="service")
router.register("resources", ResourceViewSet, basename="resource")
urlpatterns = router.urls
