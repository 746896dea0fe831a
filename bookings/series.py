"""Recurring bookings: a series is written all or nothing, each occurrence judged as a single booking.

Each occurrence goes through ``services.booking_create`` (hours, notice,
horizon, length, buffer, the per-user cap, resources and seats), inside one
transaction: each write is a savepoint there, so a refused occurrence leaves
the others standing until the series decides. ``on_conflict="fail"`` rolls the
whole series back when any occurrence is refused; ``"skip"`` keeps the ones
that passed. The exclusion constraint still judges every occurrence, so a
single booking racing the series for one of its slots either commits first
(the series is refused, or skips that one) or waits for the series' outcome.

The series takes its service's advisory lock first (``bookings.writes``): two
series of one service queue instead of each holding slots the other waits
for. Series of different services sharing a resource can still wait on each
other in opposite orders; PostgreSQL then aborts one with a deadlock, and the
series runs again from the start (``ATTEMPTS``).

A dry run takes the same path in a transaction that is rolled back: the
verdicts are exactly what a real request would have got at that moment, and
nothing stays (no booking, event, notification or series row).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import OperationalError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from bookings import history, recurrence, rules, services
from bookings.models import Booking, BookingSeries
from bookings.writes import LOCK_NAMESPACE, in_one_transaction
from bookit.db.sqlstate import DEADLOCK_DETECTED, sqlstate
from bookit.domain_errors import ConflictError, DomainError
from bookit.utc import iso_z
from catalog.models import Service

Status = Booking.Status
OK = "ok"
NONEXISTENT = "nonexistent_local_time"
ATTEMPTS = 3
DRY_RUN_NOTE = "A preview: nothing was booked, and the verdicts may change by the time the real request arrives."

# Sent with ``series``, ``bookings`` (the occurrences just cancelled) and ``actor`` when a series
# cancellation cancelled any, before its transaction commits: the notifications tell the owner
# once (their events carry ``in_digest``, so no mail goes per occurrence).
series_cancelled = Signal()


@dataclass
class Occurrence:
    """One occurrence and what became of it: ``verdict`` is ``ok`` or the refusing rule's code."""

    start_time: datetime
    end_time: datetime
    verdict: str = OK
    booking_id: int | None = None
    detail: str = ""
    status: str | None = None

    def as_json(self, *, status: bool = False) -> dict:
        shown = {
            "start_time": iso_z(self.start_time),
            "end_time": iso_z(self.end_time),
            "verdict": self.verdict,
            "booking_id": self.booking_id,
        }
        if status:
            shown["status"] = self.status
        return shown


@dataclass
class SeriesResult:
    """What a series request did: the series (None in a dry run, or when nothing was written) and its occurrences."""

    series: BookingSeries | None
    recurrence: str
    service_id: int
    occurrences: list[Occurrence]
    dry_run: bool = False
    not_cancelled: list[Occurrence] = field(default_factory=list)

    @property
    def skipped(self) -> list[Occurrence]:
        return [occurrence for occurrence in self.occurrences if occurrence.verdict != OK]


class SeriesConflict(ConflictError):
    """A series refused as a whole: the 409 carries every occurrence with its verdict."""

    def __init__(self, occurrences: list[Occurrence], message: str):
        super().__init__(message, code="series_conflict")
        self.extra = {"occurrences": [occurrence.as_json() for occurrence in occurrences]}


def _lock_service(service_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashint8(%s))", [LOCK_NAMESPACE, service_id])


def booking_series_create(
    *,
    user,
    service: Service,
    start_time: datetime,
    recurrence_rule: str,
    resource_id: int | None = None,
    notes: str = "",
    on_conflict: str = "fail",
    dry_run: bool = False,
    actor=None,
    now: datetime | None = None,
) -> SeriesResult:
    """Book every occurrence of ``recurrence_rule`` from ``start_time`` (``bookings.recurrence``), all or nothing.

    Each occurrence lasts the service's duration and passes the rules of a
    single booking, the per-user cap counting the series' own occurrences.
    ``on_conflict="fail"``: any refusal writes nothing and raises
    ``SeriesConflict`` listing every verdict. ``"skip"``: the refused ones are
    left out (and kept on the series as ``skipped``); a series none of whose
    occurrences pass is the same ``SeriesConflict``. ``dry_run``: the verdicts,
    nothing written.
    """
    now = now or timezone.now()
    staff = actor is not None and actor.is_staff
    rules.check_bookable(service)
    rule = recurrence.parse(recurrence_rule)
    horizon = None if staff else rules.latest_start(service, now=now)
    starts = recurrence.expand(rule, start_time, ZoneInfo(service.timezone), horizon=horizon)
    length = timedelta(minutes=service.duration_minutes)
    for attempt in range(1, ATTEMPTS + 1):
        occurrences = [
            Occurrence(start.instant, rules.end_after(start.instant, length), OK if start.exists else NONEXISTENT)
            for start in starts
        ]
        for occurrence in occurrences:
            if occurrence.verdict == NONEXISTENT:
                occurrence.detail = "This wall-clock time does not exist that day in the service's time zone."
        try:
            return _write(
                user=user,
                service=service,
                start_time=start_time,
                recurrence_rule=recurrence_rule,
                occurrences=occurrences,
                resource_id=resource_id,
                notes=notes,
                on_conflict=on_conflict,
                dry_run=dry_run,
                actor=actor,
                now=now,
            )
        except OperationalError as exc:  # series of two services crossing on a shared resource
            if sqlstate(exc) != DEADLOCK_DETECTED or attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _write(
    *, user, service, start_time, recurrence_rule, occurrences, resource_id, notes, on_conflict, dry_run, actor, now
):
    with transaction.atomic():
        _lock_service(service.pk)
        series = BookingSeries.objects.create(
            user=user,
            service=service,
            resource_id=resource_id,
            recurrence=recurrence_rule,
            start_time=start_time,
            notes=notes,
        )
        for occurrence in occurrences:
            if occurrence.verdict != OK:
                continue
            try:
                with in_one_transaction():  # a database error ends the whole series: no savepoint per occurrence
                    booking = services.booking_create(
                        user=user,
                        service=service,
                        start_time=occurrence.start_time,
                        end_time=occurrence.end_time,
                        resource_id=resource_id,
                        notes=notes,
                        actor=actor,
                        now=now,
                        series=series,
                    )
            except DomainError as exc:
                occurrence.verdict, occurrence.detail = exc.code, exc.message
            else:
                occurrence.booking_id = booking.pk
        refused = [occurrence for occurrence in occurrences if occurrence.verdict != OK]
        written = len(occurrences) - len(refused)
        if dry_run:
            transaction.set_rollback(True)
        elif refused and (on_conflict == "fail" or not written):
            for occurrence in occurrences:
                occurrence.booking_id = None
            first = refused[0]
            raise SeriesConflict(
                occurrences,
                f"{len(refused)} of {len(occurrences)} occurrences cannot be booked (the first, at "
                f"{iso_z(first.start_time)}: {first.detail or first.verdict}); nothing was booked.",
            )
        elif refused:
            series.skipped = [occurrence.as_json() | {"booking_id": None} for occurrence in refused]
            series.save(update_fields=["skipped"])
    if dry_run:
        for occurrence in occurrences:
            occurrence.booking_id = None
        series = None
    return SeriesResult(series, recurrence_rule, service.pk, occurrences, dry_run=dry_run)


def series_occurrences(series: BookingSeries) -> SeriesResult:
    """A series as it is now: its bookings by start, each with its status, and the occurrences it skipped."""
    occurrences = [
        Occurrence(booking.start_time, booking.end_time, OK, booking.pk, status=booking.status)
        for booking in series.bookings.order_by("start_time", "id")
    ]
    result = SeriesResult(series, series.recurrence, series.service_id, occurrences)
    return result


@transaction.atomic
def booking_series_cancel(
    *,
    series: BookingSeries,
    since: datetime | None = None,
    reason: str = "",
    actor=None,
    now: datetime | None = None,
) -> SeriesResult:
    """Cancel the series' occurrences that have not started (from ``since`` on: "this and following").

    Each goes through ``services.booking_cancel`` (its history event, webhook
    and the cancellation's rules), all in one transaction. One inside the
    service's cancellation cutoff is left as it is (staff override the
    cutoff) and listed in ``not_cancelled`` with the rule's code. The owner
    gets one digest mail of the cancelled occurrences (``series_cancelled``),
    not one per occurrence.
    """
    now = now or timezone.now()
    pending = series.bookings.filter(status__in=(Status.PENDING, Status.CONFIRMED), start_time__gt=now)
    if since is not None:
        pending = pending.filter(start_time__gte=since)
    cancelled, left = [], []
    with history.told_in_digest():
        for booking in pending.select_related("service").order_by("start_time", "id"):
            try:
                cancelled.append(services.booking_cancel(booking=booking, reason=reason, actor=actor, now=now))
            except ConflictError as exc:  # the cutoff, or a change that won the race for this booking
                left.append(Occurrence(booking.start_time, booking.end_time, exc.code, booking.pk, exc.message))
    if cancelled:
        series_cancelled.send(sender=BookingSeries, series=series, bookings=cancelled, actor=actor)
    result = series_occurrences(series)
    result.not_cancelled = left
    return result
