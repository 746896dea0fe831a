"""The mails BookIt sends: what each says, to whom, with which calendar part.

Each mail names its kind in an ``X-BookIt-Kind`` header (``received``,
``confirmed``, ``rescheduled``, ``cancelled``, ``reminder``, ``staff_pending``,
``series_cancelled``),
has a plain-text and an HTML body from Django templates
(``notifications/templates/notifications/email/``), and shows times in the
service's time zone. Confirmed and rescheduled mails carry the booking's
``.ics`` as an invitation (``METHOD:REQUEST``), cancelled ones ``METHOD:CANCEL``
with the same ``UID`` and the higher ``SEQUENCE`` the cancellation gave it.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from bookings.calendar import calendar_of
from bookings.models import Booking
from catalog.localtime import format_local

SUBJECTS = {
    "received": "Booking received: {service}, {when}",
    "confirmed": "Booking confirmed: {service}, {when}",
    "rescheduled": "Booking moved: {service}, {when}",
    "cancelled": "Booking cancelled: {service}, {when}",
    "reminder": "Reminder: {service}, {when}",
    "staff_pending": "New booking to confirm: {service}, {when}",
    "series_cancelled": "Bookings cancelled: {service}, {count} from {when}",
}
ICS_METHOD = {"confirmed": "REQUEST", "rescheduled": "REQUEST", "cancelled": "CANCEL"}


def booking_mail(
    kind: str, booking: Booking, *, to: list[str], cancelled_by: str | None = None
) -> EmailMultiAlternatives:
    """The ``kind`` mail about ``booking`` (its service loaded, with its zone), as it was at the change."""
    zone = booking.service.timezone
    context = {
        "kind": kind,
        "booking": booking,
        "service": booking.service.name,
        # Who or what delivers it, when that says more than the service's name (its own resource).
        "resource": booking.resource.name if booking.resource.name != booking.service.name else "",
        "start": format_local(booking.start_time, zone),  # the admin's format: one home (catalog.localtime)
        "end": format_local(booking.end_time, zone),
        "cancelled_by": cancelled_by,
        "reason": booking.cancellation_reason,
    }
    subject = SUBJECTS[kind].format(service=booking.service.name, when=context["start"])
    text = render_to_string(f"notifications/email/{kind}.txt", context)
    html = render_to_string("notifications/email/base.html", {**context, "body": text})
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to, headers={"X-BookIt-Kind": kind})
    mail.attach_alternative(html, "text/html")
    if kind in ICS_METHOD:
        ics = calendar_of([booking], name="BookIt", method=ICS_METHOD[kind])
        mail.attach("booking.ics", ics, f"text/calendar; method={ICS_METHOD[kind]}; charset=utf-8")
    return mail


def series_mail(series, bookings: list[Booking], *, to: list[str], cancelled_by: str) -> EmailMultiAlternatives:
    """The digest of a series cancellation (``series_cancelled``): every cancelled occurrence in one mail, local
    times, and one calendar part cancelling each occurrence's entry (their ``UID`` and new ``SEQUENCE``)."""
    kind = "series_cancelled"
    zone = series.service.timezone
    context = {
        "service": series.service.name,
        "starts": [format_local(booking.start_time, zone) for booking in bookings],
        "start": format_local(bookings[0].start_time, zone),  # the HTML's heading: first to last
        "end": format_local(bookings[-1].end_time, zone),
        "cancelled_by": cancelled_by,
        "reason": bookings[0].cancellation_reason,
        "series": series,
    }
    subject = SUBJECTS[kind].format(service=series.service.name, count=len(bookings), when=context["starts"][0])
    text = render_to_string(f"notifications/email/{kind}.txt", context)
    html = render_to_string("notifications/email/base.html", {**context, "body": text})
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to, headers={"X-BookIt-Kind": kind})
    mail.attach_alternative(html, "text/html")
    mail.attach("bookings.ics", calendar_of(bookings, name="BookIt", method="CANCEL"), _CANCEL_PART)
    return mail


_CANCEL_PART = "text/calendar; method=CANCEL; charset=utf-8"
