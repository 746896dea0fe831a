"""Static files as production serves them: collected, hashed, compressed, and served by WhiteNoise with debug off."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """collectstatic, once, into a temporary STATIC_ROOT with the production storage."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=MANIFEST_STORAGE):
        call_command("collectstatic", "--noinput", verbosity=0)
    return root


def test_collectstatic_writes_hashed_and_compressed_files(collected):
    assert (collected / "staticfiles.json").is_file()
    css = {path.name for path in (collected / "admin" / "css").iterdir()}
    assert "base.css" in css
    hashed = [name for name in css if re.fullmatch(r"base\.[0-9a-f]{12}\.css", name)]
    assert hashed
    assert f"{hashed[0]}.gz" in css
    assert (collected / "drf_spectacular_sidecar").is_dir()  # the docs' assets too


@pytest.mark.django_db
def test_admin_css_is_served_with_debug_off(collected):
    with override_settings(DEBUG=False, WHITENOISE_USE_FINDERS=False, STATIC_ROOT=collected, STORAGES=MANIFEST_STORAGE):
        client = Client()  # its middleware (WhiteNoise) reads the settings above
        page = client.get("/admin/login/").content.decode()
        href = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page).group(1)
        response = client.get(href)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        assert "--header-bg" in b"".join(response.streaming_content).decode()
        assert "immutable" in response["Cache-Control"]


@pytest.mark.parametrize("debug", ["true", "false"])
def test_collectstatic_writes_the_manifest_whatever_the_debug_mode(debug):
    # A collectstatic run with debug on must still serve a later debug-off gunicorn (no "Missing manifest" 500).
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(APP_ENV="dev", APP_DEBUG=debug, DATABASE_URL="postgres://nobody@127.0.0.1/none")
    env.update(SECRET_KEY="static-test-secret-key-0123456789abcdef", JWT_SECRET="static-test-jwt-0123456789abcdef")
    code = "import bookit.settings as s; print(s.STORAGES['staticfiles']['BACKEND'])"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR, check=True
    )
    assert result.stdout.strip() == MANIFEST_STORAGE["staticfiles"]["BACKEND"]
