from typing import Any

from django.core.management.base import BaseCommand

from amity.core.db import refresh_planner_statistics


class Command(BaseCommand):
    help = "Refresh the database's query-planner statistics (SQLite ANALYZE; nothing to do on PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        refresh_planner_statistics()
