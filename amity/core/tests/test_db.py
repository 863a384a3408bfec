"""SQLite gets query-planner statistics, so it picks the covering indexes the big lists rely on."""

from __future__ import annotations

import pytest
from django.db import connection

from amity.core.db import refresh_planner_statistics
from amity.testing import make_contact

pytestmark = pytest.mark.django_db


def test_statistics_are_collected_for_the_indexed_tables():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics; this upkeep is for SQLite")
    make_contact(first_name="Stat")
    refresh_planner_statistics()
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        tables = {row[0] for row in cursor.fetchall()}
    assert "contacts_contact" in tables
