"""A serializer's JSON for ``.values()`` rows, without DRF's per-field work on every row.

List endpoints read their page as dicts (``QuerySet.values()``, built whole by
the app's selector, with the serializer's field names as keys) and render it
with ``RowRenderer(TheSerializer)``: the same JSON as the serializer (a test
compares them for every list endpoint), for a fraction of the cost. The
serializer stays the schema; the renderer only reads its fields' types.
"""

from collections.abc import Callable, Iterable

from rest_framework import serializers

from bookit.utc import iso_z


def _converter(field: serializers.Field) -> Callable | None:
    if isinstance(field, serializers.DateTimeField):
        return iso_z
    if isinstance(field, serializers.DecimalField):
        return field.to_representation  # quantized, and a string unless coerce_to_string=False
    return None  # ints, strings, booleans and choices come out of the database as JSON has them


class RowRenderer:
    """Renders rows that carry every field of ``serializer_class`` under its name, in its order."""

    def __init__(self, serializer_class: type[serializers.Serializer]):
        self.fields = [(name, _converter(field)) for name, field in serializer_class().fields.items()]

    def render(self, rows: Iterable[dict]) -> list[dict]:
        return [self.render_one(row) for row in rows]

    def render_one(self, row: dict) -> dict:
        return {
            name: row[name] if convert is None or row[name] is None else convert(row[name])
            for name, convert in self.fields
        }
