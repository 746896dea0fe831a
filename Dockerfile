# syntax=docker/dockerfile:1
# BookIt image: multi-stage, slim, non-root, gunicorn.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
# Dependencies in their own layer: rebuilt only when requirements.txt changes.
RUN /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS app
ENV PATH="/venv/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 APP_ENV=prod
RUN useradd --system --uid 10001 --home-dir /app bookit
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=bookit:bookit . /app
# Static files (admin CSS, Swagger UI, ReDoc) are collected at build and served by WhiteNoise.
# The values below exist only for this build step; nothing connects to a database here.
RUN SECRET_KEY=build-only-not-a-secret-000000000000 JWT_SECRET=build-only-not-a-secret-000000000000 \
    DATABASE_URL=postgres://build@localhost/none python manage.py collectstatic --noinput
USER bookit
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"
CMD ["gunicorn", "bookit.wsgi:application", "--bind", "0.0.0.0:8000"]
