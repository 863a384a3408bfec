"""Database upkeep that the query planner depends on, and the raw bulk insert of the hot write paths."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Field, Lookup

INSERT_CHUNK = 5000
_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def time_ordered_uuid() -> uuid.UUID:
    """A version 7 UUID (RFC 9562): the Unix time in milliseconds, then 74 random bits (of 80 drawn).

    For rows written in bulk: ids made together sort together, so their unique index grows at one end instead of
    touching a random page of it per row (a random ``uuid4`` dirtied ~3,700 of the ~34,000 pages a 5,000-row
    contact import batch wrote into a 1,000,000-contact workspace). Still unguessable; it reveals when the record
    was created, which the record shows anyway."""
    random_bits = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (random_bits >> 68) << 64
                     | 0b10 << 62 | (random_bits & (1 << 62) - 1))


def refresh_planner_statistics() -> None:
    """Give SQLite's query planner table statistics (PostgreSQL's autovacuum does this by itself).

    Without them SQLite may pick a narrower index over a covering one (1M deals: board totals 140 ms instead of
    45 ms). ``analysis_limit`` samples each index, so this takes milliseconds even on large tables.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")


MAPPED_BYTES = 1 << 40  # as much of the file as SQLite allows (its builds cap it, commonly at 2 GB)


@contextmanager
def mapped_reads() -> Iterator[None]:
    """On SQLite, read the database file through memory-mapped I/O for the duration (PostgreSQL: nothing).

    For write batches that touch thousands of pages: another process's commit empties this connection's page
    cache, so each batch reads its index pages again, one ``read()`` call each, while it holds the write lock
    (ingest, 500 events: ~15 % more events per second with mapped reads). Not kept on: mapped pages count in the
    process's resident memory, which for a web worker should stay small (see docs/performance.md)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA mmap_size={MAPPED_BYTES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA mmap_size=0")


def _unlisted(model: Any, columns: tuple[str, ...]) -> list[Any]:
    """The fields a raw insert fills with their defaults; a default computed per row (a UUID, "now") must be
    listed by the caller, or every row of the statement would get the same value."""
    rest = [f for f in model._meta.concrete_fields if f.attname not in columns and not f.primary_key]
    per_row = [f.attname for f in rest if f.has_default() and callable(f.default) and f.default not in (dict, list)]
    if per_row:
        raise ValueError(f"insert_rows({model._meta.label}): give {', '.join(per_row)} (a default computed per row)")
    return rest


def _insert_statement(model: Any, columns: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """``INSERT`` for ``columns`` plus every other column (but the primary key, unless given) with its default, so a
    field added to the model later gets its default, not a failure. Cached per database, model and columns."""
    key = (connection.vendor, model._meta.label, columns)
    if key not in _INSERTS:
        meta = model._meta
        by_name = {f.attname: f for f in meta.concrete_fields}
        names = [by_name[c].column for c in columns]
        rest = _unlisted(model, columns)
        extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
        names += [f.column for f in rest]
        quote = connection.ops.quote_name
        # Names come from model metadata (quoted), values are parameters.
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            quote(meta.db_table), ", ".join(quote(n) for n in names), ", ".join(["%s"] * len(names)))
        _INSERTS[key] = (sql, extra)
    return _INSERTS[key]


def insert_rows(model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *,
                ignore_conflicts: bool = False, returning: bool = False, cursor: Any = None) -> list[int]:
    """INSERT plain tuples of database-ready values, skipping the ORM (whose ``bulk_create`` spends more per row
    building and preparing instances than the database spends storing them). ``ignore_conflicts`` skips rows that
    hit a unique constraint, as ``bulk_create`` does; ``returning`` gives the new ids in the rows' order.

    SQLite: ``executemany`` in chunks (no round trips in-process), or multi-row ``VALUES … RETURNING``.
    PostgreSQL: one ``COPY``, or, to skip conflicts or return ids, one ``INSERT … SELECT FROM unnest(column arrays)``
    per chunk: per-row statements cost a round trip and a parse each (500 events: ~40 ms → ~4 ms). Values may be
    plain Python values there (aware datetimes, dates, dicts/lists or ``Jsonb`` for JSON columns)."""
    if not rows:
        return []
    if cursor is None:
        with connection.cursor() as own:
            return insert_rows(model, columns, rows, ignore_conflicts=ignore_conflicts, returning=returning,
                               cursor=own)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if connection.vendor == "postgresql":
        return _insert_pg(model, tuple(columns), rows, tail, returning, cursor)
    sql, extra = _insert_statement(model, tuple(columns))
    if not returning:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start:start + INSERT_CHUNK]
            cursor.executemany(sql + tail, [r + extra for r in chunk] if extra else chunk)
        return []
    head, marks = sql.rsplit(" VALUES ", 1)
    width = len(columns) + len(extra)
    step = max(1, 900 // width)  # SQLite's bound-parameter limit
    pk = connection.ops.quote_name(model._meta.pk.column)
    ids: list[int] = []
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        cursor.execute(f"{head} VALUES {', '.join([marks] * len(chunk))}{tail} RETURNING {pk}",
                       [v for row in chunk for v in (row + extra)])
        ids.extend(r[0] for r in cursor.fetchall())
    return ids


@dataclass(frozen=True)
class _PgInsert:
    """PostgreSQL statements for inserting ``columns`` of a model, the unlisted columns given their defaults."""

    unnest_sql: str  # INSERT … SELECT u.a, u.b::jsonb, %s, … FROM unnest(%s::type[], …) AS u(…)
    unnest_extra: tuple[Any, ...]  # the defaults, as the statement's first parameters
    copy_sql: str  # COPY t (…) FROM STDIN
    copy_extra: tuple[Any, ...]  # the defaults, appended to each row
    is_json: tuple[bool, ...]  # which listed columns are JSON (sent as text)
    copy_as_text: tuple[tuple[int, Any], ...]  # (listed column, function) for the values COPY gets as text


_PG_INSERTS: dict[tuple[str, tuple[str, ...]], _PgInsert] = {}


def _pg_insert(model: Any, columns: tuple[str, ...]) -> _PgInsert:
    key = (model._meta.label, columns)
    if key not in _PG_INSERTS:
        meta = model._meta
        quote = connection.ops.quote_name
        by_name = {f.attname: f for f in meta.concrete_fields}
        listed = [by_name[c] for c in columns]
        rest = _unlisted(model, columns)
        arrays, is_json = _pg_arrays(listed)
        aliases = [f"c{i}" for i in range(len(listed))]
        select = [f"u.{a}::jsonb" if j else f"u.{a}" for a, j in zip(aliases, is_json, strict=True)]
        select += [f"%s::{_cast_type(f)}" for f in rest]
        table, names = quote(meta.db_table), ", ".join(quote(f.column) for f in listed + rest)
        _PG_INSERTS[key] = _PgInsert(
            unnest_sql=(f"INSERT INTO {table} ({names}) SELECT {', '.join(select)} "  # noqa: S608
                        f"FROM unnest({', '.join(arrays)}) AS u({', '.join(aliases)})"),
            unnest_extra=tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest),
            copy_sql=f"COPY {table} ({names}) FROM STDIN",
            copy_extra=tuple(json_text(f.get_default()) if f.get_internal_type() == "JSONField"
                             else f.get_db_prep_save(f.get_default(), connection) for f in rest),
            is_json=is_json,
            copy_as_text=tuple((i, json_text) if j else (i, _copy_datetime)
                               for i, (f, j) in enumerate(zip(listed, is_json, strict=True))
                               if j or f.get_internal_type() == "DateTimeField"))
    return _PG_INSERTS[key]


def _pg_arrays(fields: list[Any]) -> tuple[list[str], tuple[bool, ...]]:
    """One array parameter per field, cast to the column's type (JSON travels as text), and which are JSON."""
    is_json = tuple(f.get_internal_type() == "JSONField" for f in fields)
    return ["%s::text[]" if j else f"%s::{_cast_type(f)}[]" for f, j in zip(fields, is_json, strict=True)], is_json


def _cast_type(field: Any) -> str:
    """The PostgreSQL type to cast a parameter to: the column's, without its modifiers ("varchar", not
    "varchar(64)"). An explicit cast to varchar(64) silently cuts a longer value to 64 characters; without the
    length the value reaches the column whole, which refuses it ("value too long")."""
    return _TYPE_MODIFIERS.sub("", field.db_type(connection))


_TYPE_MODIFIERS = re.compile(r"\(.*?\)")


def _column_arrays(rows: list[tuple[Any, ...]], is_json: tuple[bool, ...]) -> list[str]:
    """Rows → one array literal per column (the unnest parameters), JSON values serialised."""
    return [pg_array(json_text(v) for v in col) if j else pg_array(col)
            for col, j in zip(zip(*rows, strict=True), is_json, strict=True)]


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (``{"a","b c",NULL}``) of plain values, for a ``%s::type[]`` parameter. Built
    here because psycopg adapts a list element by element in Python: 500 keys cost 1.5 ms that way, 0.25 ms so.
    Every element but an integer is double-quoted with its backslashes and quotes escaped (the array syntax);
    datetimes, dates, UUIDs and decimals are written as ``str()`` gives them, which PostgreSQL reads back."""
    values = values if isinstance(values, list) else list(values)
    if not values:
        return "{}"
    types = set(map(type, values))
    # Fast paths for a batch's usual arrays: one join in C instead of a Python step per element.
    if types == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if types <= _PLAIN_TEXT_TYPES:  # their str() holds no quote or backslash
        return '{"' + '","'.join(map(str, values)) + '"}'
    if types == {str}:
        body = '","'.join(values)
        if body.count('"') == 2 * (len(values) - 1) and "\\" not in body:  # no element holds either
            return '{"' + body + '"}'
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
        elif isinstance(v, int) and not isinstance(v, bool):
            parts.append(str(v))
        else:
            text = v if isinstance(v, str) else str(v)
            parts.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


_PLAIN_TEXT_TYPES = {dt.datetime, dt.date, uuid.UUID}


@Field.register_lookup
class OneOf(Lookup):
    """``field__one_of=[…]``: ``IN`` for hundreds of keys sent as one parameter, so the statement's text stays the
    same whatever the count (``__in`` writes one placeholder per key; psycopg parses such a statement anew each
    time, ~3 ms for 500 keys). PostgreSQL: ``= ANY(%s::type[])``; SQLite: ``IN (SELECT value FROM json_each(%s))``.
    Both probe the column's index once per key."""

    lookup_name = "one_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)  # the column, compiled and quoted by Django
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs if v is not None]
        return (f"{lhs} {_one_of_sql(connection.vendor, _cast_type(field))}",
                (*params, _one_of_param(connection.vendor, values)))


def _one_of_sql(vendor: str, cast: str) -> str:
    """What follows a column to say it is one of the keys given as one parameter (``_one_of_param``)."""
    return f"= ANY(%s::{cast}[])" if vendor == "postgresql" else "IN (SELECT value FROM json_each(%s))"


def _one_of_param(vendor: str, values: list[Any]) -> str:
    return pg_array(values) if vendor == "postgresql" else json.dumps(values, default=str)


def rows_by_keys(model: Any, key: str, keys: Iterable[Any], columns: tuple[str, ...], *,
                 lower: bool = False) -> list[tuple[Any, ...]]:
    """``SELECT columns WHERE key`` is one of ``keys`` (with ``lower``, ``LOWER(key)``: give lower-cased keys), as
    the driver returns the rows: for simple columns (integers, text) on the hot path, where the ORM's building of
    the query and of each row cost more than the database's work (~0.5 ms a query for ingest's lookups). The
    statement is built once per model, key and columns; the keys travel as one parameter, as in ``one_of``."""
    cache_key = (connection.vendor, model, key, columns, lower)
    statement = _KEYED_SELECTS.get(cache_key)
    if statement is None:
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        quote = connection.ops.quote_name
        column = f"LOWER({quote(by_name[key].column)})" if lower else quote(by_name[key].column)
        match = _one_of_sql(connection.vendor, "text" if lower else _cast_type(by_name[key]))
        statement = (f"SELECT {', '.join(quote(by_name[c].column) for c in columns)} "  # noqa: S608
                     f"FROM {quote(model._meta.db_table)} WHERE {column} {match}")
        _KEYED_SELECTS[cache_key] = statement
    with connection.cursor() as cursor:
        cursor.execute(statement, [_one_of_param(connection.vendor, keys if isinstance(keys, list) else list(keys))])
        return cursor.fetchall()


_KEYED_SELECTS: dict[tuple[str, Any, str, tuple[str, ...], bool], str] = {}


def json_text(value: Any) -> str | None:
    """A JSON column's value as the text the raw writes send (``None`` stays NULL)."""
    if value is None:
        return None
    value = getattr(value, "obj", value)  # a psycopg Jsonb carries .obj
    if not value and isinstance(value, dict):
        return "{}"  # most events' properties
    try:
        return json.dumps(value)  # the C encoder; DjangoJSONEncoder (Decimal, datetime …) only when it is needed
    except TypeError:
        from django.core.serializers.json import DjangoJSONEncoder

        return json.dumps(value, cls=DjangoJSONEncoder)


@lru_cache(maxsize=4096)
def _copy_datetime(value: Any) -> Any:
    """A datetime as the text PostgreSQL reads back exactly (None and text as they are); cached, as a batch's rows
    share their times. psycopg's own dumper costs ~3.5 µs a datetime in ``COPY`` (behaviour events have two: 3.5 ms
    of a 500-event batch's 4.4 ms of formatting)."""
    return value if value is None or isinstance(value, str) else str(value)


def _copy_rows(plan: _PgInsert, rows: list[tuple[Any, ...]], cursor: Any) -> None:
    """PostgreSQL ``COPY … FROM STDIN``: psycopg formats the rows in C (the unnest statement's text arrays are
    escaped in Python: ~45 ms of 500 events' 75), but for JSON and datetimes, sent as text (``copy_as_text``)."""
    as_text = plan.copy_as_text
    extra = plan.copy_extra
    # The raw psycopg cursor's errors are turned into Django's (IntegrityError …), as cursor.execute's are.
    with connection.wrap_database_errors, cursor.cursor.copy(plan.copy_sql) as copy:
        for row in rows:
            if as_text:
                values = list(row)
                for i, to_text in as_text:
                    values[i] = to_text(values[i])
                row = tuple(values)
            copy.write_row(row + extra if extra else row)


def _insert_pg(model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]], tail: str, returning: bool,
               cursor: Any) -> list[int]:
    plan = _pg_insert(model, columns)  # checks the columns before anything is sent
    if not returning:
        # COPY cannot skip conflicting rows: try it in a savepoint, and only if a row conflicted (a concurrent
        # writer, rare) insert again with ON CONFLICT DO NOTHING.
        from django.db import IntegrityError, transaction

        try:
            with transaction.atomic(savepoint=bool(tail)):
                _copy_rows(plan, rows, cursor)
            return []
        except IntegrityError:
            if not tail:
                raise
    pk = connection.ops.quote_name(model._meta.pk.column)
    ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        cursor.execute(plan.unnest_sql + tail + (f" RETURNING {pk}" if returning else ""),
                       [*plan.unnest_extra, *_column_arrays(rows[start:start + INSERT_CHUNK], plan.is_json)])
        if returning:
            ids.extend(r[0] for r in cursor.fetchall())
    return ids


def update_rows(model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, forward_only: str = "",
                forward_by: dt.timedelta | None = None, cursor: Any = None) -> None:
    """UPDATE ``columns`` of many rows by primary key: each row is ``(*values, pk)`` of database-ready values.
    ``forward_only`` names one of the columns that may only move forward (the row is left alone when its stored
    value is not NULL and not smaller); with ``forward_by`` (a datetime column) it must move by at least that much,
    so a row already close to the new value is not written at all (the database compares: the caller need not read
    the stored values first). SQLite: one ``executemany``; PostgreSQL: one ``UPDATE … FROM unnest(…)``."""
    if not rows:
        return
    if cursor is None:
        with connection.cursor() as own:
            update_rows(model, columns, rows, forward_only=forward_only, forward_by=forward_by, cursor=own)
            return
    # In primary-key order, so two transactions updating some of the same rows lock them in the same order
    # (in any order, PostgreSQL found deadlocks between concurrent ingest batches).
    rows = sorted(rows, key=lambda r: r[-1])
    meta = model._meta
    quote = connection.ops.quote_name
    by_name = {f.attname: f for f in meta.concrete_fields}
    fields = [by_name[c] for c in columns]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    if connection.vendor != "postgresql":
        guard = ""
        if forward_only:
            col = quote(by_name[forward_only].column)
            # SQLite's datetime() reads the stored text form; its result (to the second) still compares as text.
            threshold = f"datetime(%s, '-{int(forward_by.total_seconds())} seconds')" if forward_by else "%s"
            guard = f" AND ({col} IS NULL OR {col} < {threshold})"
            at = columns.index(forward_only)
            rows = [r + (r[at],) for r in rows]
        sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s{guard}", rows)  # noqa: S608
        return
    arrays, is_json = _pg_arrays(fields)
    aliases = [f"c{i}" for i in range(len(fields))]
    sets = ", ".join(f"{quote(f.column)} = u.{a}{'::jsonb' if j else ''}"
                     for f, a, j in zip(fields, aliases, is_json, strict=True))
    arrays.append(f"%s::{_cast_type(meta.pk)}[]")
    guard = ""
    values: list[Any] = _column_arrays(rows, (*is_json, False))  # the last column is the key
    if forward_only:
        col, alias = quote(by_name[forward_only].column), aliases[columns.index(forward_only)]
        guard = f" AND ({table}.{col} IS NULL OR {table}.{col} < u.{alias}{' - %s' if forward_by else ''})"
        if forward_by:
            values.append(forward_by)
    cursor.execute(f"UPDATE {table} SET {sets} FROM unnest({', '.join(arrays)}) AS u({', '.join(aliases)}, pk) "  # noqa: S608
                   f"WHERE {table}.{pk} = u.pk{guard}", values)


# Taken (exclusive) by every removal of contacts before it deletes them, and shared by writers of rows that point at
# contacts without a foreign key (behaviour events), so that no such row is left pointing at a removed contact.
CONTACT_REMOVAL_LOCK = 0x616D697479_0001  # "amity", 1


def lock_for_transaction(key: int, *, shared: bool = False) -> None:
    """Take a named lock until the current transaction ends: shared holders run together; an exclusive holder
    waits for them and keeps new ones waiting. PostgreSQL: an advisory lock. SQLite: nothing, as a transaction
    that writes already holds the database's one write lock (Amity opens them ``IMMEDIATE``)."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_for_transaction needs a transaction (transaction.atomic)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock{'_shared' if shared else ''}(%s)", [key])


def is_deadlock(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL giving up on a deadlock or a serialisation conflict (the
    transaction can simply run again)."""
    return getattr(exc.__cause__, "sqlstate", None) in {"40P01", "40001"}
