"""What every BookIt API view shares, written once."""

from django.db.models import QuerySet
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from bookit.api.rows import RowRenderer


def validated(serializer_class: type[serializers.Serializer], data, **kwargs) -> dict:
    """The request body checked by an input serializer (a 400 naming the fields otherwise)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RowListMixin:
    """``list``: the app selector's rows, filtered, paginated and rendered as ``serializer_class`` would.

    The selector builds the whole read (columns, subqueries, visibility) as a
    ``.values()`` queryset; the view only adds the request's filters and page.
    """

    @classmethod
    def row_renderer(cls) -> RowRenderer:
        if "_row_renderer" not in cls.__dict__:  # once per view class
            cls._row_renderer = RowRenderer(cls.serializer_class)
        return cls._row_renderer

    def get_rows(self) -> QuerySet:
        raise NotImplementedError

    def list(self, request, *args, **kwargs) -> Response:
        rows = self.filter_queryset(self.get_rows())
        return self.get_paginated_response(self.row_renderer().render(self.paginate_queryset(rows)))


class ModelViewSet(RowListMixin, viewsets.ModelViewSet):
    """BookIt's resource: ``list`` from the selector's rows, and changes by ``PATCH`` (never a full ``PUT``)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
