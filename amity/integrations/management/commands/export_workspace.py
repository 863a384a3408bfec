"""``amity export-workspace FILE.zip``: the whole workspace as JSON lines in a zip, with a manifest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from amity.integrations import workspace


class Command(BaseCommand):
    help = "Export every record of the workspace to a .zip (manifest.json + one .jsonl per model)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("target", help="the .zip file to write")
        parser.add_argument("--overwrite", action="store_true", help="replace the file if it exists")

    def handle(self, *args: Any, target: str, overwrite: bool, **options: Any) -> None:
        path = Path(target)
        if path.exists() and not overwrite:
            raise CommandError(f"{path} exists; choose another file or pass --overwrite.")
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out:
                manifest = workspace.write_archive(out)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        total = sum(manifest["counts"].values())
        self.stdout.write(f"Exported {total:,} records of {len(manifest['counts'])} models to {path} "
                          f"({path.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s.")
