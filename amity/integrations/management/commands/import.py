"""``amity import FILE --type contact --mapping mapping.json | --preset hubspot [--match email] [--on-match update]
[--dry-run]``: the import the wizard runs, from the command line (same services, same row report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from amity.integrations import imports
from amity.integrations.models import ImportObjectType, MatchOn, OnMatch


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(m for e in errs for m in e.messages)}"
                         for field, errs in exc.error_dict.items())
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = "Import a CSV or XLSX file of contacts, companies, deals or orders."
    requires_system_checks: list[str] = []  # checks import every URLconf and API router: seconds for nothing here

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--type", dest="object_type", default="contact", choices=ImportObjectType.values)
        parser.add_argument("--mapping", help="a JSON file: {\"<column header or index>\": \"<field key>\"}")
        parser.add_argument("--preset", default="", help="hubspot, salesforce or pipedrive")
        parser.add_argument("--match", default="", choices=[m for m in MatchOn.values if m] + [""])
        parser.add_argument("--on-match", default=OnMatch.UPDATE, choices=OnMatch.values)
        parser.add_argument("--encoding", default="")
        parser.add_argument("--delimiter", default="")
        parser.add_argument("--user", default="", help="the importing user's email (default: the first admin)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
        parser.add_argument("--errors", default="", help="write the rejected rows to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        from amity.accounts.models import User

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["user"]:
            actor = User.objects.filter(email=options["user"].lower(), is_active=True).first()
        else:
            actor = User.objects.filter(Q(is_superuser=True) | Q(role__is_admin=True), is_active=True) \
                .order_by("-is_superuser", "id").first()
        if actor is None:
            raise CommandError("No such active user; pass --user EMAIL (see `amity createadmin`).")
        try:
            with path.open("rb") as handle:
                job = imports.create_job(actor=actor, fileobj=handle, name=path.name,
                                         object_type=options["object_type"], encoding=options["encoding"],
                                         delimiter=options["delimiter"])
            mapping = self._mapping(job, options)
            imports.set_mapping(actor=actor, job=job, mapping=mapping, match_on=options["match"],
                                on_match=options["on_match"], preset=options["preset"])
            if options["dry_run"]:
                summary = imports.dry_run(actor=actor, job=job)
                self.stdout.write(json.dumps({"import": str(job.uuid), "dry_run": summary}, indent=2,
                                             ensure_ascii=False))
                return
            job = imports.run(job.pk)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if options["errors"]:
            from amity.integrations.import_selectors import rejected_rows_csv_lines

            with open(options["errors"], "w", encoding="utf-8", newline="") as out:
                for line in rejected_rows_csv_lines(job):
                    out.write(line)
        self.stdout.write(json.dumps({
            "import": str(job.uuid), "status": job.status, "total": job.total, "created": job.created,
            "updated": job.updated, "skipped": job.skipped, "errors": job.errors,
            "error_message": job.error_message}, ensure_ascii=False))
        if job.status == "failed":
            raise CommandError(job.error_message)

    def _mapping(self, job: Any, options: dict[str, Any]) -> dict[str, str]:
        if options["mapping"]:
            try:
                raw = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read the mapping file: {exc}") from None
            if not isinstance(raw, dict):
                raise CommandError("The mapping file must hold a JSON object {\"column\": \"field\"}.")
            by_header = {h.lower(): str(i) for i, h in enumerate(job.headers)}
            mapping: dict[str, str] = {}
            for column, field_key in raw.items():
                index = column if str(column).isdigit() else by_header.get(str(column).lower())
                if index is None:
                    raise CommandError(f"The file has no column “{column}”; its columns are: "
                                       + ", ".join(job.headers))
                if field_key:
                    mapping[str(index)] = str(field_key)
            return mapping
        if options["preset"]:
            return imports.preset_mapping(job.object_type, options["preset"], job.headers)
        return dict(job.mapping)
