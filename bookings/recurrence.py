"""The recurrence of a series: a small subset of RFC 5545's RRULE, expanded on the service's wall clock.

Accepted: ``FREQ`` (``DAILY``, ``WEEKLY``, ``MONTHLY``), ``INTERVAL``, one of
``COUNT`` (at most 52) or ``UNTIL`` (a UTC ``...T...Z``, a local
``...T...`` or a date, inside the service's horizon), and ``BYDAY`` (two-letter
days, ``WEEKLY`` only); never more than 52 occurrences. Anything else is a 400
``bad_recurrence`` whose message names the part. A subset on purpose: every
part we accept is one we test, and a client learns at once that ``BYSETPOS``
is not understood instead of getting a series it did not mean.

Occurrences keep the first one's **wall-clock time in the service's zone**
(10:00 in Berlin stays 10:00 across daylight-saving changes: 09:00Z in
winter, 08:00Z in summer), as people mean "every Tuesday at 10". So the rule
is expanded by ``dateutil.rrule`` on naive local times, and each is then
placed in the zone: a time the clocks skip that day (spring forward) is
reported as not existing, never shifted; one they show twice (fall back) is
its first instant (``fold=0``, as ``catalog.schedule`` reads opening hours).
"""

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateutil import rrule

from bookit.domain_errors import DomainError
from catalog.schedule import exists_locally

MAX_OCCURRENCES = 52
MAX_INTERVAL = 365
FREQUENCIES = {"DAILY": rrule.DAILY, "WEEKLY": rrule.WEEKLY, "MONTHLY": rrule.MONTHLY}
DAYS = {"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH, "FR": rrule.FR, "SA": rrule.SA, "SU": rrule.SU}
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")


def bad(part: str, message: str) -> DomainError:
    return DomainError(f"{part}: {message}", code="bad_recurrence", field="recurrence")


@dataclass(frozen=True)
class Recurrence:
    """A parsed rule. ``until`` is an aware instant (a ``Z`` time) or a naive local one (a date or floating time)."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: datetime | None = None
    byday: tuple[str, ...] = ()


def parse(text: str) -> Recurrence:
    """``FREQ=WEEKLY;INTERVAL=2;COUNT=10`` (an ``RRULE:`` prefix allowed) -> ``Recurrence``, or ``bad_recurrence``."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body:
        raise bad("RRULE", "give a rule such as FREQ=WEEKLY;COUNT=10.")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, equals, value = item.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not equals or not name or not value:
            raise bad(item or "RRULE", "each part is NAME=VALUE, separated by ';'.")
        if name not in PARTS:
            raise bad(name, f"not supported; use only {', '.join(PARTS)}.")
        if name in parts:
            raise bad(name, "given twice.")
        parts[name] = value
    if "FREQ" not in parts:
        raise bad("FREQ", "required (DAILY, WEEKLY or MONTHLY).")
    freq = parts["FREQ"]
    if freq not in FREQUENCIES:
        raise bad("FREQ", f"{freq} is not supported; use DAILY, WEEKLY or MONTHLY.")
    interval = _whole("INTERVAL", parts.get("INTERVAL", "1"), 1, MAX_INTERVAL)
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise bad("COUNT", "give COUNT or UNTIL (one of them).")
    count = _whole("COUNT", parts["COUNT"], 1, MAX_OCCURRENCES) if "COUNT" in parts else None
    until = _until(parts["UNTIL"]) if "UNTIL" in parts else None
    byday: tuple[str, ...] = ()
    if "BYDAY" in parts:
        if freq != "WEEKLY":
            raise bad("BYDAY", "only with FREQ=WEEKLY.")
        byday = tuple(day.strip() for day in parts["BYDAY"].split(","))
        unknown = [day for day in byday if day not in DAYS]
        if unknown:
            raise bad("BYDAY", f"{unknown[0]!r} is not a day; use MO, TU, WE, TH, FR, SA, SU.")
        if len(set(byday)) != len(byday):
            raise bad("BYDAY", "a day is given twice.")
    return Recurrence(freq=freq, interval=interval, count=count, until=until, byday=byday)


def _whole(part: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise bad(part, f"a whole number from {low} to {high}.")
    return int(value)


def _until(value: str) -> datetime:
    found = _UNTIL.match(value)
    if not found:
        raise bad("UNTIL", "a date (20270601), a local time (20270601T100000) or a UTC one (20270601T100000Z).")
    try:
        day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if found[2] is None:
            return datetime.combine(day, time.max)  # a date: that whole local day
        clock = time(int(found[2][:2]), int(found[2][2:4]), int(found[2][4:6]))
    except ValueError:
        raise bad("UNTIL", f"{value} is not a real date and time.") from None
    moment = datetime.combine(day, clock)
    return moment.replace(tzinfo=UTC) if found[3] else moment


@dataclass(frozen=True)
class LocalStart:
    """One occurrence's start: its instant, and whether the clocks show its wall time that day."""

    instant: datetime
    exists: bool


def expand(rule: Recurrence, first: datetime, zone: ZoneInfo, *, horizon: datetime | None = None) -> list[LocalStart]:
    """The starts of ``rule`` from ``first`` (aware), on the wall clock of ``zone``.

    ``horizon`` (the service's, for customers): an ``UNTIL`` after it is a
    ``bad_recurrence`` (``COUNT`` occurrences beyond it are each refused
    ``too_far`` when booked, like a single booking). More than 52 occurrences,
    or none, is a ``bad_recurrence`` too.
    """
    wall = first.astimezone(zone).replace(tzinfo=None)
    until = rule.until
    if until is not None:
        if horizon is not None and _aware(until, zone) > horizon:
            raise bad("UNTIL", f"after the service's horizon ({horizon:%Y-%m-%d %H:%M}Z): book less far ahead.")
        if until.tzinfo is not None:
            until = until.astimezone(zone).replace(tzinfo=None)
    expansion = rrule.rrule(
        FREQUENCIES[rule.freq],
        dtstart=wall,
        interval=rule.interval,
        count=rule.count,
        until=until,
        byweekday=[DAYS[day] for day in rule.byday] or None,
    )
    walls = list(itertools.islice(expansion, MAX_OCCURRENCES + 1))
    if len(walls) > MAX_OCCURRENCES:
        raise bad("UNTIL", f"gives more than {MAX_OCCURRENCES} occurrences; end it sooner or use COUNT.")
    if not walls:
        raise bad("UNTIL" if rule.until is not None else "BYDAY", "gives no occurrence after start_time.")
    return [_placed(moment, zone) for moment in walls]


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _placed(wall: datetime, zone: ZoneInfo) -> LocalStart:
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return LocalStart(instant, exists_locally(instant, wall.date(), wall.time(), zone))
