"""Online backup: SQLite's backup API copies a consistent snapshot while Amity keeps running."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone


class Command(BaseCommand):
    help = "Back up the database to a file (SQLite) or print how to (PostgreSQL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("target", nargs="?", help="file to write (default: var/backups/amity-<time>.sqlite3)")

    def handle(self, *args: Any, target: str | None, **options: Any) -> None:
        if connection.vendor == "postgresql":
            db = settings.DATABASES["default"]
            self.stdout.write(
                "Amity runs on PostgreSQL: back it up with pg_dump, e.g.\n"
                f"  pg_dump --format=custom --host={db.get('HOST') or 'localhost'} --port={db.get('PORT') or 5432} "
                f"--username={db.get('USER')} --file=amity-$(date +%F).dump {db.get('NAME')}\n"
                "and restore with pg_restore --clean --dbname=… amity-….dump"
            )
            return
        if connection.vendor != "sqlite":
            raise CommandError(f"No backup support for {connection.vendor}.")
        source = Path(settings.DATABASES["default"]["NAME"])
        destination = Path(target) if target else settings.VAR_DIR / "backups" / (
            f"amity-{timezone.now():%Y%m%d-%H%M%S}.sqlite3")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            raise CommandError(f"{destination} exists; choose another file.")
        with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
            src.backup(dst, pages=4096)
        dst.close()
        self.stdout.write(f"Backed up {source} to {destination} ({destination.stat().st_size:,} bytes)")
