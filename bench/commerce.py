"""Commerce figures (`.venv/bin/python bench/commerce.py`), three parts:

1. ingest/sqlite: behaviour events through `POST /api/ingest/events` (batches of 500, 4 concurrent clients,
   BENCH_INGEST_SECONDS, default 60) against gunicorn with 2 workers on a copy of the 1,000,000-contact base
   workspace (`var/bench-base.sqlite3` → `var/bench-commerce.sqlite3`, migrated). Target ≥ 5,000 events/s.
2. ingest/postgresql: the same against PostgreSQL (database `bench_commerce` on 127.0.0.1:5432, built with
   `demo --contacts BENCH_PG_CONTACTS`, default 20,000 — fewer contacts than the SQLite workspace). Target ≥ 20,000/s.
3. big: 10,000,000 stored behaviour events (~10 per contact, skewed towards some customers), 200,000 orders with
   lines, facts and timeline events, 50,000 abandoned carts — bulk-generated with raw SQL into the SQLite copy —
   then the 360 page (target p50 ≤ 50 ms) and the recoverable-revenue page `/commerce/recoverable/` (p50 ≤ 100 ms)
   with wrk, as bench/run.py does (median of BENCH_RUNS runs of BENCH_DURATION seconds).

Knobs: BENCH_COMMERCE_PARTS (default "sqlite,pg,big"), BENCH_INGEST_SECONDS, BENCH_WEB_WORKERS (default 2), BENCH_EVENTS, BENCH_ORDERS,
BENCH_CARTS, BENCH_PG_CONTACTS, BENCH_DURATION, BENCH_RUNS, BENCH_COMMERCE_OUT (file name under bench/results).
Writes bench/results/commerce.json. Only 127.0.0.1 is
contacted. The machine's load average is recorded with each figure (the machine is shared).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core_bench  # noqa: E402  (bench/run.py: server, wrk and memory helpers)

ROOT = core_bench.ROOT
VAR = core_bench.VAR
RESULTS = core_bench.RESULTS
PYTHON = core_bench.PYTHON
DB_NAME = "bench-commerce.sqlite3"
BASE = VAR / "bench-base.sqlite3"
PARTS = os.environ.get("BENCH_COMMERCE_PARTS", "sqlite,pg,big").split(",")
INGEST_SECONDS = int(os.environ.get("BENCH_INGEST_SECONDS", "60"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "200000"))
CARTS = int(os.environ.get("BENCH_CARTS", "50000"))
PG_CONTACTS = int(os.environ.get("BENCH_PG_CONTACTS", "20000"))
PG_URL = "postgres://postgres@127.0.0.1:5432/bench_commerce"
BATCH = 500
CLIENTS = 4
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))  # the setting (two web processes)
TEMPLATES = 50  # pre-built batch shapes
SKUS = [f"BENCH-{n:03d}" for n in range(60)]
TARGETS = {"ingest_sqlite": 5000.0, "ingest_postgresql": 20000.0, "360": 50.0, "recoverable": 100.0}


def env(secret_key: str, database_url: str | None = None) -> dict[str, str]:
    e = core_bench.env(secret_key)
    e["AMITY_SQLITE_NAME"] = DB_NAME
    if database_url:
        e["DATABASE_URL"] = database_url
    return e


def child(mode: str, environ: dict[str, str]) -> dict[str, Any]:
    """Run this file in ``mode`` inside Django; the JSON its last line prints."""
    out = subprocess.run([PYTHON, __file__, mode], cwd=ROOT, env=environ, check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- inside Django ------------------------------------------------------------------------------------------------

def _django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amity.settings")
    django.setup()


def prepare() -> None:
    """An admin with a session and a write token, the bench SKUs, and a sample of customer emails."""
    _django()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from amity.accounts.models import Role, User
    from amity.accounts.services import create_api_token
    from amity.contacts.models import ContactEmail
    from amity.sales.models import Product

    user = User.objects.filter(email="bench-commerce@example.com").first() or User.objects.create_user(
        email="bench-commerce@example.com", password=secrets.token_urlsafe(16), full_name="Bench Commerce",
        role=Role.objects.get(key="admin"))
    token = create_api_token(user=user, name="bench", scope="write")[1]
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    have = set(Product.objects.filter(sku__in=SKUS).values_list("sku", flat=True))
    Product.objects.bulk_create([Product(sku=s, name=f"Bench product {s[-3:]}", category=f"Category {int(s[-3:]) % 6}")
                                 for s in SKUS if s not in have])
    emails = list(ContactEmail.objects.order_by("id").values_list("email", flat=True)[:200_000:20])
    print(json.dumps({"token": token, "session": session.session_key, "emails": emails}))


def bulk() -> None:
    """10M behaviour events, 200k orders (+ lines, facts, product stats, timeline events), 50k abandoned carts."""
    _django()
    from django.db import connection, transaction

    from amity.sales.models import Product

    started = time.monotonic()
    cur = connection.cursor()
    cur.execute("SELECT min(id), max(id) FROM contacts_contact")
    lo, hi = cur.fetchone()
    span = hi - lo + 1
    products = list(Product.objects.filter(sku__in=SKUS).values_list("id", flat=True))
    p_lo, p_n = min(products), len(products)
    # Skewed customers: id = lo + (r1 % (1 + r2 % span)) puts many events on a few, ~ln(span/k) on the k-th.
    who = f"{lo} + (abs(random()) % (1 + abs(random()) % {span}))"
    ago = "strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (abs(random()) % 31536000) || ' seconds')"
    cur.execute("SELECT count(*) FROM commerce_behaviourevent WHERE source = 'bench'")
    have = cur.fetchone()[0]
    chunk = 1_000_000
    while have < EVENTS:
        n = min(chunk, EVENTS - have)
        with transaction.atomic():
            cur.execute(f"""
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
                INSERT INTO commerce_behaviourevent (source, external_id, contact_id, visitor_id, kind, name,
                    occurred_at, received_at, product_id, url, properties)
                SELECT 'bench', '', {who}, '', CASE n % 4 WHEN 0 THEN 'page_view' WHEN 1 THEN 'search'
                    ELSE 'product_view' END, '', {ago}, {ago}, CASE WHEN n % 4 >= 2 THEN {p_lo} + n % {p_n} END,
                    '', '{{}}' FROM seq""")  # noqa: S608 (numbers only)
        have += n
        print(f"  events: {have:,} ({time.monotonic() - started:.0f} s)", flush=True)
    cur.execute("SELECT count(*) FROM commerce_order WHERE source = 'bench'")
    if cur.fetchone()[0] < ORDERS:
        with transaction.atomic():
            cur.execute(f"""
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {ORDERS})
                INSERT INTO commerce_order (created_at, updated_at, uuid, source, external_id, number, contact_id,
                    visitor_id, status, channel, currency, subtotal, discount_total, tax_total, shipping_total, total,
                    total_base, exchange_rate, refunded_amount, placed_at, note)
                SELECT {ago}, {ago}, lower(hex(randomblob(16))), 'bench', 'b' || n, 'B' || n, {who}, '',
                    CASE n % 10 WHEN 0 THEN 'refunded' WHEN 1 THEN 'placed' ELSE 'fulfilled' END,
                    CASE n % 7 WHEN 0 THEN 'in_store' ELSE 'online' END, 'USD', 10 + n % 190, 0, 0, 0, 10 + n % 190,
                    10 + n % 190, 1, 0, {ago}, '' FROM seq""")  # noqa: S608
            cur.execute(f"""
                INSERT INTO commerce_orderline (order_id, product_id, sku, name, category, quantity, unit_price,
                    discount, total)
                SELECT o.id, {p_lo} + o.id % {p_n}, 'BENCH', 'Bench product', 'Category ' || (o.id % 6), 1, o.total,
                    0, o.total FROM commerce_order o WHERE o.source = 'bench'""")  # noqa: S608
            cur.execute("""
                INSERT INTO core_event (type, occurred_at, subject_type, subject_id, contact_id, payload, status,
                    attempts, last_error)
                SELECT 'order.placed', placed_at, 'order', id, contact_id,
                    json_object('number', number, 'total', printf('%.2f', total), 'currency', currency,
                                'channel', channel, 'items', json_array(json_object('name', 'Bench product',
                                'quantity', '1'))), 'done', 0, ''
                FROM commerce_order WHERE source = 'bench'""")
            cur.execute("""
                UPDATE contacts_contact SET order_count = agg.c, lifetime_value = agg.s,
                    average_order_value = round(agg.s / agg.c, 2), first_order_at = agg.f, last_order_at = agg.l,
                    last_activity_at = max(coalesce(last_activity_at, agg.l), agg.l)
                FROM (SELECT contact_id, count(*) AS c, sum(total_base) AS s, min(placed_at) AS f,
                             max(placed_at) AS l FROM commerce_order WHERE source = 'bench' GROUP BY contact_id) agg
                WHERE contacts_contact.id = agg.contact_id""")
            cur.execute("""
                INSERT INTO commerce_customerproductstat (contact_id, product_id, category, quantity, spent_base,
                    orders, last_bought_at)
                SELECT o.contact_id, l.product_id, max(l.category), sum(l.quantity), sum(l.total), count(*),
                    max(o.placed_at)
                FROM commerce_order o JOIN commerce_orderline l ON l.order_id = o.id WHERE o.source = 'bench'
                GROUP BY o.contact_id, l.product_id""")
        print(f"  orders: {ORDERS:,} ({time.monotonic() - started:.0f} s)", flush=True)
    cur.execute("SELECT count(*) FROM commerce_cart WHERE source = 'bench'")
    if cur.fetchone()[0] < CARTS:
        with transaction.atomic():
            cur.execute(f"""
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {CARTS})
                INSERT INTO commerce_cart (created_at, updated_at, uuid, source, external_id, contact_id, visitor_id,
                    status, currency, value, value_base, item_count, cart_url, last_activity_at, abandoned_at)
                SELECT t, t, lower(hex(randomblob(16))), 'bench', 'c' || n, {who}, '', 'abandoned', 'USD',
                    5 + n % 300, 5 + n % 300, 1 + n % 3, 'https://shop.example.com/cart/' || n, t,
                    strftime('%Y-%m-%d %H:%M:%S', t, '+1 hour')
                FROM (SELECT n, {ago} AS t FROM seq)""")  # noqa: S608
            cur.execute(f"""
                INSERT INTO commerce_cartitem (cart_id, product_id, sku, name, quantity, unit_price, image_url,
                    product_url)
                SELECT c.id, {p_lo} + c.id % {p_n}, 'BENCH', 'Bench product', c.item_count, c.value / c.item_count,
                    '', '' FROM commerce_cart c WHERE c.source = 'bench'""")  # noqa: S608
            cur.execute("""
                INSERT INTO core_event (type, occurred_at, subject_type, subject_id, contact_id, payload, status,
                    attempts, last_error)
                SELECT 'cart.abandoned', abandoned_at, 'cart', id, contact_id,
                    json_object('cart', uuid, 'value', printf('%.2f', value), 'currency', currency), 'done', 0, ''
                FROM commerce_cart WHERE source = 'bench'""")
        print(f"  carts: {CARTS:,} ({time.monotonic() - started:.0f} s)", flush=True)
    cur.execute(f"SELECT c.uuid FROM contacts_contact c WHERE c.id BETWEEN {lo} AND {lo + 200}")  # noqa: S608
    heavy = [str(uuid.UUID(r[0])) for r in cur.fetchall()]
    cur.execute(f"SELECT uuid FROM contacts_contact WHERE id IN "  # noqa: S608
                f"(SELECT {lo} + abs(random()) % {span} FROM commerce_cart LIMIT 300)")
    spread = [str(uuid.UUID(r[0])) for r in cur.fetchall()]
    cur.execute("SELECT count(*) FROM commerce_behaviourevent")
    total_events = cur.fetchone()[0]
    cur.execute(f"SELECT count(*) FROM commerce_behaviourevent WHERE contact_id = {lo}")  # noqa: S608
    top = cur.fetchone()[0]
    print(json.dumps({"heavy": heavy, "spread": spread, "events": total_events, "top_contact_events": top,
                      "seconds": round(time.monotonic() - started, 1)}))


# --- driving the server -------------------------------------------------------------------------------------------

# Slots of a pre-built body, each filled anew before every send (a random id, customer, visitor or product; the
# time a minute ago), so the batches are as varied as freshly generated ones for a fraction of the cost.
SLOT = re.compile(r"(XSLOT(?:ID|EMAIL|VISITOR|SKU|TIME)X)")


def _template(rng: random.Random, n: int) -> list[str]:
    """The JSON of ``n`` events like a store's, split at its slots (odd items are slot names): 70 % from known
    customers, the others from anonymous visitors, 40 % product views."""
    items = []
    for _ in range(n):
        kind = rng.choice(["product_view", "product_view", "page_view", "page_view", "search"])
        item: dict[str, Any] = {"external_id": "XSLOTIDX", "kind": kind, "occurred_at": "XSLOTTIMEX",
                                "url": "https://shop.example.com/p/1"}
        if rng.random() < 0.7:
            item["email"] = "XSLOTEMAILX"
        else:
            item["visitor_id"] = "XSLOTVISITORX"
        if kind == "product_view":
            item["product"] = {"sku": "XSLOTSKUX"}
        elif kind == "search":
            item["name"] = "boots"
        items.append(item)
    return SLOT.split(json.dumps({"items": items}))


def _fill(template: list[str], rng: random.Random, emails: list[str]) -> str:
    """A body from a template split at its slots (odd items are the slot names)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    hexes = os.urandom(8 * BATCH).hex()
    ids = iter([hexes[i:i + 16] for i in range(0, 16 * BATCH, 16)])
    fill = {"XSLOTIDX": lambda: next(ids), "XSLOTTIMEX": lambda: stamp, "XSLOTEMAILX": lambda: rng.choice(emails),
            "XSLOTVISITORX": lambda: f"v-{rng.randrange(50_000)}", "XSLOTSKUX": lambda: rng.choice(SKUS)}
    return "".join(part if n % 2 == 0 else fill[part]() for n, part in enumerate(template))


def ingest(port: int, token: str, emails: list[str], seconds: int) -> dict[str, Any]:
    """4 clients posting batches of 500 events for ``seconds``; events accepted per second. The bodies' JSON is
    built beforehand (as wrk's is) and only its slots are filled per send, so the load generator takes little of
    the two cores it shares with the server."""
    created, batches, errors, latencies = [0] * CLIENTS, [0] * CLIENTS, [0] * CLIENTS, []
    templates = [_template(random.Random(t), BATCH) for t in range(TEMPLATES)]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop:
            body = _fill(rng.choice(templates), rng, emails)  # ids random like a store's UUIDs, not sequential
            t0 = time.monotonic()
            conn.request("POST", "/api/ingest/events", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            with lock:
                latencies.append(time.monotonic() - t0)
            if response.status != 200:
                errors[k] += 1
                continue
            created[k] += json.loads(data)["created"]
            batches[k] += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {"events_per_s": round(sum(created) / elapsed, 1), "events": sum(created), "batches": sum(batches),
            "errors": sum(errors), "seconds": round(elapsed, 1),
            "batch_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "load_avg": os.getloadavg()}


def serve(environ: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = core_bench.free_port()
    server = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "gunicorn", "amity.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS),
         "--timeout", "120", "--log-level", "warning"], cwd=ROOT, env=environ)
    core_bench.wait_until_up(port, timeout=120)
    return server, port


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def sqlite_copy(environ: dict[str, str]) -> None:
    target = VAR / DB_NAME
    if not target.exists():
        if not (VAR / "bench-base.ready").exists():
            raise SystemExit("var/bench-base.sqlite3 is not ready yet (var/bench-base.ready is missing)")
        print(f"Copying {BASE} → {target}…", flush=True)
        shutil.copyfile(BASE, target)
    core_bench.manage("migrate", "--noinput", "-v", "0", environ=environ)


def part_ingest(environ: dict[str, str], label: str) -> dict[str, Any]:
    prepared = child("prepare", environ)
    server, port = serve(environ)
    try:
        ingest(port, prepared["token"], prepared["emails"], 5)  # warm-up (imports, first placeholders, caches)
        print(f"  {label}: {CLIENTS} clients × batches of {BATCH} for {INGEST_SECONDS} s…", flush=True)
        figures = ingest(port, prepared["token"], prepared["emails"], INGEST_SECONDS)
    finally:
        stop(server)
    figures["target_events_per_s"] = TARGETS[f"ingest_{label}"]
    figures["customers_sampled"] = len(prepared["emails"])
    print(f"  {label}: {figures['events_per_s']:,.0f} events/s (batch p50 {figures['batch_p50_ms']} ms, "
          f"{figures['errors']} errors, load {figures['load_avg'][0]:.1f})", flush=True)
    return figures


def postgres_ready() -> bool:
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_commerce'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE bench_commerce")
        return True
    except Exception as exc:  # no server: the part is skipped and the report says so
        print(f"  PostgreSQL not reachable ({exc}); skipped", flush=True)
        return False


def part_big(environ: dict[str, str]) -> dict[str, Any]:
    prepared = child("prepare", environ)  # first: it makes the bench SKUs the generated events refer to
    print(f"Generating {EVENTS:,} events, {ORDERS:,} orders, {CARTS:,} abandoned carts…", flush=True)
    data = child("bulk", environ)
    core_bench.manage("analyze_db", environ=environ)
    core_bench.manage("collectstatic", "--noinput", "-v", "0", environ=environ)
    cookie = {"Cookie": f"sessionid={prepared['session']}"}
    pages = {"360": [f"/contacts/{u}/" for u in data["heavy"][:100] + data["spread"][:100]],
             "recoverable": ["/commerce/recoverable/", "/commerce/recoverable/?sort=age"]}
    server, port = serve(environ)
    figures: dict[str, Any] = {"data": {k: v for k, v in data.items() if k not in {"heavy", "spread"}}}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n, (name, paths) in enumerate(pages.items()):
                status = core_bench.preflight(port, paths[0], cookie)
                if status != 200:
                    print(f"  {name}: {paths[0]} answered {status}; not measured", flush=True)
                    figures[name] = {"status": status}
                    continue
                for path in paths[:20]:
                    core_bench.preflight(port, path, cookie)
                print(f"  {name}: {core_bench.RUNS} × {core_bench.DURATION} s at 1 connection…", flush=True)
                runs = [core_bench.wrk(port, paths, cookie, 1, 1, Path(tmp), 500 * n + i)
                        for i in range(core_bench.RUNS)]
                figures[name] = {"p50_ms": statistics.median(r["p50"] for r in runs),
                                 "p95_ms": statistics.median(r["p95"] for r in runs),
                                 "p50_runs_ms": [r["p50"] for r in runs],
                                 "errors": sum(r["errors"] + r["non2xx"] for r in runs),
                                 "target_p50_ms": TARGETS[name], "load_avg": os.getloadavg()}
                print(f"  {name}: p50 {figures[name]['p50_ms']:.1f} ms (p95 {figures[name]['p95_ms']:.1f} ms, "
                      f"load {figures[name]['load_avg'][0]:.1f})", flush=True)
    finally:
        stop(server)
    return figures


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    secret_key = "bench-" + secrets.token_urlsafe(40)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                               "settings": {"batch": BATCH, "clients": CLIENTS, "ingest_seconds": INGEST_SECONDS,
                                            "gunicorn_workers": WEB_WORKERS, "duration_s": core_bench.DURATION,
                                            "runs": core_bench.RUNS}}
    out = RESULTS / os.environ.get("BENCH_COMMERCE_OUT", "commerce.json")
    sqlite_env = env(secret_key)
    if "sqlite" in PARTS or "big" in PARTS:
        sqlite_copy(sqlite_env)
    if "sqlite" in PARTS:
        print("Ingest on SQLite (1,000,000-contact workspace)…", flush=True)
        results["ingest_sqlite"] = part_ingest(sqlite_env, "sqlite")
    if "pg" in PARTS and postgres_ready():
        pg_env = env(secret_key, PG_URL)
        core_bench.manage("migrate", "--noinput", "-v", "0", environ=pg_env)
        if not child_has_contacts(pg_env):
            print(f"Building the PostgreSQL workspace ({PG_CONTACTS:,} contacts)…", flush=True)
            subprocess.run([PYTHON, str(ROOT / "manage.py"), "demo", "--contacts", str(PG_CONTACTS)], cwd=ROOT,
                           env=pg_env, check=True, stdout=subprocess.DEVNULL)
        empty_behaviour(PG_URL)
        vacuum_analyze(PG_URL)
        print("Ingest on PostgreSQL…", flush=True)
        results["ingest_postgresql"] = {**part_ingest(pg_env, "postgresql"), "contacts": child("count", pg_env)["contacts"]}
    if "big" in PARTS:
        results["big"] = part_big(sqlite_env)
    results["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if out.exists():  # keep the parts not run this time (read at the end: another part may have written meanwhile)
        results = {**json.loads(out.read_text()), **results}
    out.write_text(json.dumps(results, indent=2))
    print(f"Wrote {out}")


def empty_behaviour(url: str) -> None:
    """Start each PostgreSQL run from no stored behaviour: without this each run measured a bigger store than the
    last (the replay index grows by ~50 bytes an event), and runs could not be compared."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*) FROM commerce_behaviourevent").fetchone()[0]
        conn.execute("TRUNCATE commerce_behaviourevent, commerce_productviewsummary, commerce_visitor")
        conn.execute("DELETE FROM core_event WHERE type = 'product.viewed'")
    print(f"  emptied the stored behaviour ({stored:,} events)", flush=True)


def vacuum_analyze(url: str) -> None:
    """What autovacuum keeps doing on a production server (the bench machine's PostgreSQL runs without it): fresh
    planner statistics and no dead rows left by the previous run. Without them the planner scanned whole tables
    for a batch's keys, and the figure fell run after run."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        conn.execute("VACUUM (ANALYZE)")
    print(f"  VACUUM (ANALYZE) done (the server's autovacuum is {autovacuum})", flush=True)


def child_has_contacts(environ: dict[str, str]) -> bool:
    return bool(child("count", environ)["contacts"])


def count() -> None:
    _django()
    from amity.contacts.models import Contact

    print(json.dumps({"contacts": Contact.objects.count()}))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "main"
    {"main": main, "prepare": prepare, "bulk": bulk, "count": count}[mode]()
