"""The full workspace export and import: backups, and moving between SQLite and PostgreSQL.

The archive is a .zip holding ``manifest.json`` and one ``<app_label>.<model>.jsonl`` per model, one JSON object
per record, in dependency order. Every concrete field is written under its attribute name (foreign keys as ids),
many-to-many fields as sorted id lists (permissions as ``[app_label, codename]``, as their ids differ between
databases), JSON fields as JSON (keys sorted), decimals as strings, datetimes in ISO 8601 UTC, binary as base64.

Covered: every model of every ``amity.*`` app, plus groups. Left out: sessions, task-queue results, content types
and permissions (``migrate`` creates them). The search index (``core.SearchDocument``) travels as data: SQLite's
FTS5 tables follow it through triggers and PostgreSQL's indexes are expression indexes over it.

Import goes into a migrated database holding no users or contacts (``force`` replaces whatever is there):
it checks the manifest's format and migration heads, empties the covered tables, inserts every record with its
primary key in batches inside one transaction (all or nothing), then resets PostgreSQL's sequences.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from importlib import metadata
from itertools import islice
from typing import IO, Any
from uuid import UUID

from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.translation import gettext as _

from amity.core import audit
from amity.core.models import AuditAction

FORMAT_VERSION = 1
BATCH = 2000
MANIFEST = "manifest.json"
EXTRA_MODELS = ("auth.Group",)


# --- which models, in which order ---------------------------------------------------------------------------------

def covered_models() -> list[type[models.Model]]:
    """Every model to export, each after the models its foreign keys point to (cycles broken by name order)."""
    chosen = [m for m in apps.get_models() if m.__module__.startswith("amity.") and not m._meta.proxy
              and m._meta.managed]
    chosen += [apps.get_model(label) for label in EXTRA_MODELS]
    chosen.sort(key=lambda m: m._meta.label_lower)
    deps = {m: {f.related_model for f in m._meta.concrete_fields
                if f.is_relation and f.related_model in chosen and f.related_model is not m}
            for m in chosen}
    deps = {m: d | {f.related_model for f in m._meta.many_to_many
                    if f.related_model in chosen and f.related_model is not m}
            for m, d in deps.items()}
    ordered: list[type[models.Model]] = []
    visiting: set[type[models.Model]] = set()

    def visit(model: type[models.Model]) -> None:
        if model in ordered or model in visiting:
            return
        visiting.add(model)
        for dep in sorted(deps[model], key=lambda m: m._meta.label_lower):
            visit(dep)
        visiting.discard(model)
        ordered.append(model)

    for model in chosen:
        visit(model)
    return ordered


def file_name(model: type[models.Model]) -> str:
    return f"{model._meta.label_lower}.jsonl"


def _m2m_fields(model: type[models.Model]) -> list[Any]:
    """Many-to-many fields stored in Django's own join tables (others are models of their own)."""
    return [f for f in model._meta.many_to_many
            if f.remote_field.through._meta.auto_created]  # type: ignore[union-attr]


# --- values ----------------------------------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    """JSON with its object keys sorted: PostgreSQL's jsonb reorders keys, so exports compare across databases."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _dump_value(field: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = field.get_internal_type()
    if kind == "JSONField":
        return _canonical(value)
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return duration_iso_string(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _load_value(field: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = field.get_internal_type()
    if kind == "JSONField":
        return value
    if kind == "BinaryField":
        return base64.b64decode(value)
    if field.is_relation:
        return field.target_field.to_python(value)
    return field.to_python(value)


def _permission_keys() -> dict[int, list[str]]:
    return {pk: [app, code] for pk, app, code in
            Permission.objects.values_list("pk", "content_type__app_label", "codename")}


# --- export -----------------------------------------------------------------------------------------------------

def iter_records(model: type[models.Model], batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every record of ``model`` as a JSON-ready dict, by primary key; many-to-many ids fetched per batch."""
    fields = list(model._meta.concrete_fields)
    attnames = [f.attname for f in fields]
    m2m = _m2m_fields(model)
    permission_keys = _permission_keys() if any(f.related_model is Permission for f in m2m) else {}
    rows = model._base_manager.order_by("pk").values_list(*attnames).iterator(chunk_size=batch)
    pk_index = attnames.index(model._meta.pk.attname)
    while True:
        chunk = list(islice(rows, batch))
        if not chunk:
            return
        ids = [r[pk_index] for r in chunk]
        related: dict[str, dict[Any, list[Any]]] = {}
        for field in m2m:
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            found: dict[Any, list[Any]] = {}
            for own, other in (through._base_manager.filter(**{f"{source}__in": ids})
                               .values_list(f"{source}_id", f"{target}_id").order_by(f"{source}_id", f"{target}_id")):
                found.setdefault(own, []).append(permission_keys.get(other, other) if permission_keys else other)
            related[field.name] = found
        for row in chunk:
            record = {f.attname: _dump_value(f, v) for f, v in zip(fields, row, strict=True)}
            for field in m2m:
                values = related[field.name].get(row[pk_index], [])
                record[field.name] = sorted(values) if field.related_model is Permission else values
            yield record


def migration_heads() -> dict[str, list[str]]:
    """The latest applied migration(s) of each app, as recorded in this database."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    heads: dict[str, list[str]] = {}
    for app_label, name in loader.graph.leaf_nodes():
        if (app_label, name) in loader.applied_migrations:
            heads.setdefault(app_label, []).append(name)
    return {app: sorted(names) for app, names in sorted(heads.items())}


def _app_version() -> str:
    try:
        return metadata.version("amity")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_archive(out: IO[bytes], *, actor: Any = None, created_at: dt.datetime | None = None) -> dict[str, Any]:
    """Write the workspace archive to the binary stream ``out``; return its manifest.

    Each model is streamed into its zip member a batch at a time, so memory stays flat however big the workspace.
    """
    from amity.core import money

    counts: dict[str, int] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for model in covered_models():
            count = 0
            with archive.open(file_name(model), "w", force_zip64=True) as member:
                text = io.TextIOWrapper(member, encoding="utf-8", newline="\n")
                lines: list[str] = []
                for record in iter_records(model):
                    lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                    count += 1
                    if len(lines) >= BATCH:
                        text.write("\n".join(lines) + "\n")
                        lines.clear()
                if lines:
                    text.write("\n".join(lines) + "\n")
                text.flush()
                text.detach()
            counts[model._meta.label_lower] = count
        manifest = {
            "format": "amity-workspace",
            "format_version": FORMAT_VERSION,
            "app_version": _app_version(),
            "created_at": (created_at or timezone.now()).astimezone(dt.UTC).isoformat(),
            "database_vendor": connection.vendor,
            "base_currency": money.base_currency(),
            "models": [m._meta.label_lower for m in covered_models()],
            "counts": counts,
            "migration_heads": migration_heads(),
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    audit.record(AuditAction.EXPORT, actor=actor, object_type="workspace",
                 changes={"records": sum(counts.values()), "models": len(counts)})
    return manifest


# --- import -----------------------------------------------------------------------------------------------------

def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise ValidationError({"file": [_("This is not an Amity workspace export: it has no manifest.json.")]}) \
            from None
    except ValueError:
        raise ValidationError({"file": [_("manifest.json is not valid JSON.")]}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != "amity-workspace":
        raise ValidationError({"file": [_("This is not an Amity workspace export.")]})
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValidationError({"file": [_("This export has format version %(found)s; this Amity reads version "
                                          "%(expected)s.") % {"found": manifest.get("format_version"),
                                                               "expected": FORMAT_VERSION}]})
    return manifest


def check_migrations(manifest: dict[str, Any]) -> None:
    """The export and this database must be at the same migrations, or fields would not line up."""
    here = migration_heads()
    there = manifest.get("migration_heads") or {}
    differences = sorted(app for app in set(here) | set(there) if here.get(app) != there.get(app))
    if differences:
        details = "; ".join(f"{app}: {', '.join(there.get(app) or ['-'])} in the export, "
                            f"{', '.join(here.get(app) or ['-'])} here" for app in differences)
        raise ValidationError({"file": [_("The export and this database are at different migrations (%(details)s). "
                                          "Import into the Amity version that made the export, after "
                                          "“amity migrate”.") % {"details": details}]})


def workspace_in_use() -> bool:
    from amity.accounts.models import User
    from amity.contacts.models import Contact

    return User.objects.exists() or Contact.objects.exists()


def _insert(model: type[models.Model], objects: list[models.Model], fields: list[Any]) -> None:
    # raw=True: values go in exactly as given (auto_now and auto_now_add do not overwrite them).
    model._base_manager._insert(objects, fields=fields, raw=True)  # type: ignore[attr-defined]


def _import_model(archive: zipfile.ZipFile, model: type[models.Model]) -> int:
    fields = list(model._meta.concrete_fields)
    by_name = {f.attname: f for f in fields}
    m2m = _m2m_fields(model)
    permission_ids: dict[tuple[str, str], int] = {}
    if any(f.related_model is Permission for f in m2m):
        permission_ids = {(app, code): pk for pk, app, code in
                          Permission.objects.values_list("pk", "content_type__app_label", "codename")}
    name = file_name(model)
    if name not in archive.namelist():
        return 0
    count = 0
    objects: list[models.Model] = []
    links: dict[Any, list[Any]] = {f.name: [] for f in m2m}

    def flush() -> None:
        if objects:
            _insert(model, objects, fields)
            objects.clear()
        for field in m2m:
            rows = links[field.name]
            if rows:
                field.remote_field.through._base_manager.bulk_create(rows, batch_size=BATCH)
                rows.clear()

    with archive.open(name) as member:
        for line_no, line in enumerate(io.TextIOWrapper(member, encoding="utf-8"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                values = {attname: _load_value(by_name[attname], record.get(attname)) for attname in by_name}
            except (ValueError, KeyError, ValidationError) as exc:
                raise ValidationError({"file": [_("%(file)s line %(line)s cannot be read: %(reason)s")
                                                % {"file": name, "line": line_no, "reason": exc}]}) from None
            obj = model(**values)
            objects.append(obj)
            for field in m2m:
                through = field.remote_field.through
                source, target = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
                for other in record.get(field.name) or []:
                    if field.related_model is Permission:
                        other = permission_ids.get(tuple(other))
                        if other is None:
                            continue
                    links[field.name].append(through(**{source: obj.pk, target: other}))
            count += 1
            if len(objects) >= BATCH:
                flush()
    flush()
    return count


def _empty(model_list: list[type[models.Model]]) -> None:
    """Delete every covered row (reverse dependency order; foreign keys are checked at commit)."""
    for model in reversed(model_list):
        for field in _m2m_fields(model):
            field.remote_field.through._base_manager.all()._raw_delete(connection.alias)
        model._base_manager.all()._raw_delete(connection.alias)


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    throughs = [f.remote_field.through for m in model_list for f in _m2m_fields(m)]
    statements = connection.ops.sequence_reset_sql(no_style(), [*model_list, *throughs])
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def import_archive(source: IO[bytes] | str, *, force: bool = False, actor: Any = None) -> dict[str, int]:
    """Load a workspace archive into this database; return the record count per model.

    Raises ``ValidationError({"file": [reason]})`` for a file that is not an export, a version or migration
    mismatch, a database already in use (unless ``force``), or a record that cannot be read; nothing is written
    then.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError({"file": [_("This file is not a .zip workspace export (%(reason)s).")
                                        % {"reason": exc}]}) from None
    with archive:
        manifest = read_manifest(archive)
        check_migrations(manifest)
        if workspace_in_use() and not force:
            raise ValidationError({"file": [_("This database already holds users or contacts. Import into an "
                                              "empty, migrated database, or pass --force to replace everything "
                                              "in it.")]})
        model_list = covered_models()
        unknown = sorted(set(manifest.get("models") or []) - {m._meta.label_lower for m in model_list})
        if unknown:
            raise ValidationError({"file": [_("The export holds tables this Amity does not know: %(names)s.")
                                            % {"names": ", ".join(unknown)}]})
        counts: dict[str, int] = {}
        with transaction.atomic():
            _empty(model_list)
            for model in model_list:
                counts[model._meta.label_lower] = _import_model(archive, model)
            expected = manifest.get("counts") or {}
            wrong = {k: (v, counts.get(k)) for k, v in expected.items() if counts.get(k) != v}
            if wrong:
                raise ValidationError({"file": [_("The export is incomplete: %(details)s.") % {"details": ", ".join(
                    f"{k} {got} of {want}" for k, (want, got) in sorted(wrong.items()))}]})
            try:
                connection.check_constraints()  # a clear error now rather than a failed commit
            except IntegrityError as exc:
                raise ValidationError({"file": [_("The export's records do not fit together: %(reason)s")
                                                % {"reason": exc}]}) from None
            _reset_sequences(model_list)
            audit.record(AuditAction.CREATE, actor=actor, object_type="workspace",
                         changes={"import": {"records": sum(counts.values()), "models": len(counts),
                                             "exported_at": manifest.get("created_at"),
                                             "from": manifest.get("database_vendor")}})
    return counts


def archive_response(*, actor: Any) -> Any:
    """The archive as a download: written to a temporary file (flat memory), then streamed and deleted."""
    import os
    import tempfile

    from django.http import FileResponse

    handle, path = tempfile.mkstemp(suffix=".zip", prefix="amity-workspace-")
    try:
        with os.fdopen(handle, "wb") as out:
            manifest = write_archive(out, actor=actor)
        stream = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)
    stamp = manifest["created_at"][:19].replace(":", "").replace("-", "")
    response = FileResponse(stream, as_attachment=True, filename=f"amity-workspace-{stamp}.zip",
                            content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
