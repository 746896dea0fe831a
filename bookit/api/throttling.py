"""Request throttling: a general rate for anonymous and signed-in callers, tighter ones for login and register.

Rates come from ``settings.THROTTLE_RATES`` (environment ``THROTTLE_*_RATE``),
read on every request; ``THROTTLE_ENABLED=false`` switches every throttle off.
The counters live in the ``throttle`` cache: Redis when ``REDIS_URL`` is set, so
all gunicorn workers and hosts share them, local memory otherwise. When Redis
fails, counting goes on in this process's memory (limits then apply per
process) and the API keeps serving; Redis is tried again after a pause.
"""

import contextlib
import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework import status, throttling

logger = logging.getLogger("bookit.throttling")


class ThrottleCache:
    """The ``throttle`` cache, with this process's memory standing in while it fails."""

    retry_seconds = 30.0

    def __init__(self):
        self.fallback = LocMemCache("bookit-throttle-fallback", {})
        self.down_until = 0.0

    def get(self, key, default=None):
        return self._call("get", key, default)

    def set(self, key, value, timeout=None):
        return self._call("set", key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._call("add", key, value, timeout)

    def incr(self, key, delta=1):
        return self._call("incr", key, delta)

    def _call(self, method: str, *args):
        if time.monotonic() >= self.down_until:
            try:
                return getattr(caches["throttle"], method)(*args)
            except (RedisError, OSError) as exc:
                logger.warning(
                    "throttle cache unavailable (%s: %s); counting in local memory for %ds",
                    type(exc).__name__,
                    exc,
                    self.retry_seconds,
                )
                self.down_until = time.monotonic() + self.retry_seconds
        return getattr(self.fallback, method)(*args)


throttle_cache = ThrottleCache()


class ConfiguredThrottle(throttling.SimpleRateThrottle):
    """Rate from ``settings.THROTTLE_RATES[scope]``, counters in ``throttle_cache``.

    ``THROTTLE_ENABLED=false`` lets everything through.
    """

    cache = throttle_cache

    def get_rate(self):
        return settings.THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        if not settings.THROTTLE_ENABLED:
            return True
        return super().allow_request(request, view)


class AnonThrottle(ConfiguredThrottle, throttling.AnonRateThrottle):
    """Anonymous callers, per client IP."""

    scope = "anon"


class UserThrottle(ConfiguredThrottle, throttling.UserRateThrottle):
    """Signed-in callers, per user (`AnonThrottle` counts the others)."""

    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ClientIPThrottle(ConfiguredThrottle):
    """Per client IP, signed in or not. The IP is ``REMOTE_ADDR`` unless ``NUM_PROXIES`` says to trust
    that many ``X-Forwarded-For`` hops, so a client cannot dodge the limit with a made-up header."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(ClientIPThrottle):
    scope = "login"


class FailureThrottle(ConfiguredThrottle):
    """Counts failed logins, in fixed windows, with an atomic counter.

    Checking reserves a place (``incr``) before the password is even hashed, so
    thirty simultaneous guesses cannot all pass the check before the first
    failure is written; an attempt that turns out not to be a failed login gives
    its place back (``forgive``). People who type their password right are
    therefore never slowed by these limits. ``OnlyFailedLoginsCount`` is the view
    side of that rule.
    """

    key: str | None = None  # this request's counter; None until counted

    def allow_request(self, request, view):
        self.key = None
        if not settings.THROTTLE_ENABLED or (ident := self.get_cache_key(request, view)) is None:
            return True
        now = self.timer()
        self.key = f"{ident}:{int(now // self.duration)}"
        self.retry_after = self.duration - now % self.duration
        self.cache.add(self.key, 0, self.duration)
        try:
            attempts = self.cache.incr(self.key)
        except ValueError:  # the window's key expired between add and incr
            self.cache.set(self.key, attempts := 1, self.duration)
        return attempts <= self.num_requests

    def wait(self):
        return self.retry_after

    def forgive(self) -> None:
        if self.key is not None:
            with contextlib.suppress(ValueError):
                self.cache.incr(self.key, -1)


class LoginFailureThrottle(FailureThrottle, ClientIPThrottle):
    """Failed logins per client IP: stops password guessing from one address early."""

    scope = "login_failures"


class OnlyFailedLoginsCount:
    """Mixin for the login view: its ``FailureThrottle`` places are given back unless the login failed.

    "Only failed logins count" has one owner, here next to ``FailureThrottle``,
    because it needs two halves that DRF keeps apart: the throttles reserve a
    place before the password is checked (so simultaneous guesses are counted
    atomically), and only the response tells how the attempt ended. So this
    mixin keeps the throttles DRF made for the request and forgives them unless
    the answer is 401, a failed login (the login view authenticates nobody, so
    nothing else answers 401 there). A correct login, a malformed body and an
    attempt refused by any limit (no password was checked) do not count.
    """

    def get_throttles(self):
        self.throttles = super().get_throttles()
        return self.throttles

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code != status.HTTP_401_UNAUTHORIZED:
            for throttle in getattr(self, "throttles", ()):
                if isinstance(throttle, FailureThrottle):
                    throttle.forgive()
        return super().finalize_response(request, response, *args, **kwargs)


class RegisterThrottle(ClientIPThrottle):
    scope = "register"


class LoginEmailThrottle(FailureThrottle):
    """Failed logins per email address tried, whatever the IP: slows guessing one account's password
    from many addresses. Only failures count, so nobody can lock an account out by logging in as it.

    The key holds a hash of the normalised email, not the address itself.
    """

    scope = "login_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None  # the serializer will reject the request; the IP throttle still counts it
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
