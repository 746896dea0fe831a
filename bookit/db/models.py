from django.db import models


class TimestampedModel(models.Model):
    """``created_at`` and ``updated_at``, kept by Django (``model_update`` writes ``updated_at`` too)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
