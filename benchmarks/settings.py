"""Settings for `make bench`: BookIt's own, plus the bare DRF view that measures the framework ceiling.

Only the benchmark's gunicorn runs with these (DJANGO_SETTINGS_MODULE=benchmarks.settings);
the public URL conf never serves the ceiling view.
"""

from bookit.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
