"""Instants as staff read and type them: in the service's own time zone, with the zone's abbreviation.

BookIt stores and serves UTC (``bookit.utc``); people work in the local time of
the place they book. This is the one home of the conversion both ways for
human-facing screens (the admin, and the pages built on it):

* ``format_local(moment, "Europe/Berlin")`` -> ``"Mon 7 Dec 2026, 10:00 CET"``.
  Every time shown carries its zone's abbreviation, so a list mixing services
  in several zones is never read in the wrong one.
* ``local_to_utc(wall, "Europe/Berlin")`` -> the instant of a naive wall-clock
  time, refusing a time the clocks skip (spring forward) or show twice (fall
  back) with ``LocalTimeError``. A form must not guess: ``catalog.schedule``
  resolves such times by a rule (``fold=0``) because opening hours are a
  pattern; a booking typed by a person is one moment, and a silent shift of an
  hour is a wrong booking.
* ``LocalDate(instant, zone)``: the same conversion in SQL (PostgreSQL's
  ``timezone(zone, instant)::date``), for filters by a row's own local date.
"""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.db import models

# A zone's offset lies within these bounds (UTC-12 to UTC+14): a local date is inside this window of UTC.
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)


class LocalTimeError(ValueError):
    """A wall-clock time that names no single instant in its zone; the message says why, for the person."""


def zone(tz_name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tz_name)


def local_time(moment: datetime, tz_name: str) -> datetime:
    """``moment`` (aware) as the clocks in ``tz_name`` show it (aware, in that zone)."""
    return moment.astimezone(zone(tz_name))


def zone_abbreviation(moment: datetime, tz_name: str) -> str:
    """The zone's abbreviation at ``moment``: ``CET``, ``CEST``, ``UTC``; ``UTC+03`` where the zone has only numbers."""
    name = local_time(moment, tz_name).tzname() or tz_name
    return f"UTC{name}" if name[:1] in "+-" else name


def format_local(moment: datetime | None, tz_name: str, *, date_part: bool = True, empty: str = "-") -> str:
    """``Mon 7 Dec 2026, 10:00 CET``: ``moment`` in ``tz_name``, with the abbreviation; ``10:00 CET`` without the date.

    English names on purpose: the admin is in English, and the format does not
    depend on a locale setting. ``empty`` stands for a missing moment.
    """
    if moment is None:
        return empty
    shown = local_time(moment, tz_name)
    clock = f"{shown:%H:%M} {zone_abbreviation(moment, tz_name)}"
    return f"{shown:%a} {shown.day} {shown:%b %Y}, {clock}" if date_part else clock


def format_local_range(start: datetime, end: datetime, tz_name: str) -> str:
    """``Mon 7 Dec 2026, 10:00 CET - 11:00 CET``; the end's date is named when it is another local day."""
    same_day = local_time(start, tz_name).date() == local_time(end, tz_name).date()
    return f"{format_local(start, tz_name)} - {format_local(end, tz_name, date_part=not same_day)}"


def local_to_utc(wall: datetime, tz_name: str) -> datetime:
    """The UTC instant of the naive wall-clock ``wall`` in ``tz_name``; ``LocalTimeError`` when there is not one.

    PEP 495: a wall time the clocks skip has no instant of its own (``fold`` 0
    and 1 give different offsets and neither reads back as ``wall``); one they
    show twice has two (``fold`` 0 and 1 both read back, at different offsets).
    """
    tz = zone(tz_name)
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    day = f"{wall:%H:%M} on {wall:%a} {wall.day} {wall:%b %Y}"
    before, after = first.tzname(), second.tzname()
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise LocalTimeError(
            f"{day} does not exist in {tz_name}: the clocks go forward that night ({before} to {after}), "
            "skipping it. Choose a time outside the skipped hour."
        )
    raise LocalTimeError(
        f"{day} is ambiguous in {tz_name}: the clocks go back that night ({before} to {after}), "
        f"so it happens twice ({first.astimezone(UTC):%H:%M} and {second.astimezone(UTC):%H:%M} UTC). "
        "Choose a time outside the repeated hour."
    )


def local_today(tz_name: str, *, now: datetime | None = None) -> date:
    return local_time(now or datetime.now(UTC), tz_name).date()


def utc_window(first: date, last: date) -> tuple[datetime, datetime]:
    """Instants that surely hold every local date from ``first`` to ``last`` in any zone: an index-friendly bound."""
    return (
        datetime.combine(first, time(0), tzinfo=UTC) - LATEST_OFFSET,
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC) - EARLIEST_OFFSET,
    )


class LocalDate(models.Func):
    """``timezone(zone, instant)::date``: the date the clocks in the row's zone show at ``instant``.

    ``LocalDate("start_time", "service__timezone")``; either may also be a
    ``Value``; ``plus_days`` moves the date (``LocalDate(Value(now), zone,
    plus_days=1)`` is tomorrow there). Not indexable: filter by ``utc_window`` too, so PostgreSQL
    reads only the instants near the dates asked for.
    """

    template = "((timezone(%(expressions)s))::date + %(plus_days)s)"
    output_field = models.DateField()

    def __init__(self, instant, zone_name, *, plus_days: int = 0, **extra):
        super().__init__(zone_name, instant, plus_days=int(plus_days), **extra)
