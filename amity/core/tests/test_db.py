"""SQLite gets query-planner statistics, so it picks the covering indexes the big lists rely on."""

from __future__ import annotations

import pytest
from django.db import connection

from amity.core.db import refresh_planner_statistics, time_ordered_uuid
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


# --- raw bulk writes (the ingest and import hot paths): the same results on SQLite and PostgreSQL ----------------

def test_insert_rows_fills_unlisted_columns_and_returns_ids_in_order():
    from amity.core.db import insert_rows
    from amity.core.models import Event

    columns = ("type", "subject_type", "subject_id", "occurred_at", "payload")
    ids = insert_rows(Event, columns, [
        ("probe.one", "probe", 1, _db_time(connection, "2026-05-06T10:00:00Z"), _db_json(connection, {"n": 1, "name": "Ada"})),
        ("probe.two", "probe", 2, _db_time(connection, "2026-05-06T11:00:00Z"), _db_json(connection, {"n": 2})),
    ], returning=True)
    first, second = Event.objects.get(pk=ids[0]), Event.objects.get(pk=ids[1])
    assert (first.type, first.payload, second.type, second.payload) == ("probe.one", {"n": 1, "name": "Ada"},
                                                                        "probe.two", {"n": 2})
    assert first.status == Event._meta.get_field("status").get_default() and first.attempts == 0


def test_insert_rows_can_skip_rows_that_conflict():
    from amity.commerce.models import Visitor
    from amity.core.db import insert_rows

    when = _db_time(connection, "2026-05-06T10:00:00Z")
    insert_rows(Visitor, ("visitor_id", "first_seen_at", "last_seen_at"), [("v-1", when, when)])
    insert_rows(Visitor, ("visitor_id", "first_seen_at", "last_seen_at"), [("v-1", when, when), ("v-2", when, when)],
                ignore_conflicts=True)
    assert sorted(Visitor.objects.values_list("visitor_id", flat=True)) == ["v-1", "v-2"]


def test_update_rows_sets_columns_by_key_and_only_moves_forward_when_asked():
    import datetime as dt

    from amity.contacts.models import Contact
    from amity.core.db import update_rows

    early, late = make_contact(first_name="Early"), make_contact(first_name="Late")
    Contact.objects.filter(pk=early.pk).update(last_activity_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    Contact.objects.filter(pk=late.pk).update(last_activity_at=dt.datetime(2026, 5, 9, tzinfo=dt.UTC))
    moment = _db_time(connection, "2026-05-06T10:00:00Z")
    update_rows(Contact, ("last_activity_at",), [(moment, late.pk), (moment, early.pk)],
                forward_only="last_activity_at")
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.last_activity_at == dt.datetime(2026, 5, 6, 10, tzinfo=dt.UTC)  # moved forward
    assert late.last_activity_at == dt.datetime(2026, 5, 9, tzinfo=dt.UTC)  # already later: left alone
    update_rows(Contact, ("first_name", "last_name"), [("Ada", "Lovelace", early.pk)])
    early.refresh_from_db()
    assert (early.first_name, early.last_name) == ("Ada", "Lovelace")


def test_update_rows_moves_forward_only_by_at_least_the_margin_when_asked():
    """``forward_by``: a stored time already within the margin of the new one is left alone (the database compares),
    one further back — or none — is moved; the margin holds across the seconds' fraction on both databases."""
    import datetime as dt

    from amity.contacts.models import Contact
    from amity.core.db import update_rows

    close, far, never = (make_contact(first_name=n) for n in ("Close", "Far", "Never"))
    Contact.objects.filter(pk=close.pk).update(last_activity_at=dt.datetime(2026, 5, 6, 9, 59, 30, 500000, tzinfo=dt.UTC))
    Contact.objects.filter(pk=far.pk).update(last_activity_at=dt.datetime(2026, 5, 6, 9, 58, 59, tzinfo=dt.UTC))
    Contact.objects.filter(pk=never.pk).update(last_activity_at=None)
    moment = _db_time(connection, "2026-05-06T10:00:00.250000Z")
    update_rows(Contact, ("last_activity_at",), [(moment, c.pk) for c in (close, far, never)],
                forward_only="last_activity_at", forward_by=dt.timedelta(minutes=1))
    after = dict(Contact.objects.filter(pk__in=[close.pk, far.pk, never.pk]).values_list("pk", "last_activity_at"))
    new_time = dt.datetime(2026, 5, 6, 10, 0, 0, 250000, tzinfo=dt.UTC)
    assert after[close.pk] == dt.datetime(2026, 5, 6, 9, 59, 30, 500000, tzinfo=dt.UTC)  # 30 s back: left alone
    assert after[far.pk] == new_time and after[never.pk] == new_time


def _db_time(conn, text):
    import datetime as dt

    from amity.core.models import Event

    return Event._meta.get_field("occurred_at").get_db_prep_save(dt.datetime.fromisoformat(text), conn)


def _db_json(conn, value):
    from amity.core.models import Event

    return Event._meta.get_field("payload").get_db_prep_save(value, conn)


def test_insert_rows_refuses_to_share_a_per_row_default():
    from amity.commerce.models import Visitor
    from amity.core.db import insert_rows
    from amity.sales.models import Product

    with pytest.raises(ValueError, match="uuid"):  # every product would get the same UUID
        insert_rows(Product, ("sku", "name"), [("A-1", "A"), ("B-1", "B")])
    assert not Product.objects.exists() and not Visitor.objects.exists()


# --- one_of: many keys as one parameter (the hot paths' lookups) ------------------------------------------------

AWKWARD = ['say "hi"', "back\\slash", "a,b", "{braces}", " spaced ", "NULL", "", "ünïcødé 中文", "it's"]


def test_one_of_matches_exactly_the_given_values_however_they_are_written():
    from amity.commerce.models import Visitor
    from amity.core.db import insert_rows

    when = _db_time(connection, "2026-05-06T10:00:00Z")
    insert_rows(Visitor, ("visitor_id", "first_seen_at", "last_seen_at"),
                [(v, when, when) for v in [*AWKWARD, "not asked"]])
    found = set(Visitor.objects.filter(visitor_id__one_of=AWKWARD).values_list("visitor_id", flat=True))
    assert found == set(AWKWARD)
    assert not Visitor.objects.filter(visitor_id__one_of=[]).exists()
    assert list(Visitor.objects.filter(visitor_id__one_of=["not asked", None]).values_list("visitor_id", flat=True)) \
        == ["not asked"]


def test_rows_by_keys_returns_the_rows_of_exactly_the_given_keys():
    from amity.commerce.models import Visitor
    from amity.core.db import insert_rows, rows_by_keys

    when = _db_time(connection, "2026-05-06T10:00:00Z")
    ada = make_contact(first_name="Ada")
    insert_rows(Visitor, ("visitor_id", "contact_id", "first_seen_at", "last_seen_at"),
                [(v, ada.pk if v == AWKWARD[0] else None, when, when) for v in [*AWKWARD, "not asked"]])
    rows = rows_by_keys(Visitor, "visitor_id", set(AWKWARD), ("visitor_id", "contact_id"))
    assert sorted(rows, key=repr) == sorted([(v, ada.pk if v == AWKWARD[0] else None) for v in AWKWARD], key=repr)
    assert rows_by_keys(Visitor, "visitor_id", ["nobody"], ("visitor_id",)) == []


def test_one_of_takes_keys_uuids_and_datetimes():
    import datetime as dt

    from amity.contacts.models import Contact

    ada, bob, _cy = (make_contact(first_name=n) for n in ("Ada", "Bob", "Cy"))
    assert set(Contact.objects.filter(pk__one_of=[ada.pk, bob.pk]).values_list("first_name", flat=True)) == {"Ada", "Bob"}
    assert list(Contact.objects.filter(uuid__one_of={bob.uuid}).values_list("first_name", flat=True)) == ["Bob"]
    moment = dt.datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=dt.UTC)
    Contact.objects.filter(pk=ada.pk).update(last_activity_at=moment)
    assert list(Contact.objects.filter(last_activity_at__one_of=[moment]).values_list("pk", flat=True)) == [ada.pk]


def test_update_rows_keeps_json_text_with_quotes_and_backslashes():
    from amity.core.db import insert_rows, update_rows
    from amity.core.models import Event

    [pk] = insert_rows(Event, ("type", "subject_type", "subject_id", "occurred_at", "payload"),
                       [("probe", "probe", 1, _db_time(connection, "2026-05-06T10:00:00Z"), _db_json(connection, {}))],
                       returning=True)
    payload = {"query": AWKWARD, "nested": {"path": "C:\\temp\\{x}"}}
    update_rows(Event, ("payload",), [(_db_json(connection, payload), pk)])
    assert Event.objects.get(pk=pk).payload == payload


def test_mapped_reads_are_on_only_for_the_block_even_when_it_fails(tmp_path, monkeypatch):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from amity.core import db

    if connection.vendor != "sqlite":
        pytest.skip("memory-mapped reads are a SQLite setting; on PostgreSQL the block only runs")
    # The test database lives in memory, where mmap does not apply: a database file, as in production.
    on_file = DatabaseWrapper({**connection.settings_dict, "NAME": str(tmp_path / "mapped.sqlite3")}, alias="mapped")
    monkeypatch.setattr(db, "connection", on_file)

    def mapped() -> int:
        with on_file.cursor() as cursor:
            cursor.execute("PRAGMA mmap_size")
            return cursor.fetchone()[0]

    try:
        with db.mapped_reads():
            assert mapped() > 0
        assert mapped() == 0
        with pytest.raises(RuntimeError), db.mapped_reads():
            raise RuntimeError("the batch failed")
        assert mapped() == 0  # a web worker's memory stays small after a failed batch too
    finally:
        on_file.close()


def test_postgresql_connections_plan_for_cached_data():
    if connection.vendor != "postgresql":
        pytest.skip("random_page_cost is a PostgreSQL planner setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"  # AMITY_PG_OPTIONS: index probes over whole-table scans for a batch's keys


def test_raw_writes_never_cut_a_too_long_value_short():
    from django.db import DataError, transaction

    from amity.commerce.models import Visitor
    from amity.core.db import insert_rows, update_rows

    when = _db_time(connection, "2026-05-06T10:00:00Z")
    too_long = "v" * 70  # visitor_id holds 64 characters

    def insert_returning(_pk: int) -> None:
        insert_rows(Visitor, ("visitor_id", "first_seen_at", "last_seen_at"), [(too_long, when, when)], returning=True)

    def update(pk: int) -> None:
        update_rows(Visitor, ("visitor_id",), [(too_long, pk)])

    # The statements that send columns as arrays on PostgreSQL.
    for write in (insert_returning, update):
        [pk] = insert_rows(Visitor, ("visitor_id", "first_seen_at", "last_seen_at"), [("short", when, when)],
                           returning=True)
        try:
            with transaction.atomic():
                write(pk)
        except DataError:
            pass  # PostgreSQL refuses it, as an ORM save would
        assert not Visitor.objects.filter(visitor_id=too_long[:64]).exists()  # SQLite keeps it whole
        Visitor.objects.all().delete()


def test_time_ordered_uuids_are_version_7_unique_and_sort_by_the_millisecond_they_were_made(monkeypatch):
    import time

    moments = iter([1_700_000_000_000_000_000, 1_700_000_000_001_000_000, 1_700_000_000_001_000_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(moments))
    first, second, third = time_ordered_uuid(), time_ordered_uuid(), time_ordered_uuid()
    assert {u.version for u in (first, second, third)} == {7}
    assert {u.variant for u in (first, second, third)} == {"specified in RFC 4122"}
    assert first < second and first < third  # a later millisecond sorts after
    assert second != third  # the same millisecond: the random bits tell them apart
    assert second.int >> 80 == third.int >> 80 == 1_700_000_000_001
