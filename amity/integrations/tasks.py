"""Import work the worker runs: the real run and a big undo (``django.tasks`` on the database queue), and the
periodic deletion of uploaded files a week after their import finished, and the check for runs that stopped
without finishing."""

from __future__ import annotations

from datetime import time

from django_tasks import task

from amity.core.periodic import every


@task()
def run_import(job_id: int) -> str:
    from . import imports

    return imports.run(job_id).status


@task()
def undo_import(job_id: int) -> str:
    from . import imports

    return imports.undo(job_id).status


@every("imports.delete_old_files", daily_at=time(3, 10))
def delete_old_import_files() -> int:
    from . import imports

    return imports.delete_old_files()


@every("imports.fail_stalled", seconds=300)
def fail_stalled_imports() -> int:
    from . import imports

    return imports.fail_stalled_runs()
