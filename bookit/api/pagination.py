from django.core.paginator import Page
from django.db.models import F, Func, QuerySet, Subquery
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``{count, next, previous, results}``; ``?page=N``, ``?page_size=`` up to 100 (default 20).

    The exact ``count`` and the page come from one query: the count is an
    uncorrelated scalar subquery in the page's SELECT (PostgreSQL runs it once),
    so each part keeps its own plan (an index walk that stops after the page,
    and a count) and the request pays one round trip, not two. Only a page
    with no rows past the first asks again (for the 404 that names the page).
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        number = request.query_params.get(self.page_query_param) or "1"
        if not isinstance(queryset, QuerySet) or queryset.query.distinct or not number.isdigit() or number == "0":
            return super().paginate_queryset(queryset, request, view)  # DRF's own way and messages
        size, number = self.get_page_size(request), int(number)
        total = Subquery(queryset.order_by().annotate(page_total=Func(F("pk"), function="COUNT")).values("page_total"))
        offset = (number - 1) * size
        rows = list(queryset.annotate(page_total=total)[offset : offset + size])
        if not rows and number > 1:
            return super().paginate_queryset(queryset, request, view)
        paginator = self.django_paginator_class(queryset, size)
        first = rows[0] if rows else None
        paginator.count = 0 if first is None else first["page_total"] if isinstance(first, dict) else first.page_total
        self.request = request
        self.page = Page(rows, number, paginator)
        return rows
