"""What the reviews app tells apps above it (``notifications``), sent inside the change's transaction."""

from django.dispatch import Signal

# Sent with ``review`` when a review is created, before its transaction commits.
review_created = Signal()
