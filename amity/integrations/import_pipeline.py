"""The contact import on two cores: a child process reads and checks the rows while this one writes.

``Engine.execute`` reads the file, parses and validates each row (emails, phones, dates, custom fields, the
contact rules) and then matches and writes the batch. The first part needs no database, so for big contact imports
it runs in a child process forked from the worker: the child sends each checked batch (the same ``Row`` objects
the in-process path builds, in the same batches) through a pipe and the parent matches and writes it. The pipe
holds about one batch, so the child is at most a batch or two ahead and memory stays flat.

The child never touches the database (the owner column's users are loaded before the fork, and a query in the
child raises). It ends with ``os._exit`` (multiprocessing's fork start), so the parent's database connection,
inherited across the fork, is never closed or used by it. A file problem found part-way (an unclosed quote) is
sent as such and raised as the in-process path raises it; a child that raises, is killed or stops answering
fails the job with a message saying so, and a parent that stops (an error while writing) ends the child.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils.translation import gettext as _

from amity.core import search

from . import readers

if TYPE_CHECKING:
    from .imports import Engine, Row

# Files with fewer rows (by the line-count estimate) are read in-process: starting the child costs more than it saves.
MIN_ROWS = 5000
# A child that sends nothing for this long is taken for hung (a batch takes well under a second to check).
SILENCE_SECONDS = 600


class ReaderFailed(Exception):
    """The child process raised or died; the message says how."""


def available() -> bool:
    """Two or more cores to run on and a fork start method (Linux; macOS and Windows read in-process)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores > 1


def _no_queries(*_args: Any) -> Any:
    raise RuntimeError("the import's reading process must not use the database")


def _read(engine: Engine, sender: Any) -> None:
    """The child: every batch of the file, checked, then "done" (or the problem or the error)."""
    # The worker's graceful-stop handlers would make the parent's terminate() a no-op here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    for alias in connections:
        connections[alias].execute_wrappers.append(_no_queries)
    try:
        for batch in engine.batches():
            engine.check_rows(batch)
            forms = {p: search._phone_forms(p) for row in batch if not row.errors for p in row.data.get("phones", ())}
            sender.send(("batch", batch, forms))
        sender.send(("done",))
    except readers.FileProblem as exc:
        sender.send(("problem", str(exc)))
    except BaseException:  # noqa: BLE001 - whatever it was, the parent must hear of it rather than wait
        sender.send(("error", traceback.format_exc(limit=20)))
    finally:
        sender.close()


def checked_batches(engine: Engine) -> Generator[list[Row], None, None]:
    """``engine.batches()`` with ``engine.check_rows`` applied, produced by a child process.

    Close the generator (``contextlib.closing``) when stopping early: that ends the child."""
    engine.prepare_for_child()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_read, args=(engine, sender), name="amity-import-reader", daemon=True)
    process.start()
    sender.close()  # the child holds the only sending end: its death is an EOF here
    try:
        while True:
            if not receiver.poll(SILENCE_SECONDS):
                raise ReaderFailed(_("The process reading the file stopped answering."))
            try:
                message = receiver.recv()
            except EOFError:
                process.join(10)
                raise ReaderFailed(_("The process reading the file stopped unexpectedly (exit code %(code)s).")
                                   % {"code": process.exitcode}) from None
            if message[0] == "batch":
                search.remember_phone_forms(message[2])
                yield message[1]
            elif message[0] == "done":
                return
            elif message[0] == "problem":
                raise readers.FileProblem(message[1])
            else:
                raise ReaderFailed(_("The process reading the file failed: %(error)s")
                                   % {"error": message[1].strip().splitlines()[-1]}) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
            process.join(10)
        if process.is_alive():  # pragma: no cover - a child stuck where SIGTERM cannot reach it
            process.kill()
        process.join(10)
