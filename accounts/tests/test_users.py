import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.core.management import call_command
from django.db import IntegrityError

from accounts import services
from accounts.models import User
from accounts.services import user_register
from bookit.domain_errors import DomainError

pytestmark = pytest.mark.django_db


def test_role_follows_staff_status():
    user = User.objects.create_user("a@example.com", "pw-123456789")
    assert user.role == "user"
    user.is_staff = True
    assert user.role == "admin"


def test_email_unique_ignoring_case_in_the_database():
    User.objects.create_user("same@example.com", "x")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="SAME@example.com")])


def test_register_service_rejects_taken_email():
    user_register(email="a@example.com", password="long-enough-secret-1")
    with pytest.raises(DomainError) as error:
        user_register(email="A@EXAMPLE.COM", password="long-enough-secret-1")
    assert (error.value.code, error.value.field) == ("email_taken", "email")


def test_only_a_unique_violation_means_the_email_is_taken():
    """The SQLSTATE decides, not the wording of the error: a NOT NULL violation stays an IntegrityError."""
    with pytest.raises(IntegrityError) as error, services._email_must_be_free():
        User.objects.bulk_create([User(email=None)])
    assert error.value.__cause__.sqlstate == "23502"


def test_createsuperuser_noinput_from_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Boss@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "boss-password-123")
    call_command("createsuperuser", "--noinput", verbosity=0)
    boss = User.objects.get(email="boss@example.com")
    assert boss.is_staff and boss.is_superuser and boss.role == "admin"
    assert boss.check_password("boss-password-123")


def test_bcrypt_hasher_uses_configured_rounds(settings):
    settings.BCRYPT_ROUNDS = 5
    hasher = get_hasher("bcrypt_sha256")
    encoded = hasher.encode("secret", hasher.salt())
    assert hasher.decode(encoded)["work_factor"] == 5
    assert hasher.verify("secret", encoded)


def test_bcrypt_is_the_production_hasher():
    # Tests prepend a fast hasher; everything else hashes with bcrypt.
    assert settings.PASSWORD_HASHERS[1] == "accounts.hashers.ConfigurableBCryptSHA256PasswordHasher"


def _start_prod(**env_vars):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "JWT_SECRET"}}
    env.update(APP_ENV="prod", **env_vars)
    return subprocess.run(
        [sys.executable, "-c", "import bookit.settings"], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR
    )


STRONG = "x" * 40


@pytest.mark.parametrize(
    ("env_vars", "named"),
    [
        ({"JWT_SECRET": STRONG, "DATABASE_URL": "postgres://h/db"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short", "JWT_SECRET": STRONG, "DATABASE_URL": "postgres://h/db"}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET": "short", "DATABASE_URL": "postgres://h/db"}, "JWT_SECRET"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET": STRONG}, "DATABASE_URL"),
    ],
)
def test_prod_refuses_to_start_with_one_line_naming_the_variable(env_vars, named):
    result = _start_prod(**env_vars)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr


def test_prod_starts_with_strong_secrets_and_database():
    result = _start_prod(SECRET_KEY=STRONG, JWT_SECRET=STRONG, DATABASE_URL="postgres://h/db")
    assert result.returncode == 0, result.stderr
