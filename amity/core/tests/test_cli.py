"""The `amity` command: createadmin prints a random password once; backup copies a live SQLite database."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = {**os.environ, "AMITY_VAR_DIR": str(var), "AMITY_TESTING": ""}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "amity.cli", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=240)
    return var, env


def amity(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "amity.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_help_lists_the_commands(workspace):
    out = amity(workspace[1], "--help").stdout
    for command in ("serve", "worker", "demo", "createadmin", "backup"):
        assert f"amity {command}" in out


def test_createadmin_prints_a_random_password_once_that_logs_in(workspace):
    var, env = workspace
    first = amity(env, "createadmin", "--email", "Boss@Example.com", "--name", "Boss")
    assert first.returncode == 0, first.stderr
    password = re.search(r"password: (\S+)", first.stdout).group(1)
    assert len(password) >= 12
    check = amity(env, "shell", "-c", (
        "from django.contrib.auth import authenticate; "
        f"u = authenticate(username='boss@example.com', password='{password}'); print(u.role.key, u.is_superuser)"
    ))
    assert check.stdout.strip().splitlines()[-1] == "admin True"
    again = amity(env, "createadmin", "--email", "boss@example.com")
    assert again.returncode != 0 and "already exists" in again.stderr
    assert password not in again.stdout + again.stderr


def test_backup_writes_a_consistent_copy(workspace, tmp_path):
    var, env = workspace
    amity(env, "shell", "-c", "from amity.testing import make_contact; make_contact(first_name='Backed', last_name='Up')")
    target = tmp_path / "copy.sqlite3"
    result = amity(env, "backup", str(target))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [r[0] for r in db.execute("SELECT display_name FROM contacts_contact")]
    assert "Backed Up" in names
    refused = amity(env, "backup", str(target))
    assert refused.returncode != 0 and "exists" in refused.stderr
