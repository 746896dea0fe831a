from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a try-out or a benchmark (``seed_demo``). Last in INSTALLED_APPS: it spans every app."""

    name = "demo"
