"""BookIt's URLs plus ``/bench/bare``: the minimal project's bare DRF view, here through BookIt's stack.

Same view as the minimal project's (``benchmarks/views.py``), but behind
BookIt's middleware, settings and URL conf: the gap between the two is what
the stack costs.
"""

from django.urls import re_path

from benchmarks.views import BareView
from bookit import urls as bookit_urls

urlpatterns = [re_path(r"^bench/bare/?$", BareView.as_view()), *bookit_urls.urlpatterns]
handler404 = bookit_urls.handler404
handler500 = bookit_urls.handler500
