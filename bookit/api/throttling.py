"""Request throttling: a general rate for anonymous and signed-in callers, tighter ones for login and register.

Rates come from ``settings.THROTTLE_RATES`` (environment ``THROTTLE_*_RATE``),
read on every request; ``THROTTLE_ENABLED=false`` switches every throttle off.
The counters live in the ``throttle`` cache: Redis when ``REDIS_URL`` is set, so
all gunicorn workers and hosts share them, local memory otherwise. When Redis
fails, counting goes on in this process's memory (limits then apply per
process) and the API keeps serving; Redis is tried again after a pause.

The general rates (``AnonThrottle``, ``UserThrottle``) are DRF's sliding
windows. The limits an attacker aims at, logins, registrations and password
checks, count in fixed windows with one atomic ``incr`` each (``Counter``).
"""

import contextlib
import functools
import hashlib
import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import exceptions, throttling

from bookit.breaker import CacheBreaker, CacheDown

logger = logging.getLogger("bookit.throttling")


class ThrottleCache(CacheBreaker):
    """The ``throttle`` cache, with this process's memory standing in while it fails (``CacheBreaker``)."""

    def __init__(self):
        super().__init__("throttle", logger=logger, meanwhile="counting in local memory")
        self.fallback = LocMemCache("bookit-throttle-fallback", {})

    def get(self, key, default=None):
        return self._call("get", key, default)

    def set(self, key, value, timeout=None):
        return self._call("set", key, value, timeout)

    def add(self, key, value, timeout=None):
        return self._call("add", key, value, timeout)

    def incr(self, key, delta=1):
        return self._call("incr", key, delta)

    def _call(self, method: str, *args):
        try:
            return self.run(lambda cache: getattr(cache, method)(*args))
        except CacheDown:
            return getattr(self.fallback, method)(*args)


throttle_cache = ThrottleCache()


def client_ip(request) -> str:
    """The client's IP address, as every per-IP limit sees it.

    The TCP peer (``REMOTE_ADDR``), unless it is one of ``TRUSTED_PROXIES``:
    then the address that proxy saw, the last one in ``X-Forwarded-For``, and
    so on back through the trusted proxies. A client that reaches gunicorn
    directly, or that writes its own ``X-Forwarded-For`` for the proxy to
    append to, cannot choose the address its requests are counted under.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = _networks(tuple(settings.TRUSTED_PROXIES))
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    while proxies and _within(address, proxies) and hops:
        hop = hops.pop().strip()
        if not hop:  # no header, or an empty entry: the proxy named no one
            break
        address = hop
    return address


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def _within(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate format: ``"5/min"`` -> (5, 60); the period is read from its first letter (s, m, h, d)."""
    number, period = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class ConfiguredThrottle(throttling.SimpleRateThrottle):
    """Rate from ``settings.THROTTLE_RATES[scope]``, counters in ``throttle_cache``.

    ``THROTTLE_ENABLED=false`` lets everything through.
    """

    cache = throttle_cache

    def get_rate(self):
        return settings.THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_ip(request)

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


class Counter:
    """One fixed-window counter in ``throttle_cache``: ``scope``'s rate, for one ``ident`` (an IP, an account).

    Each place is taken with an atomic ``incr``, so simultaneous requests can
    never all read "one place left" and pass together, as they could with DRF's
    read-then-write history. Windows are fixed (aligned to the clock), so
    ``wait`` is the time left in this one.
    """

    timer = time.time

    def __init__(self, scope: str, ident: str):
        self.limit, duration = parse_rate(settings.THROTTLE_RATES[scope])
        now = self.timer()
        self.key = f"throttle_{scope}_{ident}:{int(now // duration)}"
        self.duration = duration
        self.wait = duration - now % duration
        self.taken = False

    def take(self) -> bool:
        """Take a place; whether it was within the limit (the place is taken either way)."""
        throttle_cache.add(self.key, 0, self.duration)
        try:
            count = throttle_cache.incr(self.key)
        except ValueError:  # the window's key expired between add and incr
            throttle_cache.set(self.key, count := 1, self.duration)
        self.taken = True
        return count <= self.limit

    def give_back(self) -> None:
        if self.taken:
            self.taken = False
            with contextlib.suppress(ValueError):
                throttle_cache.incr(self.key, -1)


class CountingThrottle(ConfiguredThrottle):
    """Every request per client IP, counted atomically (``Counter``): login attempts and registrations."""

    def allow_request(self, request, view):
        if not settings.THROTTLE_ENABLED:
            return True
        self.counter = Counter(self.scope, self.get_ident(request))
        return self.counter.take()

    def wait(self):
        return self.counter.wait


class LoginThrottle(CountingThrottle):
    """Login attempts per client IP (the API's and the admin's), whatever their outcome or body."""

    scope = "login"


class RegisterThrottle(CountingThrottle):
    """Registrations per client IP; email changes in ``PATCH /me`` share it (both tell whether an email is taken)."""

    scope = "register"


def enforce(throttle: ConfiguredThrottle, request, view=None) -> None:
    """Apply ``throttle`` outside DRF's ``throttle_classes`` (a form, one branch of a view): 429 when over."""
    if not throttle.allow_request(request, view):
        raise exceptions.Throttled(wait=throttle.wait())


def _account(email: str) -> str:
    """An account's key: a hash of the normalised email, so no address is stored in the counters."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class PasswordGuesses:
    """The limits on failed password checks, shared by every form that checks one.

    ``POST /auth/login``, the admin's login form and ``PATCH /me``'s
    ``current_password`` all check a password under this context manager::

        with PasswordGuesses(request, email=email) as guesses:
            if not password_ok:
                guesses.fail()

    Three counters (rates in ``settings.THROTTLE_RATES``), in this order:

    * ``login_failures``: per client IP, any account: one address guessing many accounts;
    * ``login_email_ip``: per account *and* client IP (django-axes' combination
      lockout): one address guessing one account. A stranger's failures lock
      that account for the stranger only, never for its owner elsewhere;
    * ``login_email``: per account, all IPs together, a much higher ceiling:
      many addresses guessing one account. Its hourly rate is ten times the
      one above, so no single address can reach it alone.

    Entering takes a place in each before the password is checked (bcrypt is
    slow, and simultaneous guesses must not all see the last place free). The
    first counter that is full refuses the attempt (``Throttled``, a 429):
    every place taken is given back and the later counters are never touched,
    so a loop of refused attempts feeds no counter. Only an attempt whose
    password was checked and found wrong (``fail()``) keeps its places; a
    correct password gives them back, so nobody is slowed by their own logins.
    """

    SCOPES = ("login_failures", "login_email_ip", "login_email")

    def __init__(self, request, *, email: str):
        ip, account = client_ip(request), _account(email)
        idents = {"login_failures": ip, "login_email_ip": f"{account}_{ip}", "login_email": account}
        self.counters = [Counter(scope, idents[scope]) for scope in self.SCOPES] if settings.THROTTLE_ENABLED else []
        self.failed = False

    def __enter__(self) -> "PasswordGuesses":
        for counter in self.counters:
            if not counter.take():
                self._give_back()
                raise exceptions.Throttled(wait=counter.wait)
        return self

    def fail(self) -> None:
        """The password was checked and is wrong: this attempt counts."""
        self.failed = True

    def __exit__(self, *exc_info) -> None:
        if not self.failed:
            self._give_back()

    def _give_back(self) -> None:
        for counter in self.counters:
            counter.give_back()
