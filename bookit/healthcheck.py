"""Container health probe: exit 0 when ``GET /health`` answers 200, 1 otherwise (the Dockerfile's HEALTHCHECK).

    python -m bookit.healthcheck            # http://127.0.0.1:8000/health
    HEALTHCHECK_URL=http://127.0.0.1:9000/health python -m bookit.healthcheck

It sends the first ``ALLOWED_HOSTS`` name as ``Host`` (Django rejects any other)
and ``X-Forwarded-Proto: https`` as the TLS proxy would, so production settings
neither refuse nor redirect the probe. Stdlib only: it runs every 30 seconds
and must not pay for loading Django.
"""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/health")
    if not url.startswith(("http://", "https://")):
        print(f"HEALTHCHECK_URL must be an http(s) URL, not {url!r}", file=sys.stderr)
        return 1
    allowed = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip()
    host = allowed.lstrip(".") if allowed and allowed != "*" else "localhost"  # ".example.com" allows example.com
    request = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})  # noqa: S310 (checked)
    try:
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
