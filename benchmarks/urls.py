"""BookIt's URLs plus ``/bench/bare``: a DRF view returning a constant JSON object.

It runs through the same middleware, renderer and gunicorn as BookIt, with no
authentication, permission or throttle work: the framework ceiling every BookIt
figure is compared with.
"""

from django.urls import re_path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bookit import urls as bookit_urls


class BareView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"status": "ok"})


urlpatterns = [re_path(r"^bench/bare/?$", BareView.as_view()), *bookit_urls.urlpatterns]
handler404 = bookit_urls.handler404
handler500 = bookit_urls.handler500
