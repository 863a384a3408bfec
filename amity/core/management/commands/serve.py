"""Serve the web app with gunicorn and run the background worker beside it (the embedded default)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Amity on 127.0.0.1:8000 with its background worker, until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("AMITY_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("AMITY_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="serve only the web app")

    def handle(self, *args: Any, host: str, port: int, workers: int, no_worker: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("analyze_db")
        if settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        processes = []
        if not no_worker:
            processes.append(subprocess.Popen([sys.executable, "-m", "amity.cli", "worker"]))  # noqa: S603
        web = subprocess.Popen([  # noqa: S603
            sys.executable, "-m", "gunicorn", "amity.wsgi:application", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--access-logfile", "-", "--timeout", "120", "--graceful-timeout", "10",
        ])
        processes.append(web)
        self.stdout.write(self.style.SUCCESS(f"Amity is running at http://{host}:{port}/  (Ctrl-C to stop)"))
        try:
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
