"""A tiny stdlib HTTP client for tests against a live server (real threads, real connections)."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from rest_framework_simplejwt.tokens import RefreshToken


def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def request(method: str, url: str, *, token: str | None = None, body=None, headers=None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - test URLs
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, (json.loads(raw) if raw else {})


def race(calls) -> list[tuple[int, dict]]:
    """Run the zero-argument callables at the same instant, one thread each; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
