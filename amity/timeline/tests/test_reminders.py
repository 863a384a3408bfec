"""Reminders: delivered by the worker at the right minute, in the app and by email, never twice, late ones marked."""

from __future__ import annotations

import datetime as dt
import threading
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, connection

from amity import testing
from amity.accounts.models import Notification
from amity.core.management.commands.run_worker import Command
from amity.timeline import services
from amity.timeline.models import Task

pytestmark = pytest.mark.django_db
UTC = dt.UTC
DUE = dt.datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # 09:00 in New York, 21:00 in Shanghai


@pytest.fixture
def nora(team):
    return testing.make_user("sales", team=team, full_name="Nora York", email="nora@example.com",
                             time_zone="America/New_York")


def make_task(user, minutes=15, **extra):
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        return services.create_task(actor=user, title="Call Bea", due_at=DUE, remind_minutes_before=minutes,
                                    **extra)


def test_nothing_is_delivered_before_the_minute(smtp_server, nora):
    make_task(nora)
    assert services.deliver_due_reminders(DUE - dt.timedelta(minutes=15, seconds=1)) == 0
    assert smtp_server.messages == [] and not Notification.objects.exists()


def test_on_time_reminder_in_the_app_and_by_email_in_the_users_zone(smtp_server, nora):
    task = make_task(nora)
    assert services.deliver_due_reminders(DUE - dt.timedelta(minutes=15)) == 1
    notification = Notification.objects.get(user=nora, kind="reminder")
    assert notification.text == "Reminder: Call Bea"
    [message] = smtp_server.messages
    assert message["To"] == "nora@example.com" and message["Subject"] == "Reminder: Call Bea"
    body = message.get_payload(decode=True).decode()
    assert "9 a.m." in body and "America/New_York" in body  # the assignee's local time, not UTC (1 p.m.)
    task.refresh_from_db()
    assert task.reminder_sent_at == DUE - dt.timedelta(minutes=15) and task.reminder_was_late is False


def test_reminder_email_in_the_assignees_language(smtp_server, team):
    mei = testing.make_user("sales", team=team, email="mei@example.com", language="zh-hans",
                            time_zone="Asia/Shanghai")
    make_task(mei, minutes=0)
    services.deliver_due_reminders(DUE)
    [message] = smtp_server.messages
    body = message.get_payload(decode=True).decode()
    assert "Call Bea" in body and "Asia/Shanghai" in body
    assert "2026年7月1日" in body and "21:00" in body  # Chinese date format, Shanghai time


def test_never_delivered_twice(smtp_server, nora):
    make_task(nora)
    now = DUE - dt.timedelta(minutes=10)
    assert services.deliver_due_reminders(now) == 1
    assert services.deliver_due_reminders(now + dt.timedelta(minutes=1)) == 0
    assert len(smtp_server.messages) == 1 and Notification.objects.filter(kind="reminder").count() == 1


def test_two_workers_with_the_same_batch_deliver_once(smtp_server, nora, monkeypatch):
    """Worker B read the due reminders before worker A claimed them: B's claim fails, so nothing is repeated."""
    make_task(nora)
    now = DUE - dt.timedelta(minutes=15)
    stale_batch = services.due_reminders(now)
    assert services.deliver_due_reminders(now) == 1  # worker A
    monkeypatch.setattr(services, "due_reminders", lambda now, limit=200: stale_batch)
    assert services.deliver_due_reminders(now) == 0  # worker B, same rows
    assert len(smtp_server.messages) == 1 and Notification.objects.filter(kind="reminder").count() == 1


def test_claim_is_won_by_exactly_one(nora):
    task = make_task(nora)
    now = DUE
    assert [services.claim_reminder(task, now, False), services.claim_reminder(task, now, False)] == [True, False]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_threads_deliver_once(smtp_server, team):
    """Two workers (threads, each with its own connection) read the same due reminder, then both try to deliver
    it: the conditional UPDATE lets exactly one through."""
    if connection.vendor == "sqlite":
        pytest.skip("needs two real concurrent connections: runs in the PostgreSQL suite (the in-memory SQLite test "
                    "database locks whole tables); test_claim_is_won_by_exactly_one covers the claim on SQLite")
    user = testing.make_user("sales", team=team, email="t@example.com")
    make_task(user)
    stale_batch = services.due_reminders(DUE)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def same_batch(now, limit=200):
        if not getattr(local, "waited", False):
            local.waited = True
            barrier.wait(timeout=10)  # both workers hold the batch before either claims
        return [Task.objects.get(pk=t.pk) for t in stale_batch]

    local = threading.local()

    def worker():
        try:
            for _attempt in range(1000):
                try:
                    results.append(services.deliver_due_reminders(DUE))
                    return
                except OperationalError:  # in-memory SQLite locks a table instead of waiting; the try rolled back
                    continue
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch.object(services, "due_reminders", same_batch):
        threads = [threading.Thread(target=worker) for _i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors
    assert sorted(results) == [0, 1]
    assert len(smtp_server.messages) == 1 and Notification.objects.filter(kind="reminder").count() == 1


def test_late_reminder_is_delivered_and_marked_late(smtp_server, nora):
    task = make_task(nora)
    later = DUE + dt.timedelta(hours=3)  # the worker was down
    assert services.deliver_due_reminders(later) == 1
    task.refresh_from_db()
    assert task.reminder_was_late is True
    assert Notification.objects.get(kind="reminder").text == "Late reminder: Call Bea"
    assert smtp_server.messages[0]["Subject"] == "Late reminder: Call Bea"


def test_within_two_minutes_is_not_late(smtp_server, nora):
    task = make_task(nora)
    services.deliver_due_reminders(DUE - dt.timedelta(minutes=13))
    task.refresh_from_db()
    assert task.reminder_was_late is False


def test_done_tasks_are_not_reminded(smtp_server, nora):
    task = make_task(nora)
    services.set_task_done(actor=nora, task=task)
    assert services.deliver_due_reminders(DUE) == 0
    assert smtp_server.messages == []


def test_tasks_without_reminder_are_ignored(smtp_server, nora):
    make_task(nora, minutes=None)
    assert services.deliver_due_reminders(DUE + dt.timedelta(days=1)) == 0


def test_repeating_task_gets_its_own_next_reminder(smtp_server, nora):
    task = make_task(nora, recurrence="daily")
    services.deliver_due_reminders(DUE - dt.timedelta(minutes=15))
    with time_machine.travel(DUE + dt.timedelta(minutes=5), tick=False):
        following = services.set_task_done(actor=nora, task=task).next_occurrence
    assert following.remind_at == DUE + dt.timedelta(days=1, minutes=-15)
    assert services.deliver_due_reminders(DUE + dt.timedelta(hours=1)) == 0  # not yet
    assert services.deliver_due_reminders(following.remind_at) == 1
    assert len(smtp_server.messages) == 2


def test_a_moved_due_time_rearms_the_reminder(smtp_server, nora):
    task = make_task(nora)
    services.deliver_due_reminders(DUE)
    services.update_task(actor=nora, task=Task.objects.get(pk=task.pk), data={"due_at": DUE + dt.timedelta(days=1)})
    assert services.deliver_due_reminders(DUE + dt.timedelta(days=1)) == 1


def test_smtp_failure_keeps_the_in_app_reminder_and_does_not_retry(nora, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    make_task(nora)
    assert services.deliver_due_reminders(DUE) == 1
    assert Notification.objects.filter(kind="reminder").count() == 1
    assert services.deliver_due_reminders(DUE) == 0


def test_worker_loop_runs_the_reminder_sweep():
    command = Command()
    task_worker = mock.Mock()
    with mock.patch("amity.core.management.commands.run_worker.dispatch_pending", return_value=0), \
            mock.patch("amity.core.management.commands.run_worker.deliver_due_reminders", return_value=2) as sweep:
        assert command.run_once(task_worker) is True  # reminders delivered: busy, loop again at once
        sweep.assert_called_once_with()
        task_worker.run.assert_called_once_with()
    with mock.patch("amity.core.management.commands.run_worker.dispatch_pending", return_value=0), \
            mock.patch("amity.core.management.commands.run_worker.deliver_due_reminders", return_value=0):
        assert command.run_once(task_worker) is False


def test_worker_once_delivers_due_reminders(smtp_server, nora):
    from django.core.management import call_command

    make_task(nora)
    # The worker recycles database connections between batches; inside a test transaction that would drop it.
    with time_machine.travel(DUE, tick=False), \
            mock.patch("amity.core.management.commands.run_worker.close_old_connections"), \
            mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("run_worker", "--once")
    assert Notification.objects.filter(kind="reminder").count() == 1 and len(smtp_server.messages) == 1


def test_the_due_reminder_query_uses_the_partial_index(nora):
    make_task(nora)
    with connection.cursor() as cursor:
        qs = Task.objects.filter(remind_at__lte=DUE, reminder_sent_at__isnull=True, done_at__isnull=True)
        sql, params = qs.query.sql_with_params()
        if connection.vendor != "sqlite":
            pytest.skip("plan check written for SQLite")
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "task_reminder_due" in plan
