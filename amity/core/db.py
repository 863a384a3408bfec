"""Database upkeep that the query planner depends on, and the raw bulk insert of the hot write paths."""

from __future__ import annotations

from typing import Any

from django.db import connection

INSERT_CHUNK = 5000
_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


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


def _insert_statement(model: Any, columns: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """``INSERT`` for ``columns`` plus every other column (but the primary key, unless given) with its default, so a
    field added to the model later gets its default, not a failure. Cached per database, model and columns."""
    key = (connection.vendor, model._meta.label, columns)
    if key not in _INSERTS:
        meta = model._meta
        by_name = {f.attname: f for f in meta.concrete_fields}
        names = [by_name[c].column for c in columns]
        rest = [f for f in meta.concrete_fields if f.attname not in columns and not f.primary_key]
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
    hit a unique constraint, as ``bulk_create`` does; ``returning`` gives the new ids in the rows' order (multi-row
    ``VALUES … RETURNING``), otherwise ``executemany`` in chunks."""
    if not rows:
        return []
    if cursor is None:
        with connection.cursor() as own:
            return insert_rows(model, columns, rows, ignore_conflicts=ignore_conflicts, returning=returning,
                               cursor=own)
    sql, extra = _insert_statement(model, tuple(columns))
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if not returning:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start:start + INSERT_CHUNK]
            cursor.executemany(sql + tail, [r + extra for r in chunk] if extra else chunk)
        return []
    head, marks = sql.rsplit(" VALUES ", 1)
    width = len(columns) + len(extra)
    step = max(1, 900 // width) if connection.vendor == "sqlite" else 1000  # SQLite's bound-parameter limit
    pk = connection.ops.quote_name(model._meta.pk.column)
    ids: list[int] = []
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        cursor.execute(f"{head} VALUES {', '.join([marks] * len(chunk))}{tail} RETURNING {pk}",
                       [v for row in chunk for v in (row + extra)])
        ids.extend(r[0] for r in cursor.fetchall())
    return ids
