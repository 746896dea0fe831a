"""A plain Django view (not DRF) that fails, for the logging tests."""

from django.urls import path


def broken(request):
    raise RuntimeError("boom in a plain view")


urlpatterns = [path("broken", broken)]
handler500 = "bookit.api.error_responses.server_error_view"
