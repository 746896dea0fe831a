"""Bookings as iCalendar (RFC 5545), for one booking or a user's subscribed feed.

Each booking is one VEVENT: a stable ``UID``, a ``SEQUENCE`` that grows on
each reschedule and cancellation (calendar apps apply an update only when it
grows), ``STATUS:CANCELLED`` once cancelled, the service's name, times in UTC.
An occurrence of a recurring booking stays one event of its own (it can be
moved or cancelled alone), linked to its series by ``RELATED-TO`` (RFC 5545
3.8.4.5) naming the series' UID: calendar apps group them, and no ``RRULE``
can drift from the bookings as they are.
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC

from icalendar import Calendar, Event
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

from bookings.models import Booking

STATUS = {
    Booking.Status.PENDING: "TENTATIVE",
    Booking.Status.CONFIRMED: "CONFIRMED",
    Booking.Status.COMPLETED: "CONFIRMED",
    Booking.Status.CANCELLED: "CANCELLED",
}


def token_digest(token: str) -> str:
    """What is stored of a feed token (``CalendarFeed.token_hash``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@bookit"


def series_uid(series_id: int) -> str:
    return f"series-{series_id}@bookit"


def calendar_of(bookings: Iterable[Booking], *, name: str, method: str | None = None) -> bytes:
    """One VCALENDAR with a VEVENT per booking (their services loaded).

    ``method`` (iTIP, RFC 5546) makes it an invitation a mail client applies:
    ``REQUEST`` for a new or moved booking, ``CANCEL`` for a cancelled one.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//BookIt//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    for booking in bookings:
        event = Event()
        event.add("uid", booking_uid(booking))
        event.add("sequence", booking.sequence)
        event.add("summary", booking.service.name)
        event.add("dtstart", booking.start_time.astimezone(UTC))
        event.add("dtend", booking.end_time.astimezone(UTC))
        event.add("dtstamp", booking.updated_at.astimezone(UTC))
        event.add("status", STATUS[booking.status])
        if booking.notes:
            event.add("description", booking.notes)
        if booking.series_id is not None:
            event.add("related-to", series_uid(booking.series_id))
        calendar.add_component(event)
    return calendar.to_ical()


class ICalendarRenderer(BaseRenderer):
    """The calendar views' one renderer: ``text/calendar`` is what their schema declares.

    The calendar views answer with the ICS bytes themselves; what this renders
    is an error, which stays the usual JSON error body (``application/json``).
    """

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()


class CalendarNegotiation(DefaultContentNegotiation):
    """The calendar, whatever ``Accept`` or ``?format=`` asks for: never a 406.

    A calendar has one representation, and the schema declares only it. Calendar
    apps send all sorts of ``Accept`` headers, and generated clients often send
    ``Accept: application/json`` out of habit; a 406 would break a subscription
    and help no one. RFC 9110 (12.5.1) lets a server disregard ``Accept``; the
    ``Content-Type`` says what came.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
