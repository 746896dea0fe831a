"""What a system test needs from the machine: a missing piece skips the test, saying why, or fails it in CI.

``.ci/run`` installs the pieces and sets ``BOOKIT_REQUIRE_<PIECE>=1``, which
turns the skip a newcomer's ``make test`` allows into a failure.
"""

import os

import pytest
import redis

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def require(available: bool, *, reason: str, env: str) -> None:
    if available:
        return
    if os.environ.get(env) == "1":
        pytest.fail(f"{env}=1 but {reason}")
    pytest.skip(reason)


def redis_reachable(url: str = LOCAL_REDIS) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def require_redis(url: str = LOCAL_REDIS) -> str:
    """The machine's Redis, which CI runs (BOOKIT_REQUIRE_REDIS=1)."""
    require(redis_reachable(url), reason=f"no Redis at {url} (start one to run this)", env="BOOKIT_REQUIRE_REDIS")
    return url
