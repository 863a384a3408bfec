"""Create an admin user with a random password, printed once."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from amity.accounts.models import User
from amity.accounts.services import create_user


class Command(BaseCommand):
    help = "Create an admin user; the random password is printed once and never stored in clear."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--name", default="Admin")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        if User.objects.filter(email=email.lower()).exists():
            raise CommandError(f"A user with email {email} already exists.")
        password = secrets.token_urlsafe(12)
        user = create_user(actor=None, email=email, full_name=name, role="admin", password=password)
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
        self.stdout.write(f"Admin login: {user.email}  password: {password}")
