from django.urls import re_path

from benchmarks.views import BareView, SelectOneView

urlpatterns = [
    re_path(r"^bench/bare/?$", BareView.as_view()),
    re_path(r"^bench/select1/?$", SelectOneView.as_view()),
    re_path(r"^health/?$", SelectOneView.as_view()),  # the live server's readiness probe
]
