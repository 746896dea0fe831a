"""The API's JSON parser: DRF's, with a limit on nesting.

Python's ``json`` module parses nested arrays and objects recursively, so a
body of 100 KB of ``[`` (well under ``MAX_REQUEST_BODY_BYTES``) exhausts the
interpreter's stack: a ``RecursionError``, which DRF's parser does not catch
(it only expects ``ValueError``) and which became a 500. Here it is a 400
``parse_error``, like any other malformed body. So is any body nested deeper
than ``MAX_DEPTH``, checked without recursion after parsing: no BookIt body
nests more than three levels, and code that walks the data later (serializers,
the error handler) must never meet a depth close to the stack's limit.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested deeper than {MAX_DEPTH} levels."


def nesting_exceeds(data, limit: int) -> bool:
    """Whether arrays and objects in ``data`` nest more than ``limit`` levels (the outermost is level 1)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if nesting_exceeds(data, MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
