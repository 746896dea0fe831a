import functools
import zoneinfo


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def is_known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``Europe/Berlin``, ``UTC``)."""
    return name in _names()
