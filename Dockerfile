# syntax=docker/dockerfile:1
# BookIt image: multi-stage, slim, non-root, gunicorn.
#   docker build -t bookit .
#   docker run -p 8000:8000 -e SECRET_KEY=... -e JWT_SECRET=... -e DATABASE_URL=... -e ALLOWED_HOSTS=... bookit

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
# Dependencies in their own layer: rebuilt only when requirements.txt changes.
RUN /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS app
ENV PATH="/venv/bin:$PATH" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    APP_ENV=prod GUNICORN_BIND=0.0.0.0:8000
RUN useradd --system --uid 10001 --no-create-home --home-dir /app bookit
COPY --from=build /venv /venv
WORKDIR /app
# Code and collected static files stay owned by root: the app user can read them, not change them.
COPY . /app
# Static files (admin CSS, Swagger UI, ReDoc) are collected at build and served by WhiteNoise.
# The values below exist only for this build step; nothing connects to a database here.
RUN SECRET_KEY=build-only-not-a-secret-000000000000 JWT_SECRET=build-only-not-a-secret-000000000000 \
    DATABASE_URL=postgres://build@localhost/none python manage.py collectstatic --noinput
USER bookit
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "bookit.healthcheck"]
# Settings (workers, threads, timeouts, JSON logs) come from gunicorn.conf.py and the environment.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "bookit.wsgi"]
