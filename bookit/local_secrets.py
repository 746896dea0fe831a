"""The signing secrets of a development checkout, one file each in ``.data/secrets/`` (git-ignored).

Settings only read them (``read``): importing settings writes nothing. They are
created explicitly, before settings load, by the two entry points of every
BookIt process in a checkout: ``manage.py`` (every command, ``make run``,
``make migrate``, ``make lint``) and ``bookit/wsgi.py`` (gunicorn, ``make
serve``); the stress and benchmark scripts call ``create_missing`` through
``bookit.testing.live_server``. So a fresh clone just works, and the secrets stay
random per checkout, never a value published in this repository: a forgotten
``APP_ENV=prod`` does not leave tokens forgeable. Tests draw a secret per
process and use no file.

In production (``APP_ENV=prod``) nothing is created: the environment must set
both secrets, and settings stop start-up with one line when it does not.
"""

import contextlib
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DIRECTORY = BASE_DIR / ".data" / "secrets"
NAMES = ("SECRET_KEY", "JWT_SECRET")


def read(name: str) -> str | None:
    """The checkout's secret ``name``, or None when it has not been created."""
    path = DIRECTORY / name
    return path.read_text() if path.is_file() else None


def create_missing() -> None:
    """Create the file of each secret that neither the environment nor ``.env`` sets, outside production."""
    import environ

    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)  # what settings will read next
    if os.environ.get("APP_ENV") == "prod":
        return
    for name in NAMES:
        path = DIRECTORY / name
        if os.environ.get(name) or path.exists():
            continue
        DIRECTORY.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{name}.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):  # another process made it first: keep theirs
            os.link(draft, path)
        draft.unlink()
