"""A circuit breaker for a cache in Redis: after a failure, the cache is left alone for a while.

Redis's socket timeouts (settings, ``CACHES``) bound one call, but a Redis that
is black-holed would still cost every request that timeout. So the first
failure opens the breaker: for ``retry_seconds`` every call raises ``CacheDown``
at once, without touching the network, and the caller does what it does
without the cache (the throttles count in local memory, the read router sends
signed-in users to the primary). One warning per outage, not one per request.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import BaseCache, caches
from redis.exceptions import RedisError

T = TypeVar("T")


class CacheDown(Exception):
    """The cache failed just now, or recently enough that it is not tried yet."""


class CacheBreaker:
    """Calls to the cache ``alias``, unless it failed less than ``retry_seconds`` ago (per process)."""

    retry_seconds = 30.0

    def __init__(self, alias: str, *, logger: logging.Logger, meanwhile: str):
        self.alias = alias
        self.logger = logger
        self.meanwhile = meanwhile  # what the callers do while it is down, for the warning
        self.down_until = 0.0
        self.clock = time.monotonic  # the tests move it

    def run(self, operation: Callable[[BaseCache], T]) -> T:
        """``operation(cache)``'s result; ``CacheDown`` if the cache fails or failed within ``retry_seconds``."""
        if self.clock() < self.down_until:
            raise CacheDown(self.alias)
        try:
            return operation(caches[self.alias])
        except (RedisError, OSError) as exc:
            self.logger.warning(
                "%s cache unavailable (%s: %s); %s for %ds",
                self.alias,
                type(exc).__name__,
                exc,
                self.meanwhile,
                self.retry_seconds,
            )
            self.down_until = self.clock() + self.retry_seconds
            raise CacheDown(self.alias) from exc
