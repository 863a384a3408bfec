"""The two-process contact import (a child reads and checks rows, the parent writes) gives exactly the in-process
result, and a child that fails fails the job with a message instead of hanging it."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
from typing import Any

import pytest
from django.db import transaction

from amity.contacts.models import Contact
from amity.core.models import SearchDocument
from amity.integrations import import_pipeline, imports
from amity.integrations.models import ImportJob, ImportRowError
from amity.testing import make_contact, make_user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not import_pipeline.available(), reason="needs fork and two cores"),
]


@pytest.fixture(autouse=True)
def _small_batches(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path  # uploaded files go to <VAR_DIR>/imports/
    monkeypatch.setattr(imports, "CONTACT_BATCH_SIZE", 7)  # several batches: an email repeated across batches


def mixed_file() -> str:
    owner = "rep@example.com"
    lines = ["first_name,last_name,email,phone,birthday,tags,owner_email,lifecycle_stage"]
    for i in range(40):
        email, phone, birthday, stage = f"p{i}@example.com", f"+1 202 555 {i:04d}", "1990-01-02", "lead"
        if i % 9 == 3:
            email = "broken@"
        if i % 11 == 5:
            phone = "12"
        if i % 13 == 7:
            birthday = "31/02/1990"
        if i == 24:
            stage = "royalty"
        if i in {8, 30}:
            email = "old1@example.com"  # an existing contact: updated twice, in different batches
        if i == 31:
            email = "p2@example.com"  # the same address as row 4 of the file
        lines.append(f"P{i},Example,{email},{phone},{birthday},vip,{owner if i % 2 else ''},{stage}")
    lines.append('Ragged,Row,ragged@example.com,,,,,,extra')
    lines.append(",,,,,,,")  # blank: not a row
    lines.append("小明,王,xm@example.cn,+86 138 0013 8000,,,,")
    return "\n".join(lines) + "\n"


def import_report(user: Any, text: str, *, pipelined: bool, monkeypatch: Any) -> dict[str, Any]:
    monkeypatch.setattr(import_pipeline, "MIN_ROWS", 0 if pipelined else 10**9)
    calls: list[int] = []
    real = import_pipeline.checked_batches

    def counted(engine: Any) -> Any:
        calls.append(1)
        return real(engine)

    monkeypatch.setattr(import_pipeline, "checked_batches", counted)
    job = imports.create_job(actor=user, fileobj=io.BytesIO(text.encode()), name="f.csv", object_type="contact")
    imports.set_mapping(actor=user, job=job, mapping=job.mapping, match_on="email", on_match="update")
    job = imports.run(job.pk)
    assert bool(calls) == pipelined
    contacts = sorted(
        (c.email, c.first_name, c.last_name, c.display_name, c.phone, c.lifecycle_stage, c.owner.email,
         sorted(c.emails.values_list("email", flat=True)), sorted(c.tags.values_list("name", flat=True)),
         SearchDocument.objects.get(kind="contact", obj_id=c.pk).body)
        for c in Contact.objects.select_related("owner"))
    return {
        "job": (job.status, job.total, job.processed, job.created, job.updated, job.skipped, job.errors,
                job.error_message),
        "errors": list(ImportRowError.objects.filter(job=job).order_by("row_number").values_list(
            "row_number", "errors", "values")),
        "contacts": contacts,
    }


def test_two_processes_give_the_same_report_as_one(admin_user, monkeypatch):
    make_user("sales", email="rep@example.com")
    make_contact(first_name="Old", last_name="One", emails=["old1@example.com"], owner=admin_user)
    text = mixed_file()
    with transaction.atomic():
        in_process = import_report(admin_user, text, pipelined=False, monkeypatch=monkeypatch)
        transaction.set_rollback(True)
    pipelined = import_report(admin_user, text, pipelined=True, monkeypatch=monkeypatch)
    assert pipelined == in_process
    status, total, processed, created, updated, _skipped, errors, _message = pipelined["job"]
    assert (status, total, processed) == ("done", 42, 42)
    # p2@example.com on row 33 matches the contact row 4 created; old1@example.com is updated from two batches
    assert (created, updated, errors) == (26, 3, 13)
    assert [(n, [e["field"] for e in errs]) for n, errs, _v in pipelined["errors"]] == [
        (5, ["email"]), (7, ["phone"]), (9, ["birthday"]), (14, ["email"]), (18, ["phone"]), (22, ["birthday"]),
        (23, ["email"]), (26, ["lifecycle_stage"]), (29, ["phone"]), (35, ["birthday"]), (40, ["phone"]),
        (41, ["email"]), (42, [""])]


def test_a_file_problem_part_way_is_reported_the_same(admin_user, monkeypatch):
    text = "first_name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(30)) + 'Bad,"open quote\nP99,p99@example.com\n'
    with transaction.atomic():
        in_process = import_report(admin_user, text, pipelined=False, monkeypatch=monkeypatch)
        transaction.set_rollback(True)
    pipelined = import_report(admin_user, text, pipelined=True, monkeypatch=monkeypatch)
    assert pipelined == in_process
    assert pipelined["job"][0] == "failed" and "never closed" in pipelined["job"][-1]


def test_a_reader_that_dies_fails_the_job_with_a_message(admin_user, monkeypatch):
    real_parse = imports.Engine.parse

    def dying_parse(self: Any, row: Any) -> None:
        if row.number == 12:
            os._exit(7)  # as if killed: no message to the parent
        real_parse(self, row)

    monkeypatch.setattr(imports.Engine, "parse", dying_parse)
    text = "first_name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(30))
    report = import_report(admin_user, text, pipelined=True, monkeypatch=monkeypatch)
    status, *_counts, message = report["job"]
    assert status == "failed"
    assert message == "The process reading the file stopped unexpectedly (exit code 7)."
    assert len(report["contacts"]) == 7  # the first batch (rows 2-8) landed before the reader died


def test_a_reader_that_raises_fails_the_job_with_the_error(admin_user, monkeypatch):
    def broken_parse(self: Any, row: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports.Engine, "parse", broken_parse)
    report = import_report(admin_user, "first_name,email\nAda,ada@example.com\n", pipelined=True,
                           monkeypatch=monkeypatch)
    assert report["job"][0] == "failed"
    assert report["job"][-1] == "The process reading the file failed: RuntimeError: disk on fire"
    assert report["contacts"] == []


def test_a_writer_that_fails_ends_the_reader(admin_user, monkeypatch):
    # The worker's SIGTERM handler only asks it to stop; the reader must not inherit that.
    previous = signal.signal(signal.SIGTERM, lambda *_args: None)
    real_batch = imports.Engine.contact_batch
    calls: list[int] = []

    def failing_batch(self: Any, batch: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database gone")
        real_batch(self, batch)

    monkeypatch.setattr(imports.Engine, "contact_batch", failing_batch)
    try:
        text = "first_name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(60))
        report = import_report(admin_user, text, pipelined=True, monkeypatch=monkeypatch)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert report["job"][0] == "failed" and report["job"][-1] == "The import stopped: RuntimeError"
    assert len(report["contacts"]) == 7
    assert multiprocessing.active_children() == []


def test_small_files_and_dry_runs_stay_in_process(admin_user, monkeypatch):
    monkeypatch.setattr(import_pipeline, "checked_batches", lambda engine: pytest.fail("forked"))
    job = imports.create_job(actor=admin_user, fileobj=io.BytesIO(b"first_name\nAda\n"), name="f.csv",
                             object_type="contact")
    imports.set_mapping(actor=admin_user, job=job, mapping=job.mapping)
    assert imports.dry_run(actor=admin_user, job=job)["created"] == 1
    assert imports.run(job.pk).created == 1
    assert ImportJob.objects.get(pk=job.pk).status == "done"
