"""Periodic jobs run by the worker: abandoned-cart sweeps, the nightly duplicate scan, planner statistics.

An app registers a job in its ``AppConfig.ready()`` (import the module that uses ``@every``); the worker calls
``run_due()`` on each loop. The schedule lives in the database (``core.PeriodicJob``): a due job is claimed with
a conditional UPDATE that also moves ``next_run_at`` on, so one occurrence runs once however many workers poll,
and a worker killed mid-job only delays the next occurrence (jobs must be idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from amity.core.models import PeriodicJob

logger = logging.getLogger("amity.worker")
LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[[], object]
    interval: timedelta
    # For daily jobs: the local wall-clock time (settings.TIME_ZONE) of each run, e.g. 02:30 for "nightly".
    at: time | None = None

    def next_after(self, moment: datetime) -> datetime:
        if self.at is None:
            return moment + self.interval
        zone = ZoneInfo(settings.TIME_ZONE)
        local = moment.astimezone(zone)
        candidate = datetime.combine(local.date(), self.at, tzinfo=zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.at, tzinfo=zone)
        return candidate


_jobs: dict[str, Job] = {}


def every(name: str, *, seconds: int = 0, daily_at: time | None = None) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register ``fn`` to run every ``seconds`` or once a day at ``daily_at`` (local time)."""
    if bool(seconds) == bool(daily_at):
        raise ValueError("give exactly one of seconds or daily_at")

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        _jobs[name] = Job(name, fn, timedelta(seconds=seconds or 86400), daily_at)
        return fn

    return register


def registered() -> dict[str, Job]:
    return dict(_jobs)


def _claim(job: Job, now: datetime) -> bool:
    row = PeriodicJob.objects.filter(name=job.name).first()
    if row is None:
        try:
            with transaction.atomic():
                # A first sighting schedules interval jobs now and daily jobs at their next local time.
                first = now if job.at is None else job.next_after(now)
                PeriodicJob.objects.create(name=job.name, next_run_at=first)
        except IntegrityError:
            pass  # another worker created it
        row = PeriodicJob.objects.get(name=job.name)
    if row.next_run_at > now:
        return False
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    claimed = PeriodicJob.objects.filter(Q(pk=row.pk, next_run_at=row.next_run_at) & free).update(
        next_run_at=job.next_after(now), lease_until=now + LEASE, last_started_at=now
    )
    return claimed == 1


def run_job(job: Job) -> None:
    error = ""
    try:
        job.fn()
    except Exception as exc:  # a failing job must not stop the worker; the error is kept on the row
        logger.exception("periodic job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    PeriodicJob.objects.filter(name=job.name).update(
        lease_until=None, last_finished_at=timezone.now(), last_error=error
    )


def run_due(now: datetime | None = None) -> int:
    """Run every registered job that is due and not held by another worker. Returns how many ran."""
    now = now or timezone.now()
    ran = 0
    for job in list(_jobs.values()):
        if _claim(job, now):
            run_job(job)
            ran += 1
    return ran


def request_run(name: str) -> None:
    """Make a job due now (an "on demand" run: the next worker loop picks it up)."""
    job = _jobs[name]
    now = timezone.now()
    updated = PeriodicJob.objects.filter(name=name).update(next_run_at=now)
    if not updated:
        try:
            with transaction.atomic():
                PeriodicJob.objects.create(name=job.name, next_run_at=now)
        except IntegrityError:
            PeriodicJob.objects.filter(name=name).update(next_run_at=now)
