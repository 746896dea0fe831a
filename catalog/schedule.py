"""When a service is open: its weekly hours and dated exceptions, in its own time zone.

One definition serves both the booking rules (``Schedule.allows``) and the
availability endpoint (``Schedule.slot_starts``), so every slot offered passes
the check a booking of it meets, across daylight-saving changes too:

* Hours are wall-clock times in the service's zone: 09:00 stays 09:00 when the
  clocks change. A local time is made an instant with ``fold=0`` (PEP 495): an
  ambiguous time (clocks going back) is its first occurrence; a time that does
  not exist (clocks going forward) moves forward by the gap, so an interval
  starting in the skipped hour starts when that hour would have ended.
* Slots start at an interval's start and every step after it, in wall-clock
  time; a start that does not exist that day is never offered. A slot lasts
  its real minutes and must end inside the interval (compared as instants).
* Without weekly hours a date is open all day; an exception replaces a date's
  hours (an exception without hours closes it).
"""

import itertools
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bookit.domain_errors import DomainError

Interval = tuple[datetime, datetime]  # an instant range [start, end)


def check_intervals(rows: Iterable[dict], *, key: str, field: str) -> None:
    """Intervals of one day (rows with ``key``, ``start``, ``end``) do not overlap and end after they start.

    Rows without ``start`` and ``end`` close their day (exceptions); such a row
    alongside hours for the same day is a contradiction. Raises a 400 naming ``field``.
    """
    days: dict = defaultdict(list)
    for row in rows:
        start, end = row.get("start"), row.get("end")
        if (start is None) != (end is None):
            raise DomainError(
                "Give both start and end, or neither to close the day.", code="invalid_interval", field=field
            )
        if start is not None and end <= start:
            raise DomainError(
                f"{start:%H:%M}-{end:%H:%M}: the end must be after the start (split intervals across midnight).",
                code="invalid_interval",
                field=field,
            )
        days[row[key]].append((start, end))
    for day, intervals in days.items():
        if any(start is None for start, _ in intervals) and len(intervals) > 1:
            raise DomainError(f"{day}: closed all day and open at once.", code="invalid_interval", field=field)
        ordered = sorted((s, e) for s, e in intervals if s is not None)
        for (_, end), (start, _) in itertools.pairwise(ordered):
            if start < end:
                raise DomainError(f"{day}: intervals overlap.", code="overlapping_intervals", field=field)


def local_instant(day: date, wall: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant of wall-clock ``wall`` on ``day`` in ``zone`` (``fold=0``), in UTC."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def exists_locally(moment: datetime, day: date, wall: time, zone: zoneinfo.ZoneInfo) -> bool:
    """Whether ``wall`` on ``day`` is a time the clocks in ``zone`` show (not skipped by a change)."""
    shown = moment.astimezone(zone)
    return (shown.date(), shown.time()) == (day, wall)


@dataclass(frozen=True)
class Schedule:
    """A service's opening hours, ready to answer for any date."""

    zone: zoneinfo.ZoneInfo
    weekly: dict[int, list[tuple[time, time]]]  # ISO weekday -> intervals
    exceptions: dict[date, list[tuple[time, time]]]  # date -> intervals ([] = closed)

    def __hash__(self) -> int:
        """Equal schedules hash equal: a schedule is part of a memo's key (``bookings.selectors``)."""
        frozen = (
            frozenset((key, tuple(hours)) for key, hours in table.items()) for table in (self.weekly, self.exceptions)
        )
        return hash((self.zone, *frozen))

    @classmethod
    def of(cls, service) -> "Schedule":
        """From a service read by ``catalog.selectors.service_by_id_with_schedule`` (its hours and exceptions
        as rows), or one whose ``working_hours`` and ``exceptions`` are loaded (or loadable: two queries)."""
        hours = getattr(service, "schedule_hours", None)
        if hours is not None:
            return cls.from_rows(service.timezone, hours, service.schedule_exceptions)
        weekly = [(row.weekday, row.start, row.end) for row in service.working_hours.all()]
        exceptions = [(row.date, row.start, row.end) for row in service.exceptions.all()]
        return cls._build(service.timezone, weekly, exceptions)

    @classmethod
    def from_rows(cls, zone: str, hours: list[dict], exceptions: list[dict]) -> "Schedule":
        """From JSON rows (``{"weekday"|"date", "start", "end"}``, times as ISO text) in ``zone``."""

        def parse(row: dict, key: str, kind) -> tuple:
            start, end = row["start"], row["end"]
            return (
                kind(row[key]),
                time.fromisoformat(start) if start is not None else None,
                time.fromisoformat(end) if end is not None else None,
            )

        return cls._build(
            zone,
            [parse(row, "weekday", int) for row in hours],
            [parse(row, "date", date.fromisoformat) for row in exceptions],
        )

    @classmethod
    def _build(cls, zone: str, weekly_rows: Iterable[tuple], exception_rows: Iterable[tuple]) -> "Schedule":
        weekly: dict = defaultdict(list)
        exceptions: dict = defaultdict(list)
        for weekday, start, end in weekly_rows:
            weekly[weekday].append((start, end))
        for day, start, end in exception_rows:
            intervals = exceptions[day]  # a closed date is a key without intervals
            if start is not None:
                intervals.append((start, end))
        return cls(zoneinfo.ZoneInfo(zone), dict(weekly), dict(exceptions))

    def wall_intervals(self, day: date) -> list[tuple[time, time]] | None:
        """``day``'s intervals in wall-clock time; ``None`` when the date is open all day."""
        if day in self.exceptions:
            return sorted(self.exceptions[day])
        if self.weekly:
            return sorted(self.weekly.get(day.isoweekday(), []))
        return None

    def allows(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` lies inside one working interval of its start's local date."""
        day = start.astimezone(self.zone).date()
        walls = self.wall_intervals(day)
        if walls is None:
            return True
        return any(_inside(start, end, self._instants(day, wall)) for wall in walls)

    def _instants(self, day: date, wall: tuple[time, time]) -> Interval:
        return local_instant(day, wall[0], self.zone), local_instant(day, wall[1], self.zone)

    def slot_starts(self, first_day: date, last_day: date, *, step: int, length: int) -> Iterator[datetime]:
        """Starts (UTC) of ``length``-minute slots from ``first_day`` to ``last_day`` (local dates), in order."""
        return (
            datetime.fromtimestamp(moment, UTC)
            for moment in self.slot_moments(first_day, last_day, step=step, length=length)
        )

    def slot_moments(self, first_day: date, last_day: date, *, step: int, length: int) -> Iterator[float]:
        """``slot_starts`` as Unix times: a month of short slots is thousands, and numbers are cheap."""
        step_delta, length_delta = timedelta(minutes=step), timedelta(minutes=length)
        step_seconds, length_seconds = step_delta.total_seconds(), length_delta.total_seconds()
        day = first_day
        while day <= last_day:
            walls = self.wall_intervals(day)
            for wall_start, wall_end in walls if walls is not None else [(time(0), None)]:
                # Open all day: slots from local midnight, ending wherever they end.
                bounds = self._instants(day, (wall_start, wall_end)) if wall_end is not None else None
                cursor = datetime.combine(day, wall_start)
                limit = (
                    datetime.combine(day, wall_end) if wall_end else datetime.combine(day + timedelta(days=1), time(0))
                )
                offset = self.zone.utcoffset(cursor)
                if offset == self.zone.utcoffset(limit) and self._shown(cursor) and self._shown(limit):
                    # No clock change in the interval (nearly always): every wall time exists and is
                    # one offset away from UTC, so the slots are arithmetic, not a zone lookup each.
                    # Equal offsets alone do not say so: a wall time the clocks skip takes the offset
                    # before the change (fold=0), so an interval starting or ending inside the
                    # spring-forward gap looks unchanged, and would offer starts that never exist.
                    first = (cursor - offset).replace(tzinfo=UTC).timestamp()
                    low, high = (
                        (bounds[0].timestamp(), bounds[1].timestamp() - length_seconds) if bounds else (first, math.inf)
                    )
                    for k in range(-((cursor - limit) // step_delta)):  # the steps before the limit
                        moment = first + k * step_seconds
                        if low <= moment <= high:
                            yield moment
                    continue
                while cursor < limit:
                    start = local_instant(day, cursor.time(), self.zone)
                    if exists_locally(start, day, cursor.time(), self.zone) and (
                        bounds is None or _inside(start, start + length_delta, bounds)
                    ):
                        yield start.timestamp()
                    cursor += step_delta
            day += timedelta(days=1)

    def _shown(self, wall: datetime) -> bool:
        """Whether the naive local ``wall`` is a time the clocks in this zone show (not skipped by a change)."""
        return exists_locally(local_instant(wall.date(), wall.time(), self.zone), wall.date(), wall.time(), self.zone)


def _inside(start: datetime, end: datetime, bounds: Interval) -> bool:
    return bounds[0] <= start and end <= bounds[1]
