"""The ``amity`` console command: a friendly face on manage.py.

    amity serve [--port 8000]      web app + background worker (embedded default)
    amity worker                   the background worker alone (run several in production)
    amity demo --contacts N        build a demo workspace
    amity createadmin              create an admin user (prints a random password once)
    amity backup [FILE]            online SQLite backup (PostgreSQL: prints pg_dump guidance)
    amity import FILE --type contact [--mapping M.json | --preset hubspot] [--dry-run]
                                   import a CSV/XLSX file as the wizard does
    amity export-workspace FILE    the whole workspace as JSON lines in a .zip (backups, SQLite ↔ PostgreSQL)
    amity import-workspace FILE    load such a .zip into an empty database
    amity <any manage.py command>  e.g. amity migrate, amity shell
"""

from __future__ import annotations

import os
import sys

ALIASES = {"serve": "serve", "worker": "run_worker", "demo": "demo", "createadmin": "createadmin", "backup": "backup",
           "export-workspace": "export_workspace", "import-workspace": "import_workspace"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amity.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    args[0] = ALIASES.get(args[0], args[0])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["amity", *args])


if __name__ == "__main__":
    main()
