import math
from collections.abc import Callable

from django.core.paginator import Page
from django.db.models import F, Func, QuerySet, Subquery
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.utils.urls import remove_query_param, replace_query_param

# (limit, offset) -> (the page's rows, the total): one query that gives both.
Fetch = Callable[[int, int], tuple[list, int]]
BIGINT_MAX = 2**63 - 1


def _ascii_number(text: str) -> int | None:
    """The number ``text`` writes in ASCII digits (any larger than a bigint as ``BIGINT_MAX + 1``), else None.

    ``int`` alone would take other scripts' digits, signs, spaces and underscores, and
    refuse more than 4,300 digits with a ValueError.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else BIGINT_MAX + 1


class PageNumberPagination(pagination.PageNumberPagination):
    """``{count, next, previous, results}``; ``?page=N``, ``?page_size=`` up to 100 (default 20).

    The exact ``count`` and the page come from one query, not two. For a
    queryset the count is an uncorrelated scalar subquery in the page's SELECT
    (PostgreSQL runs it once), so each part keeps its own plan (an index walk
    that stops after the page, and a count); only a page with no rows past the
    first asks again, for the 404. A selector that writes its own SQL gives
    both through ``paginate_rows``.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    # The URL the page's next and previous links are built from; the request's own unless set
    # (a kept answer's links come from its validated parameters: bookit.api.caching).
    page_url: str | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if not isinstance(queryset, QuerySet) or queryset.query.distinct:
            return super().paginate_queryset(queryset, request, view)
        return self.paginate_rows(request, lambda limit, offset: _page_with_total(queryset, limit, offset))

    def requested_page(self, request) -> int | str:
        """``?page=``: a number from 1 in ASCII digits, or ``last``; anything else is DRF's 404 of an invalid page.

        ``str.isdigit`` and ``int`` take other scripts' digits too: ``²`` passed the one and
        failed the other (a 500), and Arabic-Indic ``٣`` was page 3. A page whose offset no
        SQL ``OFFSET`` can hold is past the last page anyway.
        """
        number = request.query_params.get(self.page_query_param) or "1"
        if number in self.last_page_strings:
            return number
        number = _ascii_number(number)
        if number is None or not 1 <= number <= BIGINT_MAX // self.max_page_size:
            raise NotFound(self.invalid_page_message)
        return number

    def get_page_number(self, request, paginator):
        """DRF's own path (lists that are not a plain queryset): the same pages as ``paginate_rows``."""
        number = self.requested_page(request)
        return paginator.num_pages if number in self.last_page_strings else number

    def get_page_size(self, request) -> int:
        """``?page_size=`` in ASCII digits from 1, at most ``max_page_size``; anything else is ignored, as DRF does."""
        size = _ascii_number(request.query_params.get(self.page_size_query_param, ""))
        return min(size, self.max_page_size) if size else self.page_size

    def paginate_rows(self, request, fetch: Fetch) -> list:
        """The requested page of ``fetch``'s rows; a page past the last (but the first) is a 404 as in DRF."""
        size = self.get_page_size(request)
        number = self.requested_page(request)
        if number in self.last_page_strings:
            number = max(1, math.ceil(fetch(size, 0)[1] / size))
        rows, total = fetch(size, (number - 1) * size)
        if not rows and number > 1:
            raise NotFound(self.invalid_page_message)
        paginator = self.django_paginator_class(rows, size)
        paginator.count = total
        self.request = request
        self.page = Page(rows, number, paginator)
        return rows

    def get_next_link(self) -> str | None:
        if not self.page.has_next():
            return None
        return replace_query_param(self._url(), self.page_query_param, self.page.next_page_number())

    def get_previous_link(self) -> str | None:
        if not self.page.has_previous():
            return None
        number = self.page.previous_page_number()
        if number == 1:
            return remove_query_param(self._url(), self.page_query_param)
        return replace_query_param(self._url(), self.page_query_param, number)

    def _url(self) -> str:
        return self.page_url or self.request.build_absolute_uri()


def _page_with_total(queryset: QuerySet, limit: int, offset: int) -> tuple[list, int]:
    total = Subquery(queryset.order_by().annotate(page_total=Func(F("pk"), function="COUNT")).values("page_total"))
    rows = list(queryset.annotate(page_total=total)[offset : offset + limit])
    if not rows:
        return rows, 0 if offset == 0 else queryset.count()
    first = rows[0]
    return rows, first["page_total"] if isinstance(first, dict) else first.page_total
