"""Deferring jobs of the queue (procrastinate) so that they commit or roll back with the caller's transaction.

``defer`` writes the job row through Django's own connection: inside a request's
or a command's transaction, a rolled-back change leaves no job, and a committed
one a job that waits for a worker. Inside a worker, procrastinate's app talks to
the database through a connection of its own, so a task that defers follow-up
jobs with ``task.defer()`` would commit them apart from its own writes; this
keeps them together there too.
"""

from datetime import datetime

from django.conf import settings
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.tasks import Task

_through_django = JobManager(DjangoConnector())


def job(task: Task, /, *, schedule_at: datetime | None = None, **kwargs) -> Job:
    """The job ``task(**kwargs)``, to run at ``schedule_at`` (else as soon as a worker takes it), not yet deferred."""
    return task.configure(schedule_at=schedule_at).make_new_job(**kwargs)


def defer(*jobs: Job) -> list[int]:
    """Defer ``jobs`` in the current transaction, in one statement; returns their ids."""
    return [deferred.id for deferred in _through_django.batch_defer_jobs(list(jobs))] if jobs else []


def periodic(name: str) -> dict:
    """A periodic job's options: its queueing lock keeps a second run from queueing while one waits, and its
    lock keeps a second from starting while one runs (procrastinate already defers each run once)."""
    return {"queueing_lock": name, "lock": name}


@app.periodic(cron=settings.PERIODIC_JOBS["retry_stalled_jobs"])
@app.task(name="retry_stalled_jobs", queue="maintenance", pass_context=True, **periodic("retry_stalled_jobs"))
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Jobs left ``doing`` by a worker that stopped sending heartbeats (killed, machine lost) run again.

    Every worker's scheduler defers this every 20 seconds (once for all of
    them); a worker is dead after ``stalled_worker_timeout`` (20 s) without a
    heartbeat, so its jobs run again within a minute of a worker running.
    """
    manager = context.app.job_manager
    timeout = settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=timeout))
    for job in stalled:
        await manager.retry_job(job)
    return len(stalled)
