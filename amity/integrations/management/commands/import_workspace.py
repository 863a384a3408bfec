"""``amity import-workspace FILE.zip``: load a workspace export into an empty, migrated database."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from amity.integrations import workspace


class Command(BaseCommand):
    help = ("Import a workspace export (from export-workspace) into this database. It must be migrated to the same "
            "version and hold no users or contacts; --force replaces everything in it.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="the .zip file written by export-workspace")
        parser.add_argument("--force", action="store_true",
                            help="replace the records already in this database (they are deleted)")

    def handle(self, *args: Any, source: str, force: bool, **options: Any) -> None:
        started = time.monotonic()
        try:
            counts = workspace.import_archive(source, force=force)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Imported {sum(counts.values()):,} records of {len(counts)} models from {source} "
                          f"in {time.monotonic() - started:.1f} s.")
