"""The sales figures of `make bench` (also runnable alone: `.venv/bin/python bench/sales.py`).

Builds (once) `var/bench-sales.sqlite3`: the 2,000-contact demo workspace plus 1,000,000 deals, of which 100,000
are open in the default pipeline "Sales" (the rest: 10,000 open in "Partners" and 890,000 won or lost over three
years, most of them in "Sales"), and 10,000 tasks assigned to the admin. Then serves it like production (gunicorn,
2 workers, DEBUG off) and measures with wrk, as bench/run.py does:

- board:    GET /deals/board/<pipeline>/ (100,000 open deals; first 50 per column with totals)  p50 ≤ 60 ms
- move:     POST /api/deals/<id>/move with a token, alternating two stages                      p50 ≤ 20 ms
- my_day:   GET /my-day/ of the user with 10,000 tasks                                          p50 ≤ 30 ms
- forecast: GET /reports/forecast/ over the 1,000,000 deals                                     p50 ≤ 500 ms

A page that does not answer 200 is timed in-process instead (its selector), and the table says so.
Knobs: BENCH_DURATION, BENCH_RUNS (as bench/run.py), BENCH_SALES_REBUILD=1, BENCH_SALES_DEALS (default 1,000,000).
Writes bench/results/sales.json. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core_bench  # noqa: E402  (bench/run.py: server, wrk and memory helpers)

ROOT = core_bench.ROOT
VAR = core_bench.VAR
RESULTS = core_bench.RESULTS
PYTHON = core_bench.PYTHON
DEALS = int(os.environ.get("BENCH_SALES_DEALS", "1000000"))
OPEN_IN_BOARD = DEALS // 10
OPEN_ELSEWHERE = DEALS // 100
TASKS = 10_000
DB_NAME = "bench-sales.sqlite3" if DEALS == 1_000_000 else f"bench-sales-{DEALS}.sqlite3"
READY = VAR / f"{DB_NAME}.ready.json"
MOVE_DEALS = 40

TARGETS = {"board": 60.0, "move": 20.0, "my_day": 30.0, "forecast": 500.0}


def env(secret_key: str) -> dict[str, str]:
    e = core_bench.env(secret_key)
    e["AMITY_SQLITE_NAME"] = DB_NAME
    return e


def child(mode: str, environ: dict[str, str]) -> str:
    """Run this file in ``mode`` inside Django (same settings as the server); its stdout."""
    return subprocess.run([PYTHON, __file__, mode], cwd=ROOT, env=environ, check=True, text=True,
                          stdout=subprocess.PIPE).stdout


# --- inside Django ------------------------------------------------------------------------------------------------

def _django() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amity.settings")
    django.setup()


def build_data() -> None:
    """The workspace: demo users, companies and contacts, then the deals and tasks with raw inserts."""
    _django()
    import datetime as dt
    import random
    import uuid

    from django.db import connection, transaction
    from django.utils import timezone

    from amity.contacts.models import Contact
    from amity.core import demo
    from amity.sales.demo import Mix, SalesWriter, build_sales_demo
    from amity.sales.models import Deal
    from amity.timeline.models import Task

    def say(message: str) -> None:
        print(message, flush=True)

    started = time.monotonic()
    demo.build_demo(contacts=2000, progress=say)
    with transaction.atomic():
        _password, people = demo.setup_people()
    closed = DEALS - OPEN_IN_BOARD - OPEN_ELSEWHERE
    have_open = Deal.objects.filter(pipeline__is_default=True, stage__kind="open").count()
    have = Deal.objects.count()
    mix = Mix({("default", "open"): OPEN_IN_BOARD - have_open,
               ("partners", "open"): OPEN_ELSEWHERE - Deal.objects.filter(pipeline__name="Partners",
                                                                          stage__kind="open").count(),
               ("default", "won"): int(closed * 0.28), ("default", "lost"): int(closed * 0.52),
               ("partners", "won"): int(closed * 0.08), ("partners", "lost"): 0})
    mix.counts[("partners", "lost")] = DEALS - have - sum(mix.counts.values())
    with connection.cursor() as cursor:  # a bulk load, as amity demo does it (restored below)
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA cache_size=-2097152")
    result = build_sales_demo(deals=DEALS - have, people=people, seed=7, mix=mix, lean=True,
                              history_days=3 * 365, progress=say, admin_tasks=0)
    # The admin's 10,000 tasks: 3,000 done, 2,000 overdue, some today, the rest upcoming over a year.
    builder_now = timezone.now().astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    rng = random.Random(11)
    writer = SalesWriter()
    first = (Task.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    contacts = list(Contact.objects.order_by("id").values_list("id", "company_id")[:2000])
    rows = []

    for n in range(TASKS):
        kind = n % 10
        if kind < 3:
            due = builder_now - dt.timedelta(days=rng.uniform(1, 400))
            done = due
        elif kind < 5:
            due, done = builder_now - dt.timedelta(days=rng.uniform(0.1, 60)), None
        elif kind == 5 and rng.random() < 0.05:
            due, done = builder_now + dt.timedelta(hours=rng.uniform(0, 3)), None
        else:
            due, done = builder_now + dt.timedelta(days=rng.uniform(1, 365)), None
        contact_id, company_id = rng.choice(contacts)
        minutes = 30 if rng.random() < 0.3 else None
        remind = due - dt.timedelta(minutes=30) if minutes else None
        sent = remind if remind is not None and (remind <= builder_now or done) else None
        rows.append((first + n, uuid.UUID(int=rng.getrandbits(128), version=4).hex, str(due - dt.timedelta(days=3)),
                     str(done or due - dt.timedelta(days=3)), f"Follow-up #{n}", "", str(due), people.admin_id,
                     people.admin_id, contact_id, company_id, None, "normal", str(done) if done else None, minutes,
                     str(remind) if remind else None, str(sent) if sent else None, ""))
    with transaction.atomic():
        writer.write([("deal_task", rows)])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    seconds = time.monotonic() - started
    print(json.dumps({"deals": Deal.objects.count(), "tasks_of_admin": TASKS, "build_seconds": round(seconds, 1),
                      "sales_rows": result.counts, "built_at": time.strftime("%Y-%m-%d %H:%M")}))


def _median_ms(fn: Any, runs: int = 15) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def prepare() -> None:
    """Session, token, the ids wrk needs, the SQL queries of each page and in-process timings of the selectors."""
    _django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from prepare import login_session  # bench/prepare.py

    from amity.accounts.models import User
    from amity.accounts.services import create_api_token
    from amity.core import demo
    from amity.sales import reports, selectors
    from amity.sales.models import Deal, Pipeline
    from amity.timeline import selectors as timeline_selectors

    admin = User.objects.get(email=demo.ADMIN_EMAIL)
    pipeline = Pipeline.objects.get(is_default=True)
    open_stages = list(pipeline.stages.filter(kind="open").order_by("position"))
    stage_a, stage_b = open_stages[1], open_stages[2]
    deals = list(Deal.objects.filter(pipeline=pipeline, stage__in=[stage_a, stage_b])
                 .order_by("-id").values_list("uuid", flat=True)[:MOVE_DEALS])
    _token, secret = create_api_token(user=admin, name="benchmark (sales)", scope="write")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(admin)
    api = Client()
    paths = {"board": f"/deals/board/{pipeline.uuid}/", "my_day": "/my-day/", "forecast": "/reports/forecast/"}
    queries: dict[str, Any] = {}
    for name, path in paths.items():
        client.get(path)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        queries[name] = {"path": path, "status": response.status_code, "queries": len(ctx.captured_queries),
                         "sql": [q["sql"][:400] for q in ctx.captured_queries]}
    move_path = f"/api/deals/{deals[0]}/move"
    for stage in (stage_b, stage_a):
        with CaptureQueriesContext(connection) as ctx:
            response = api.post(move_path, json.dumps({"stage": str(stage.uuid)}), content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {secret}")
    queries["move"] = {"path": move_path, "status": response.status_code, "queries": len(ctx.captured_queries),
                       "sql": [q["sql"][:400] for q in ctx.captured_queries]}
    # In-process timings of the selectors behind each page (the fallback when a page is missing).
    filters = reports.parse_filters(admin, {})
    in_process = {
        "board": _median_ms(lambda: selectors.board(user=admin, pipeline=pipeline, params={})),
        "my_day": _median_ms(lambda: timeline_selectors.my_tasks(user=admin)),
        "forecast": _median_ms(lambda: reports.forecast(user=admin, filters=filters), runs=5),
    }
    print(json.dumps({
        "session": login_session(admin), "token": secret, "pipeline": str(pipeline.uuid),
        "stages": [str(stage_a.uuid), str(stage_b.uuid)], "deals": [str(d) for d in deals],
        "queries": queries, "in_process_ms": in_process,
        "counts": {"deals": Deal.objects.count(),
                   "open_in_board": Deal.objects.filter(pipeline=pipeline, stage__kind="open").count(),
                   "tasks_of_admin": admin.tasks.count(),
                   "open_tasks_of_admin": admin.tasks.filter(done_at__isnull=True).count()},
    }))


# --- outside Django: build, serve, measure ------------------------------------------------------------------------

MOVE_LUA = """
local deals = {%(deals)s}
local stages = {%(stages)s}
local n = 0
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
request = function()
  -- deal n, then the next…; each pass over the list flips the stage, so every request is a real move
  local d = deals[(n %% #deals) + 1]
  local s = stages[(math.floor(n / #deals) %% 2) + 1]
  n = n + 1
  return wrk.format("POST", "/api/deals/" .. d .. "/move", headers, '{"stage": "' .. s .. '"}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50=%%.3f p95=%%.3f p99=%%.3f rps=%%.2f requests=%%d errors=%%d non2xx=%%d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def wrk_script(port: int, script: Path, connections: int, threads: int) -> dict[str, float]:
    args = [core_bench.WRK, f"-t{threads}", f"-c{connections}", f"-d{core_bench.DURATION}s", "--timeout", "10s",
            "-s", str(script), f"http://127.0.0.1:{port}"]
    output = subprocess.run(args, check=True, text=True, stdout=subprocess.PIPE).stdout
    match = re.search(r"RESULT (.*)", output)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def post_status(port: int, path: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(), method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (127.0.0.1 only)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def build(environ: dict[str, str]) -> dict[str, Any]:
    if READY.exists() and (VAR / DB_NAME).exists() and os.environ.get("BENCH_SALES_REBUILD") != "1":
        info = json.loads(READY.read_text())
        print(f"Reusing {VAR / DB_NAME} ({info['deals']:,} deals, built in {info['build_seconds']:.0f} s)")
        return info
    for suffix in ("", "-wal", "-shm", ".ready.json"):
        (VAR / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    print(f"Building {VAR / DB_NAME}: {DEALS:,} deals ({OPEN_IN_BOARD:,} open on one board), {TASKS:,} tasks…",
          flush=True)
    core_bench.manage("migrate", "--noinput", "-v", "0", environ=environ)
    output = child("build", environ)
    for line in output.splitlines()[:-1]:
        if "password" not in line:
            print(line)
    info = json.loads(output.splitlines()[-1])
    READY.write_text(json.dumps(info))
    return info


def measure(name: str, port: int, tmp: Path, seed: int, paths: list[str] | None = None,
            headers: dict[str, str] | None = None, script: Path | None = None) -> dict[str, Any]:
    runs = core_bench.RUNS
    print(f"  {name}: {runs} × {core_bench.DURATION} s at 1 connection, then {core_bench.DURATION} s at 8…",
          flush=True)
    if script is not None:
        latency = [wrk_script(port, script, 1, 1) for _ in range(runs)]
        load = wrk_script(port, script, 8, 2)
    else:
        assert paths is not None and headers is not None
        latency = [core_bench.wrk(port, paths, headers, 1, 1, tmp, seed + i) for i in range(runs)]
        load = core_bench.wrk(port, paths, headers, 8, 2, tmp, seed + 99)
    return {
        "p50_ms": statistics.median(r["p50"] for r in latency),
        "p95_ms": statistics.median(r["p95"] for r in latency),
        "p50_runs_ms": [r["p50"] for r in latency],
        "rps_1conn": statistics.median(r["rps"] for r in latency),
        "rps_8conn": load["rps"], "p50_8conn_ms": load["p50"], "p95_8conn_ms": load["p95"],
        "errors": sum(r["errors"] + r["non2xx"] for r in [*latency, load]),
        "target_p50_ms": TARGETS[name],
    }


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    environ = env("bench-" + secrets.token_urlsafe(40))
    info = build(environ)
    # Like `amity serve`: this checkout's schema (a reused data set may predate new indexes), fresh statistics.
    core_bench.manage("migrate", "--noinput", "-v", "0", environ=environ)
    core_bench.manage("analyze_db", environ=environ)
    core_bench.manage("collectstatic", "--noinput", "-v", "0", environ=environ)
    print("Preparing: session, API token, query counts, in-process selector timings…", flush=True)
    prepared = json.loads(child("prepare", environ).splitlines()[-1])
    cookie = {"Cookie": f"sessionid={prepared['session']}"}
    bearer = {"Authorization": f"Bearer {prepared['token']}"}
    port = core_bench.free_port()
    server = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "gunicorn", "amity.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "120", "--log-level", "warning"], cwd=ROOT, env=environ)
    figures: dict[str, Any] = {}
    try:
        core_bench.wait_until_up(port)
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            pages = {"board": f"/deals/board/{prepared['pipeline']}/", "my_day": "/my-day/",
                     "forecast": "/reports/forecast/"}
            for n, (name, path) in enumerate(pages.items()):
                status = core_bench.preflight(port, path, cookie)
                if status != 200:
                    print(f"  {name}: {path} answered {status}; timed in-process instead (its selector)")
                    figures[name] = {"status": status, "in_process_ms": prepared["in_process_ms"][name],
                                     "target_p50_ms": TARGETS[name]}
                    continue
                for _ in range(3):
                    core_bench.preflight(port, path, cookie)
                figures[name] = measure(name, port, tmp, 2000 + 100 * n, [path], cookie)
            script = tmp / "move.lua"
            script.write_text(MOVE_LUA % {"deals": ", ".join(json.dumps(d) for d in prepared["deals"]),
                                          "stages": ", ".join(json.dumps(s) for s in prepared["stages"]),
                                          "token": prepared["token"]})
            first = f"/api/deals/{prepared['deals'][0]}/move"
            status = post_status(port, first, json.dumps({"stage": prepared["stages"][0]}), bearer)
            if status != 200:
                print(f"  move: {first} answered {status}; not measured")
                figures["move"] = {"status": status, "target_p50_ms": TARGETS["move"]}
            else:
                figures["move"] = measure("move", port, tmp, 0, script=script)
        for name, figure in figures.items():
            figure["queries"] = prepared["queries"][name]["queries"]
            figure["in_process_selector_ms"] = prepared["in_process_ms"].get(name)
        rss = {str(pid): core_bench.rss_mb(pid) for pid in core_bench.worker_pids(server.pid)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    results = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg_at_end": os.getloadavg()},
        "data": {**prepared["counts"], "build_seconds": info["build_seconds"], "built_at": info.get("built_at"),
                 "database_mb": round((VAR / DB_NAME).stat().st_size / 2**20)},
        "settings": {"duration_s": core_bench.DURATION, "latency_runs": core_bench.RUNS, "gunicorn_workers": 2},
        "pages": {k: figures[k] for k in ("board", "move", "my_day", "forecast") if k in figures},
        "rss_mb": rss,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (RESULTS / "sales.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (RESULTS / "sales-queries.json").write_text(json.dumps(prepared["queries"], indent=2, ensure_ascii=False))
    report(results)


def report(results: dict[str, Any]) -> None:
    data = results["data"]
    print()
    print(f"Amity sales benchmark: {data['deals']:,} deals ({data['open_in_board']:,} open on the board), "
          f"{data['tasks_of_admin']:,} tasks for one user; 2 gunicorn workers, SQLite, DEBUG off")
    print(f"{'page':<10}{'p50 ms':>9}{'p95 ms':>9}{'target':>9}{'req/s c1':>10}{'req/s c8':>10}{'queries':>9}  ok")
    for name, f in results["pages"].items():
        if "p50_ms" not in f:
            timed = f.get("in_process_ms")
            note = f"HTTP {f['status']}; selector in-process {timed} ms" if timed is not None else \
                f"HTTP {f['status']}; not measured"
            ok = "yes*" if timed is not None and timed <= f["target_p50_ms"] else "NO"
            print(f"{name:<10}{note:>56}  {ok}")
            continue
        ok = "yes" if f["p50_ms"] <= f["target_p50_ms"] and not f["errors"] else "NO"
        print(f"{name:<10}{f['p50_ms']:>9.1f}{f['p95_ms']:>9.1f}{f['target_p50_ms']:>9.0f}{f['rps_1conn']:>10.0f}"
              f"{f['rps_8conn']:>10.0f}{f['queries']:>9}  {ok}")
    parts = ", ".join(f"{v['VmRSS']:.0f} MB" for v in results["rss_mb"].values())
    print(f"web worker RSS: {parts}; data set built in {data['build_seconds']:.0f} s ({data['database_mb']:,} MB)")
    print(f"results: {RESULTS / 'sales.json'}")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "build":
        build_data()
    elif mode == "prepare":
        prepare()
    else:
        main()
