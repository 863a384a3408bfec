"""The worker path (the real database queue, run in-process), the CLI, deals and orders, batch query counts and
the file clean-up."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from amity.contacts.models import Contact
from amity.integrations import imports
from amity.integrations.models import ImportJob, ImportRowError
from amity.testing import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/


def new_job(user, text: str, object_type: str = "contact", **mapping_kwargs) -> ImportJob:
    job = imports.create_job(actor=user, fileobj=io.BytesIO(text.encode()), name="f.csv", object_type=object_type)
    imports.set_mapping(actor=user, job=job, mapping=mapping_kwargs.pop("mapping", job.mapping), **mapping_kwargs)
    return job


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections between tasks
def test_run_in_the_database_queue_worker(admin_user, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # the signal resets the handler
    from django_tasks_db.management.commands.db_worker import Worker

    job = new_job(admin_user, "first_name,email\nAda,ada@example.com\nBob,bob@example.com\n")
    job = imports.start(actor=admin_user, job=job)
    assert job.status == "queued" and Contact.objects.count() == 0
    Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False, max_tasks=None,
           worker_id="test", excluded_queue_names=[]).run()
    job.refresh_from_db()
    assert (job.status, job.created, job.progress) == ("done", 2, 100)


def test_cli_dry_run_and_run(admin_user, tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_text("Given,Mail\nAda,ada@example.com\nBob,bad\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Given": "first_name", "Mail": "email"}))
    call_command("import", str(path), "--type", "contact", "--mapping", str(mapping), "--dry-run")
    out = json.loads(capsys.readouterr().out)
    assert (out["dry_run"]["created"], out["dry_run"]["errors"]) == (1, 1)
    assert Contact.objects.count() == 0
    errors_csv = tmp_path / "rejected.csv"
    call_command("import", str(path), "--mapping", str(mapping), "--match", "email", "--errors", str(errors_csv))
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["created"], out["errors"]) == ("done", 1, 1)
    assert errors_csv.read_text(encoding="utf-8-sig").splitlines()[1].startswith("Bob,bad,3,")


def test_cli_refuses_an_unknown_column(admin_user, tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "people.csv"
    path.write_text("Given\nAda\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Surname": "last_name"}))
    with pytest.raises(CommandError, match="no column “Surname”"):
        call_command("import", str(path), "--mapping", str(mapping))


def test_cli_preset(admin_user, tmp_path, capsys):
    path = tmp_path / "hubspot.csv"
    path.write_text("Record ID,First Name,Last Name,Email,Contact owner\n17,Ada,Lovelace,ada@example.com,\n",
                    encoding="utf-8")
    call_command("import", str(path), "--preset", "hubspot", "--match", "external_id")
    assert json.loads(capsys.readouterr().out)["created"] == 1
    assert Contact.objects.get().external_id == "17"


def test_deals_import(admin_user):
    from amity.sales.models import Deal, Pipeline

    pipeline = Pipeline.objects.order_by("id").first()
    if pipeline is None:
        pytest.skip("no default pipeline")
    stage = pipeline.stages.order_by("position").first()
    job = new_job(admin_user, f"Deal name,Amount,Stage,Close date\nBig one,\"1,200.50\",{stage.name},31/12/2030\n"
                              "No amount,abc,,\n", object_type="deal")
    job = imports.start(actor=admin_user, job=job)
    assert (job.created, job.errors) == (1, 1), list(ImportRowError.objects.values_list("errors", flat=True))
    deal = Deal.objects.get(name="Big one")
    assert (str(deal.amount), deal.expected_close_date) == ("1200.50", dt.date(2030, 12, 31))
    assert ImportRowError.objects.get().errors[0]["field"] == "amount"
    imports.request_undo(actor=admin_user, job=job)
    assert not Deal.objects.filter(name="Big one").exists()


def test_orders_group_lines_by_order_id(admin_user):
    from amity.commerce.models import Order

    job = new_job(admin_user, "Order id,Email,Total,SKU,Qty,Price,Currency\n"
                              "A-1,ada@example.com,30,SKU-1,1,10,USD\nA-1,ada@example.com,30,SKU-2,2,10,USD\n"
                              "A-2,bob@example.com,99,SKU-1,1,10,USD\n", object_type="order",
                  mapping={"0": "external_id", "1": "email", "2": "total", "3": "sku", "4": "quantity",
                           "5": "unit_price", "6": "currency"})
    job = imports.start(actor=admin_user, job=job)
    assert (job.created, job.errors) == (1, 1), list(ImportRowError.objects.values_list("errors", flat=True))
    order = Order.objects.get(external_id="A-1")
    assert order.lines.count() == 2
    assert ImportRowError.objects.get().row_number == 4


def test_queries_per_batch_do_not_grow_with_rows(admin_user, django_assert_max_num_queries):
    make_contact(first_name="Old", emails=["old0@example.com"], tags=["vip"])

    def rows(n: int) -> str:
        lines = ["first_name,email,phone,tags"]
        lines += [f"P{i},p{i}@example.com,+1 202 555 {i:04d},vip" for i in range(n)]
        lines.append("Old,old0@example.com,,")
        return "\n".join(lines) + "\n"

    counts = []
    for n in (10, 200):
        job = new_job(admin_user, rows(n).replace("@example", f"@n{n}example").replace("old0@n10example",
                      "old0@example").replace("old0@n200example", "old0@example"), match_on="email")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            job = imports.start(actor=admin_user, job=job)
        assert (job.created, job.updated) == (n, 1)
        # INSERTs are split by the database's parameter limit (999 on SQLite); everything else is per batch.
        counts.append(sum(1 for q in captured.captured_queries if not q["sql"].startswith("INSERT")))
    assert counts[0] == counts[1]


def test_old_files_are_deleted_after_a_week(admin_user):
    job = new_job(admin_user, "first_name\nAda\n")
    job = imports.start(actor=admin_user, job=job)
    from pathlib import Path

    assert Path(job.stored_path).exists()
    assert imports.delete_old_files(now=timezone.now() + dt.timedelta(days=6)) == 0
    assert imports.delete_old_files(now=timezone.now() + dt.timedelta(days=8)) == 1
    assert not Path(job.stored_path).exists()


def test_progress_total_is_estimated_from_the_file_then_exact(admin_user, monkeypatch):
    # A quoted line break and a blank line make the line count differ from the row count.
    lines = ["first_name,email,job_title", 'Ada,ada@example.com,"Countess\nof Lovelace"', ""]
    lines += [f"P{i},p{i}@example.com,Engineer" for i in range(25)]
    job = new_job(admin_user, "\n".join(lines))  # no line break after the last row
    monkeypatch.setattr(imports, "CONTACT_BATCH_SIZE", 10)
    seen: list[tuple[int, int, int]] = []
    engine = imports.Engine(job, actor=admin_user, commit=True,
                            on_batch=lambda j: seen.append((j.processed, j.total, j.progress)))
    engine.execute()
    # 29 line breaks or row ends, less the header: 28 estimated; 26 rows really
    assert seen == [(10, 28, 35), (20, 28, 71), (26, 28, 92)]
    job.refresh_from_db()
    assert (job.total, job.processed, job.created) == (26, 26, 26)


# --- a run whose worker stopped -------------------------------------------------------------------------------

def _stalled_after_one_batch(user, minutes_ago):
    """An import that wrote its first rows, then stopped recording progress ``minutes_ago`` minutes ago."""
    import datetime as dt

    from django.utils import timezone

    from amity.integrations import imports
    from amity.integrations.models import ImportJob

    job = imports.create_job(actor=user, fileobj=io.BytesIO(b"first_name,email\nAda,ada@example.com\n"),
                             name="people.csv", object_type="contact")
    imports.set_mapping(actor=user, job=job, mapping=job.mapping, match_on="email", on_match="update")
    job = imports.start(actor=user, job=job)  # the test task backend runs it at once
    last_progress = timezone.now() - dt.timedelta(minutes=minutes_ago)
    ImportJob.objects.filter(pk=job.pk).update(status="running", finished_at=None, updated_at=last_progress)
    Contact.objects.update(updated_at=last_progress - dt.timedelta(seconds=1))  # written before it stopped
    job.refresh_from_db()
    return job


def test_a_run_that_stopped_making_progress_is_marked_failed_and_can_be_undone(admin_user):
    from amity.contacts.models import Contact
    from amity.integrations import imports

    stalled = _stalled_after_one_batch(admin_user, minutes_ago=20)
    assert imports.fail_stalled_runs() == 1
    stalled.refresh_from_db()
    assert stalled.status == "failed" and stalled.finished_at == stalled.updated_at
    assert "stopped without finishing" in stalled.error_message and "after 1 rows" in stalled.error_message
    assert stalled.can_undo
    assert imports.fail_stalled_runs() == 0  # once
    imports.request_undo(actor=admin_user, job=stalled)
    stalled.refresh_from_db()
    assert stalled.status == "undone" and not Contact.objects.filter(first_name="Ada").exists()


def test_a_run_still_making_progress_is_left_alone(admin_user):
    from amity.integrations import imports

    running = _stalled_after_one_batch(admin_user, minutes_ago=2)
    assert imports.fail_stalled_runs() == 0
    running.refresh_from_db()
    assert running.status == "running" and not running.can_undo


def test_a_failed_run_that_wrote_nothing_cannot_be_undone(admin_user):
    from django.core.exceptions import ValidationError

    from amity.integrations import imports
    from amity.integrations.models import ImportJob

    job = _stalled_after_one_batch(admin_user, minutes_ago=20)
    ImportJob.objects.filter(pk=job.pk).update(status="failed", created=0, updated=0)
    job.refresh_from_db()
    assert not job.can_undo
    with pytest.raises(ValidationError):
        imports.request_undo(actor=admin_user, job=job)


def test_the_worker_checks_for_stalled_runs_every_five_minutes(admin_user):
    from amity.core import periodic

    job = periodic.registered()["imports.fail_stalled"]
    assert job.interval == dt.timedelta(minutes=5) and job.at is None
    stalled = _stalled_after_one_batch(admin_user, minutes_ago=20)
    assert job.fn() == 1
    stalled.refresh_from_db()
    assert stalled.status == "failed"
