"""Shared fixtures. Factories live in amity/testing.py."""

from __future__ import annotations

import os
import socket

import pytest
from django.test import Client

from amity import testing

os.environ.setdefault("AMITY_TESTING", "1")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the internet: connecting anywhere but this machine fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else ""
        if isinstance(address, tuple) and host not in {"127.0.0.1", "::1", "localhost"}:
            raise RuntimeError(f"test tried to reach {address!r}; tests must stay offline")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def team(db):
    return testing.make_team("North")


@pytest.fixture
def other_team(db):
    return testing.make_team("South")


@pytest.fixture
def admin_user(db):
    return testing.make_user("admin", full_name="Ada Admin", email="ada@example.com")


@pytest.fixture
def sales_user(db, team):
    return testing.make_user("sales", team=team, full_name="Sam Sales", email="sam@example.com")


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def sales_client(sales_user) -> Client:
    client = Client()
    client.force_login(sales_user)
    return client


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) in this process; Django sends to it over a socket."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collector(Message):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list = []

        def handle_message(self, message) -> None:  # type: ignore[override]
            self.messages.append(message)

    handler = Collector()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        controller.stop()
