"""Webhooks as the Standard Webhooks specification has them: signed, retried, never sent inside the network.

* Signature: ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``
  with the endpoint's secret (``whsec_`` + base64 of 32 bytes), beside
  ``webhook-id`` (the same on every retry of one message) and
  ``webhook-timestamp`` (Unix seconds of this attempt), so a receiver can
  refuse a replay of an old request.
* SSRF: an endpoint's URL is checked when saved and again before each
  attempt (DNS may have changed): https only, and every address the host
  resolves to must be public. The request then goes to the address that was
  checked (TLS still verifies the host name), so a second DNS answer cannot
  slip in between. ``WEBHOOK_ALLOW_PRIVATE`` (dev and tests) allows plain http
  and private and loopback addresses.
* Retries: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h after each failure,
  with jitter; only a 2xx is success; a 410 disables the endpoint at once.
"""

import base64
import contextlib
import email.utils
import hashlib
import hmac
import http.client
import ipaddress
import random
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings

from bookit.domain_errors import DomainError

TIMEOUT_SECONDS = 10
# Waits before attempts 2, 3, ... 8 (attempt 1 goes at once).
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=24),
]
JITTER = 0.1  # each wait is stretched or shrunk by up to 10%
MAX_RETRY_AFTER = timedelta(hours=1)
USER_AGENT = "BookIt-Webhooks/1"
# Cloud metadata services that some providers put at public-looking or special addresses.
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254")}


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible), which is where it leads."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or int(address) >> 32 == 0:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)) is not None:
        address = embedded
    if address in METADATA_ADDRESSES or address.is_multicast or address.is_unspecified or address.is_link_local:
        return False
    if settings.WEBHOOK_ALLOW_PRIVATE and (address.is_private or address.is_loopback):
        return True
    return address.is_global


class UrlNotAllowed(DomainError):
    def __init__(self, detail: str):
        super().__init__(detail, code="webhook_url_not_allowed", field="url")


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the URL's parts and the address checked for it."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def resolve(url: str) -> Target:
    """The checked target of ``url``, or ``UrlNotAllowed`` naming why it may not be called."""
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if settings.WEBHOOK_ALLOW_PRIVATE else {"https"}
    if parts.scheme not in allowed_schemes:
        raise UrlNotAllowed("Webhook URLs must use https.")
    if not parts.hostname or parts.username or parts.password:
        raise UrlNotAllowed("Webhook URLs need a host name and no credentials.")
    if not (parts.path + parts.query).isascii() or any(ord(c) < 33 or ord(c) == 127 for c in parts.path + parts.query):
        raise UrlNotAllowed("Webhook URLs need their path and query percent-encoded (ASCII, no spaces).")
    try:
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        if not 0 < port < 65536:
            raise ValueError(port)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        raise UrlNotAllowed(f"The host {parts.hostname!r} does not resolve.") from None
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    refused = sorted(str(address) for address in addresses if not _address_allowed(address))
    if refused:
        raise UrlNotAllowed(
            f"The host {parts.hostname!r} resolves to {', '.join(refused)}: private, loopback, link-local, "
            "multicast and metadata addresses are not allowed."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, str(min(addresses, key=lambda a: a.version)))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # verifies the certificate's name


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


RETRY_AFTER_SECONDS = re.compile(r"[0-9]{1,10}")


def _retry_after(value: str | None) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date, capped at an hour; None when absent or unreadable."""
    value = (value or "").strip()
    if RETRY_AFTER_SECONDS.fullmatch(value):
        return min(timedelta(seconds=min(int(value), 3600)), MAX_RETRY_AFTER)
    try:
        wait = email.utils.parsedate_to_datetime(value) - datetime.now(UTC)
    except (TypeError, ValueError, IndexError):
        return None
    return max(min(wait, MAX_RETRY_AFTER), timedelta(0))


def post(url: str, *, message_id: str, body: bytes, secret: str) -> Outcome:
    """One attempt: POST ``body`` to ``url``, signed now; whatever happens is an ``Outcome``, never an exception."""
    started = time.monotonic()

    def outcome(status: int | None, error: str = "", retry_after=None) -> Outcome:
        return Outcome(status, round((time.monotonic() - started) * 1000), error[:500], retry_after)

    try:
        target = resolve(url)
    except UrlNotAllowed as exc:
        return outcome(None, exc.message)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, TIMEOUT_SECONDS)
    # Each socket operation waits at most 10 s, and the whole attempt too: a receiver that drips its
    # answer a byte at a time has its connection shut when the 10 s are up.
    watchdog = threading.Timer(TIMEOUT_SECONDS, _shut, [connection])
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer is not kept; reading it lets the connection close cleanly
        retry_after = _retry_after(response.getheader("Retry-After")) if response.status in (429, 503) else None
        error = "" if 200 <= response.status < 300 else f"HTTP {response.status} {response.reason}"
        return outcome(response.status, error, retry_after)
    except Exception as exc:  # whatever a receiver does is a failed attempt, never a crashed job
        if time.monotonic() - started >= TIMEOUT_SECONDS:
            return outcome(None, f"No complete answer within {TIMEOUT_SECONDS} s.")
        return outcome(None, f"{type(exc).__name__}: {exc}")
    finally:
        watchdog.cancel()
        connection.close()


def _shut(connection: http.client.HTTPConnection) -> None:
    with contextlib.suppress(OSError, AttributeError):
        connection.sock.shutdown(socket.SHUT_RDWR)


def next_attempt_in(attempt: int, retry_after: timedelta | None) -> timedelta | None:
    """The wait before attempt ``attempt + 1`` (jittered), the later of the schedule and ``Retry-After``;
    None when ``attempt`` was the last."""
    if attempt > len(RETRY_DELAYS):
        return None
    wait = RETRY_DELAYS[attempt - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (jitter, not a secret)
    return max(wait, retry_after) if retry_after else wait
