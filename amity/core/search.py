"""Global search behind one interface: SQLite FTS5 or PostgreSQL tsvector + pg_trgm.

Index: ``index_contact`` / ``index_company`` write one ``SearchDocument`` per record in the caller's transaction
(so a record is findable the moment it is saved). Query: ``search(user, q)`` finds candidates in the engine,
ranks them, and passes them through the permission layer before anything is returned.

Matching: every word of the query is a prefix of some word of the record (name, email, phone, domain).
Typo tolerance: when the prefix match finds too little, a trigram match (FTS5 ``trigram`` tokenizer /
``pg_trgm`` similarity) supplies near misses, re-ranked with rapidfuzz.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.db import connection
from rapidfuzz import fuzz

from amity.core.db import update_rows
from amity.core.models import SearchDocument

CANDIDATES = 300
TYPO_SIMILARITY = 75  # rapidfuzz ratio: "strnage" ~ "strange" (86), "old" !~ "name" (29)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"([\u3400-\u9fff\uf900-\ufaff])")


@dataclass(frozen=True)
class Hit:
    kind: str
    obj: Any
    score: float


def _spread_cjk(text: str) -> str:
    """Put spaces between CJK characters so each is a word: "王小明" matches "小明" and "王"."""
    return _CJK.sub(r" \1 ", text)


PHONE_FORMS_CACHE = 100_000  # numbers whose forms are remembered (imports and reindexing repeat them)
_PHONE_FORMS: dict[str, tuple[str, ...]] = {}


def _phone_forms(e164: str) -> tuple[str, ...]:
    """The forms of a stored number that search matches: "4915112345678" and "15112345678"."""
    if not e164:
        return ()
    forms = _PHONE_FORMS.get(e164)
    if forms is None:
        try:
            forms = (e164.lstrip("+"), _national_number(e164) or str(phonenumbers.parse(e164).national_number))
        except phonenumbers.NumberParseException:
            forms = (e164.lstrip("+"),)
        remember_phone_forms({e164: forms})
    return forms


def _national_number(e164: str) -> str | None:
    """What ``phonenumbers.parse(e164).national_number`` gives for a stored E.164 number, without parsing it
    (~40 µs): country calling codes are prefix-free, so the first 1–3 digits that are one are the number's (as the
    parser decides too). None for anything that is not "+" and digits."""
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isascii() or not digits.isdigit():
        return None
    for length in (1, 2, 3):
        if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE and len(digits) > length:
            return str(int(digits[length:]))
    return None


def remember_phone_forms(forms: dict[str, tuple[str, ...]]) -> None:
    """Take phone forms worked out elsewhere (the import's reading process) so they are not parsed again here."""
    if len(_PHONE_FORMS) + len(forms) > PHONE_FORMS_CACHE:
        _PHONE_FORMS.clear()
    _PHONE_FORMS.update(forms)


def contact_document(contact: Any, emails: list[str], phones: list[str]) -> tuple[str, str]:
    company = contact.company.name if contact.company_id and contact.company else ""
    parts = [contact.display_name, contact.first_name, contact.last_name, *emails, company]
    for phone in phones:
        parts.extend(_phone_forms(phone))
    return contact.display_name or contact.email, _spread_cjk(" ".join(p for p in parts if p))


def company_document(company: Any) -> tuple[str, str]:
    parts = [company.name, company.domain, *_phone_forms(company.phone)]
    return company.name, _spread_cjk(" ".join(p for p in parts if p))


def _write(kind: str, obj_id: int, title: str, body: str) -> None:
    SearchDocument.objects.update_or_create(kind=kind, obj_id=obj_id, defaults={"title": title[:300], "body": body})


def index_contact(contact: Any) -> None:
    emails = list(contact.emails.values_list("email", flat=True))
    phones = list(contact.phones.values_list("number", flat=True))
    _write("contact", contact.pk, *contact_document(contact, emails, phones))


def index_company(company: Any) -> None:
    _write("company", company.pk, *company_document(company))


def remove(kind: str, obj_id: int) -> None:
    SearchDocument.objects.filter(kind=kind, obj_id=obj_id).delete()


def insert_documents(rows: Iterable[tuple[str, int, str, str]], cursor: Any = None) -> None:
    """Insert new documents, rows of (kind, obj_id, title, body), in one statement.

    On SQLite every statement that writes an FTS5 table (here through the insert trigger) flushes the FTS5
    in-memory index to a new segment when it ends, so ``executemany`` (one statement per row) paid a segment
    write and merge per document: ~300 µs per document against a 100,000-document index. One
    ``INSERT … SELECT … FROM json_each(?)`` for the whole batch costs ~35 µs per document. The caller makes sure
    no document exists yet for these records (``searchdocument_unique``)."""
    if cursor is None:
        with connection.cursor() as own:
            insert_documents(rows, own)
        return
    batch = [(k, i, t[:300], b) for k, i, t, b in rows]
    if not batch:
        return
    table = connection.ops.quote_name(SearchDocument._meta.db_table)
    if connection.vendor == "sqlite":
        cursor.execute(f"INSERT INTO {table} (kind, obj_id, title, body) "  # noqa: S608 - a constant table name
                       "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
                       "json_extract(value, '$[3]') FROM json_each(%s)", [json.dumps(batch, ensure_ascii=False)])
        return
    cursor.executemany(f"INSERT INTO {table} (kind, obj_id, title, body) VALUES (%s, %s, %s, %s)", batch)  # noqa: S608


def rewrite_documents(rows: list[tuple[int, str, str]]) -> None:
    """Rewrite stored documents in place, rows of (document id, title, body), in one statement for the same reason
    as ``insert_documents``; a rewrite keeps the document's row and key (a delete and an insert moved both)."""
    batch = [(i, t[:300], b) for i, t, b in rows]
    if not batch:
        return
    if connection.vendor != "sqlite":
        update_rows(SearchDocument, ("title", "body"), [(t, b, i) for i, t, b in batch])
        return
    table = connection.ops.quote_name(SearchDocument._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET title = u.value ->> 1, body = u.value ->> 2 "  # noqa: S608 - a constant table
                       f"FROM json_each(%s) AS u WHERE {table}.id = u.value ->> 0", [json.dumps(batch, ensure_ascii=False)])


def bulk_index(rows: list[tuple[str, int, str, str]]) -> None:
    """Index many records at once (demo data, imports): rows of (kind, obj_id, title, body)."""
    SearchDocument.objects.bulk_create(
        [SearchDocument(kind=k, obj_id=i, title=t[:300], body=b) for k, i, t, b in rows], batch_size=2000
    )


# --- querying ---------------------------------------------------------------------------------------------------

def _tokens(q: str) -> list[str]:
    return _TOKEN.findall(_spread_cjk(q).lower())


def _sqlite_candidates(q: str, kinds: tuple[str, ...]) -> list[tuple[str, int, str, str]]:
    tokens = _tokens(q)
    if not tokens:
        return []
    placeholders = ",".join("%s" for _ in kinds)
    match = " ".join('"' + t.replace('"', '""') + '"*' for t in tokens)
    # Only placeholders and constants are interpolated; every value is a bound parameter.
    sql = (
        "SELECT d.kind, d.obj_id, d.title, d.body FROM search_fts f JOIN core_searchdocument d ON d.id = f.rowid "
        f"WHERE search_fts MATCH %s AND d.kind IN ({placeholders}) LIMIT {CANDIDATES}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, *kinds])
        rows = cursor.fetchall()
        compact = "".join(tokens)
        if len(rows) < 10 and len(compact) >= 3:
            # Substrings and near misses: any of the query's trigrams, best bm25 first.
            grams = {compact[i : i + 3] for i in range(len(compact) - 2)}
            tri_match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
            cursor.execute(
                "SELECT d.kind, d.obj_id, d.title, d.body FROM search_trigram t "
                "JOIN core_searchdocument d ON d.id = t.rowid "
                f"WHERE search_trigram MATCH %s AND d.kind IN ({placeholders}) ORDER BY t.rank LIMIT {CANDIDATES}",
                [tri_match, *kinds],
            )
            seen = {(r[0], r[1]) for r in rows}
            fuzzy = [r for r in cursor.fetchall() if (r[0], r[1]) not in seen]
            rows += [r for r in fuzzy if _close_enough(tokens, r[3])]
    return rows


def _postgres_candidates(q: str, kinds: tuple[str, ...]) -> list[tuple[str, int, str, str]]:
    tokens = _tokens(q)
    if not tokens:
        return []
    tsquery = " & ".join(re.sub(r"[^\w]", "", t) + ":*" for t in tokens)
    placeholders = ",".join("%s" for _ in kinds)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, obj_id, title, body FROM core_searchdocument "
            f"WHERE to_tsvector('simple', body) @@ to_tsquery('simple', %s) AND kind IN ({placeholders}) "
            f"LIMIT {CANDIDATES}",
            [tsquery, *kinds],
        )
        rows = cursor.fetchall()
        if len(rows) < 10 and len(q.strip()) >= 3:
            cursor.execute(
                "SELECT kind, obj_id, title, body FROM core_searchdocument "
                f"WHERE body %% %s AND kind IN ({placeholders}) ORDER BY similarity(body, %s) DESC LIMIT {CANDIDATES}",
                [q, *kinds, q],
            )
            seen = {(r[0], r[1]) for r in rows}
            fuzzy = [r for r in cursor.fetchall() if (r[0], r[1]) not in seen]
            rows += [r for r in fuzzy if _close_enough(tokens, r[3])]
    return rows


def _close_enough(tokens: list[str], body: str) -> bool:
    """A near miss counts only if every query word is close to (or starts) some word of the record."""
    words = _TOKEN.findall(body.lower())
    return all(
        any(w.startswith(t) or fuzz.ratio(t, w) >= TYPO_SIMILARITY for w in words) for t in tokens
    )


def candidates(q: str, kinds: tuple[str, ...] = ("contact", "company")) -> list[tuple[str, int, float]]:
    """(kind, obj_id, score) best first, before permission filtering."""
    q = q.strip()[:200]
    if len(q) < 2 and not _CJK.search(q):
        return []
    finder = _postgres_candidates if connection.vendor == "postgresql" else _sqlite_candidates
    needle = _spread_cjk(q).lower()
    scored = []
    for kind, obj_id, title, body in finder(q, kinds):
        # Title matches outrank matches elsewhere in the record (an email or company name).
        score = max(fuzz.WRatio(needle, _spread_cjk(title).lower()) * 1.1, fuzz.partial_ratio(needle, body.lower()))
        scored.append((kind, obj_id, score))
    scored.sort(key=lambda r: -r[2])
    return scored


def search(user: Any, q: str, limit: int = 10) -> list[Hit]:
    """Permission-scoped hits across contacts and companies, best first."""
    from amity.contacts import selectors

    found = candidates(q)
    contact_ids = [i for k, i, _ in found if k == "contact"]
    company_ids = [i for k, i, _ in found if k == "company"]
    visible: dict[tuple[str, int], Any] = {}
    if contact_ids:
        for contact in selectors.contacts_by_ids(user=user, ids=contact_ids):
            visible[("contact", contact.pk)] = contact
    if company_ids:
        for company in selectors.companies_by_ids(user=user, ids=company_ids):
            visible[("company", company.pk)] = company
    hits = [Hit(kind, visible[(kind, obj_id)], score) for kind, obj_id, score in found if (kind, obj_id) in visible]
    return hits[:limit]


SQLITE_SETUP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(body, content='core_searchdocument', "
    "content_rowid='id', tokenize=\"unicode61 remove_diacritics 2\", prefix='2 3')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_trigram USING fts5(body, content='core_searchdocument', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS searchdoc_ai AFTER INSERT ON core_searchdocument BEGIN "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); "
    "INSERT INTO search_trigram(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS searchdoc_ad AFTER DELETE ON core_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_trigram(search_trigram, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS searchdoc_au AFTER UPDATE ON core_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_trigram(search_trigram, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); "
    "INSERT INTO search_trigram(rowid, body) VALUES (new.id, new.body); END",
]
POSTGRES_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS searchdoc_tsv ON core_searchdocument USING gin (to_tsvector('simple', body))",
    "CREATE INDEX IF NOT EXISTS searchdoc_trgm ON core_searchdocument USING gin (body gin_trgm_ops)",
]


def install_engine(schema_editor: Any) -> None:
    """Called by a migration: create the engine-specific indexes for this database."""
    statements = POSTGRES_SETUP if schema_editor.connection.vendor == "postgresql" else SQLITE_SETUP
    if schema_editor.connection.vendor not in {"postgresql", "sqlite"}:
        return
    for statement in statements:
        schema_editor.execute(statement)
