"""The background worker: dispatches the event log, delivers due task reminders and runs queued tasks until
stopped.

Several workers may run at once (on PostgreSQL, on several machines): events are claimed with leases and
``SKIP LOCKED``; queued tasks are claimed by django-tasks-db the same way.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from amity.core.db import refresh_planner_statistics
from amity.core.events import dispatch_pending
from amity.core.periodic import run_due
from amity.timeline.services import deliver_due_reminders

logger = logging.getLogger("amity.worker")
STATISTICS_EVERY_SECONDS = 6 * 3600


class Command(BaseCommand):
    help = "Run the background worker (event dispatch + task queue)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds to sleep when idle")
        parser.add_argument("--once", action="store_true", help="drain what is pending, then exit")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        self.running = True

        def stop(signum: int, frame: Any) -> None:
            logger.info("worker stopping after the current batch")
            self.running = False

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        task_worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                             startup_delay=False, max_tasks=None, worker_id=f"amity-{time.time_ns()}",
                             excluded_queue_names=[])
        logger.info("worker started")
        statistics_due = 0.0
        while self.running:
            close_old_connections()
            if time.monotonic() >= statistics_due:
                refresh_planner_statistics()
                statistics_due = time.monotonic() + STATISTICS_EVERY_SECONDS
            busy = self.run_once(task_worker)
            if once and not busy:
                break
            if not busy:
                time.sleep(interval)
        logger.info("worker stopped")

    def run_once(self, task_worker: Any) -> bool:
        """One loop: events, due reminders (an indexed query when there are none), due periodic jobs
        (``core.periodic``), queued tasks. True if it did some work (the loop goes again without sleeping)."""
        busy = dispatch_pending() > 0
        busy = deliver_due_reminders() > 0 or busy
        busy = run_due() > 0 or busy
        task_worker.run()  # batch mode: runs every ready task, then returns
        return busy
