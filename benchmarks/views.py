"""The ceiling views, shared by the minimal project and BookIt's stack (``benchmarks/urls.py``).

``BareView`` returns a constant JSON object with no authentication, permission
or throttle: DRF's own cost. ``SelectOneView`` adds one ``SELECT 1`` on the
worker's persistent connection: the floor of any endpoint that asks the
database anything.
"""

from django.db import connection
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class BareView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"status": "ok"})


class SelectOneView(BareView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Response({"status": "ok"})
