from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts.admin import AdminLoginForm
from bookit.api import views

admin.site.site_header = admin.site.site_title = "BookIt administration"
admin.site.login_form = AdminLoginForm  # the API's login limits
admin.site.index_title = "Services, bookings, reviews and users"

urlpatterns = [
    re_path(r"^$", views.index),
    re_path(r"^health/?$", views.health, name="health"),
    re_path(r"^openapi\.json/?$", SpectacularJSONAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (/docs?script=), so the
    # Content-Security-Policy needs no inline scripts.
    re_path(r"^docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"^redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("bookings.urls")),
    path("", include("reviews.urls")),
    path("", include("notifications.urls")),
    # Last: any other path is a JSON 404, in debug mode too.
    re_path(r"^(?!admin/|static/).*$", views.not_found),
]

handler400 = "bookit.api.error_responses.bad_request_view"
handler403 = "bookit.api.error_responses.forbidden_view"
handler404 = "bookit.api.error_responses.not_found_view"
handler500 = "bookit.api.error_responses.server_error_view"
