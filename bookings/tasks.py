"""The bookings' maintenance jobs, run periodically by the queue's workers (cron in settings.PERIODIC_JOBS).

The management commands of the same names stay for cron users; both call the same services.
"""

from django.conf import settings
from procrastinate.contrib.django import app

from bookings import services
from bookit.jobs import periodic


@app.periodic(cron=settings.PERIODIC_JOBS["expire_pending_bookings"])
@app.task(name="expire_pending_bookings", queue="maintenance", **periodic("expire_pending_bookings"))
def expire_pending_bookings(timestamp: int) -> int:
    return services.bookings_expire_pending()


@app.periodic(cron=settings.PERIODIC_JOBS["complete_past_bookings"])
@app.task(name="complete_past_bookings", queue="maintenance", **periodic("complete_past_bookings"))
def complete_past_bookings(timestamp: int) -> int:
    return services.bookings_complete_past()
