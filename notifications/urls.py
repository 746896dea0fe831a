from bookit.api.routers import Router
from notifications.views import WebhookEndpointViewSet

router = Router()
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
urlpatterns = router.urls
