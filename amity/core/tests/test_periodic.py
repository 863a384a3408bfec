"""Periodic jobs: due jobs run once per occurrence however many workers poll; on-demand runs; daily times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from amity.core import periodic
from amity.core.models import PeriodicJob

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def counter(monkeypatch):
    calls = []
    monkeypatch.setattr(periodic, "_jobs", {})
    periodic.every("test.tick", seconds=60)(lambda: calls.append("tick"))
    return calls


def test_a_due_job_runs_once_per_occurrence(counter):
    assert periodic.run_due(NOW) == 1
    assert periodic.run_due(NOW) == 0, "a second worker polling at the same instant finds nothing due"
    assert periodic.run_due(NOW + timedelta(seconds=30)) == 0
    assert periodic.run_due(NOW + timedelta(seconds=61)) == 1
    assert counter == ["tick", "tick"]


def test_a_job_held_by_a_live_lease_is_not_run_again(counter):
    periodic.run_due(NOW)
    PeriodicJob.objects.filter(name="test.tick").update(lease_until=NOW + timedelta(minutes=5))
    assert periodic.run_due(NOW + timedelta(minutes=2)) == 0
    assert periodic.run_due(NOW + timedelta(minutes=6)) == 1, "an expired lease (killed worker) is taken over"


def test_a_failing_job_keeps_its_error_and_releases_its_lease(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})

    def broken():
        raise RuntimeError("disk full")

    periodic.every("test.broken", seconds=60)(broken)
    assert periodic.run_due(NOW) == 1
    row = PeriodicJob.objects.get(name="test.broken")
    assert row.last_error == "RuntimeError: disk full"
    assert row.lease_until is None


def test_request_run_makes_a_job_due_now(counter):
    periodic.run_due(NOW)
    periodic.request_run("test.tick")
    assert periodic.run_due() == 1
    assert len(counter) == 2


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 3, 1, 1, 0, tzinfo=UTC), datetime(2026, 3, 1, 2, 30, tzinfo=UTC)),
    (datetime(2026, 3, 1, 3, 0, tzinfo=UTC), datetime(2026, 3, 2, 2, 30, tzinfo=UTC)),
], ids=["later-today", "tomorrow"])
def test_a_daily_job_is_due_at_its_local_time(settings, moment, expected):
    settings.TIME_ZONE = "UTC"
    job = periodic.Job("nightly", lambda: None, timedelta(days=1), time(2, 30))
    assert job.next_after(moment) == expected
