"""The bookings admin's own pieces of page: the date hierarchy by local date and the start page's panel."""

from django import template
from django.utils import timezone

from bookings import selectors
from bookings.admin import LocalStartFilter, parse_period
from catalog.localtime import format_local

register = template.Library()
PARAMETER = LocalStartFilter.parameter_name


@register.inclusion_tag("admin/date_hierarchy.html")
def local_date_hierarchy(cl) -> dict:
    """Django's date drill-down (years, months, days) over each booking's local date in its service's zone.

    Its links set ``LocalStartFilter``'s parameter; the list shown is already
    filtered by it, so each level offers only dates that have bookings.
    """

    def link(value: str | None) -> str:
        return cl.get_query_string({PARAMETER: value})

    period = parse_period(cl.params.get(PARAMETER))
    if period is None:  # all dates, or a relative filter: from the years down
        years = selectors.booking_start_periods(cl.queryset, kind="year")
        if len(years) != 1:
            choices = [{"link": link(str(year.year)), "title": year.year} for year in years]
            return {"show": True, "back": None, "choices": choices}
        period = parse_period(str(years[0].year))
    first, last, title = period
    if first == last:  # a day
        return {
            "show": True,
            "back": {"link": link(f"{first:%Y-%m}"), "title": f"{first:%B %Y}"},
            "choices": [{"title": title}],
        }
    if first.month == last.month:  # a month
        days = selectors.booking_start_periods(cl.queryset, kind="day")
        return {
            "show": True,
            "back": {"link": link(f"{first:%Y}"), "title": first.year},
            "choices": [{"link": link(f"{day:%Y-%m-%d}"), "title": f"{day:%b} {day.day}"} for day in days],
        }
    months = selectors.booking_start_periods(cl.queryset, kind="month")
    return {
        "show": True,
        "back": {"link": link(None), "title": "All dates"},
        "choices": [{"link": link(f"{month:%Y-%m}"), "title": f"{month:%B %Y}"} for month in months],
    }


@register.inclusion_tag("admin/bookings/start_page.html", takes_context=True)
def bookings_start_page(context) -> dict:
    """The admin index's first panel: bookings waiting for confirmation and today's, in local time (two queries)."""
    request = context["request"]
    if not request.user.has_perm("bookings.view_booking"):
        return {"show": False}
    day = selectors.booking_staff_day(now=timezone.now())
    rows = [
        {
            "booking": booking,
            "when": format_local(booking.start_time, booking.service.timezone, date_part=False),
            "end": format_local(booking.end_time, booking.service.timezone, date_part=False),
        }
        for booking in day.today
    ]
    return {"show": True, "day": day, "rows": rows, "filter": PARAMETER}
