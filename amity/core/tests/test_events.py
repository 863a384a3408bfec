"""The event log: events commit with their change, the worker dispatches each once, a crash loses nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from amity.core import events
from amity.core.events import dispatch_pending, emit, handles
from amity.core.models import Event, EventStatus
from amity.testing import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(monkeypatch):
    """A handler for the test event type that records what it saw."""
    seen: list[int] = []
    monkeypatch.setattr(events, "_handlers", events.defaultdict(list, {k: list(v) for k, v in events._handlers.items()}))

    @handles("test.happened")
    def record(event: Event) -> None:
        seen.append(event.pk)

    return seen


def test_a_service_write_emits_its_event_in_the_same_transaction():
    contact = make_contact(first_name="Ada", emails=["ada@example.com"])
    event = Event.objects.get(type="contact.created", subject_id=contact.pk)
    assert event.contact_id == contact.pk
    assert event.payload["name"] == "Ada Example"
    assert event.status == EventStatus.PENDING


def test_a_rolled_back_change_leaves_no_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        make_contact(first_name="Ghost")
        raise RuntimeError("the request failed after the write")
    assert not Event.objects.filter(type="contact.created").exists()


def test_dispatch_runs_handlers_once_and_marks_events_done(recorded):
    contact = make_contact()
    event = emit("test.happened", subject=contact, contact_id=contact.pk)
    assert dispatch_pending() >= 1
    assert recorded == [event.pk]
    event.refresh_from_db()
    assert event.status == EventStatus.DONE and event.processed_at is not None
    dispatch_pending()
    assert recorded == [event.pk], "a done event is never dispatched again"


def test_a_failing_handler_is_retried_later_and_gives_up_after_max_attempts(monkeypatch):
    monkeypatch.setattr(events, "_handlers", events.defaultdict(list))
    calls: list[int] = []

    @handles("test.flaky")
    def flaky(event: Event) -> None:
        calls.append(event.pk)
        raise ValueError("smtp down")

    contact = make_contact()
    event = emit("test.flaky", subject=contact)
    now = timezone.now()
    for attempt in range(1, events.MAX_ATTEMPTS + 1):
        with time_machine.travel(now + dt.timedelta(hours=attempt), tick=False):
            dispatch_pending()
        event.refresh_from_db()
        assert event.attempts == attempt
        assert "smtp down" in event.last_error
    assert event.status == EventStatus.FAILED
    assert len(calls) == events.MAX_ATTEMPTS


def test_an_event_claimed_by_a_crashed_worker_is_dispatched_after_its_lease_expires(recorded):
    contact = make_contact()
    event = emit("test.happened", subject=contact)
    claimed = events._claim(10)  # a worker claims the batch, then dies before running the handlers
    assert event.pk in [e.pk for e in claimed]
    dispatch_pending()
    assert recorded == [], "another worker must not take a leased event"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=120), tick=False):
        dispatch_pending()
    assert recorded == [event.pk]


def test_the_worker_process_dispatches_pending_events(tmp_path: Path):
    """A real `amity worker` process on a real database file drains the event log."""
    env = {**os.environ, "AMITY_VAR_DIR": str(tmp_path), "AMITY_TESTING": "", "DATABASE_URL": ""}
    env.pop("DATABASE_URL")
    manage = [sys.executable, str(Path(__file__).resolve().parents[3] / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, timeout=240)
    subprocess.run([*manage, "shell", "-c", (
        "from amity.testing import make_contact; make_contact(first_name='Worker', emails=['w@example.com'])"
    )], env=env, check=True, timeout=120)
    subprocess.run([*manage, "run_worker", "--once"], env=env, check=True, timeout=120)
    out = subprocess.run([*manage, "shell", "-c", (
        "from amity.core.models import Event; print(sorted(set(Event.objects.values_list('status', flat=True))))"
    )], env=env, check=True, timeout=120, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "['done']"
