"""``amity demo``: build a realistic demo workspace (English and Chinese contacts, companies, history)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amity.accounts.models import User
from amity.core import demo


class Command(BaseCommand):
    help = "Build a demo workspace. Only the admin's random password is printed, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=2000, help="how many contacts (default 2000)")
        parser.add_argument("--companies", type=int, default=None,
                            help="how many companies (default: contacts / 7, at least 300, at most 100,000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed for the data (default 42)")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing (but say how to log in) when the workspace already has users")
        parser.add_argument("--append", action="store_true", help="add demo data to a workspace that has data")

    def handle(self, *args: Any, contacts: int, companies: int | None, seed: int, if_empty: bool, append: bool,
               **options: Any) -> None:
        if contacts < 0 or (companies is not None and companies < 0):
            raise CommandError("--contacts and --companies cannot be negative.")
        if User.objects.exists():
            if if_empty:
                self.stdout.write(f"Amity is at {demo.URL}")
                self.stdout.write(
                    f"Log in as {demo.ADMIN_EMAIL} (the password was printed when the demo was created; "
                    f"reset it with `amity changepassword {demo.ADMIN_EMAIL}`)"
                )
                return
            if not append:
                raise CommandError(
                    "This workspace already has users and data; the demo only fills an empty one. "
                    "Use --append to add demo data anyway, or point AMITY_SQLITE_NAME / DATABASE_URL at a new database."
                )
        started = time.monotonic()
        n_companies = demo.default_companies(contacts) if companies is None else companies
        self.stdout.write(f"Building a demo workspace: {contacts:,} contacts, {n_companies:,} companies…")
        result = demo.build_demo(contacts=contacts, companies=n_companies, seed=seed, progress=self.stdout.write)
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s ({demo.summary(result)}).")
        self.stdout.write(f"Amity is at {demo.URL}")
        if result.admin_password:
            self.stdout.write(f"Log in as {demo.ADMIN_EMAIL} with password {result.admin_password}")
        else:
            self.stdout.write(f"Log in as {demo.ADMIN_EMAIL} (existing account; password unchanged)")
