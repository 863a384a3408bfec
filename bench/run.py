"""`make bench`: build (or reuse) a big demo workspace, serve it like production and measure it with wrk.

    BENCH_CONTACTS=100000 make bench     # a quicker run on 100,000 contacts (default 1,000,000)

Environment knobs: BENCH_CONTACTS, BENCH_DURATION (seconds per wrk run, default 10), BENCH_RUNS (latency runs per
page, the median is reported, default 3), BENCH_REBUILD=1 (build the data set again), BENCH_SETTINGS (a settings
module to compare against amity.settings; put its folder on PYTHONPATH), BENCH_SALES=0, BENCH_IMPORTS=0,
BENCH_EXPORTS=0, BENCH_DEDUPE=0, BENCH_COMMERCE=0 (skip the figures of bench/sales.py, imports.py, exports.py,
dedupe.py or commerce.py, which otherwise run afterwards, the last four on copies of var/bench-base.sqlite3, a
pristine copy of the 1,000,000-contact data set made here).
Writes bench/results/latest.json and prints a table. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("AMITY_VAR_DIR", ROOT / "var"))
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
WRK = shutil.which("wrk") or "/usr/bin/wrk"

CONTACTS = int(os.environ.get("BENCH_CONTACTS", "1000000"))
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DB_NAME = "bench.sqlite3" if CONTACTS == 1_000_000 else f"bench-{CONTACTS}.sqlite3"
READY = VAR / f"{DB_NAME}.ready.json"

# page: (target p50 in ms, what is measured)
TARGETS = {"list": 25.0, "api": 15.0, "palette": 30.0, "360": 50.0}
RSS_TARGET_MB = 250.0
BUILD_TARGET_S = 300.0


def env(secret_key: str) -> dict[str, str]:
    """Production settings on the bench database (DEBUG off, no HTTPS redirect on 127.0.0.1)."""
    e = dict(os.environ)
    e.update({
        "AMITY_ENV": "production", "DEBUG": "0", "SECRET_KEY": secret_key, "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0", "AMITY_SQLITE_NAME": DB_NAME,
        # BENCH_SETTINGS: try a variant, e.g. a module that imports amity.settings and changes SQLite pragmas.
        "DJANGO_SETTINGS_MODULE": os.environ.get("BENCH_SETTINGS", "amity.settings"),
        "LOG_LEVEL": "WARNING",
    })
    e.pop("DATABASE_URL", None)
    return e


def manage(*args: str, environ: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, env=environ, check=True,
                            text=True, stdout=subprocess.PIPE if capture else None)
    return result.stdout or ""


def build(environ: dict[str, str]) -> dict[str, Any]:
    """The data set: reused when a finished build of the same size exists, else built from scratch."""
    if READY.exists() and (VAR / DB_NAME).exists() and os.environ.get("BENCH_REBUILD") != "1":
        info = json.loads(READY.read_text())
        print(f"Reusing {VAR / DB_NAME} ({info['contacts']:,} contacts, built in {info['build_seconds']:.0f} s)")
        return info
    for suffix in ("", "-wal", "-shm", ".ready.json"):
        (VAR / f"{DB_NAME}{suffix}").unlink(missing_ok=True)
    print(f"Building {VAR / DB_NAME}: {CONTACTS:,} contacts…", flush=True)
    manage("migrate", "--noinput", "-v", "0", environ=environ)
    started = time.monotonic()
    output = subprocess.run([PYTHON, str(ROOT / "manage.py"), "demo", "--contacts", str(CONTACTS)], cwd=ROOT,
                            env=environ, check=True, text=True, stdout=subprocess.PIPE).stdout
    seconds = time.monotonic() - started
    for line in output.splitlines():
        if "password" not in line:  # the admin password is not needed (the bench makes its own session)
            print(line)
    info = {"contacts": CONTACTS, "build_seconds": round(seconds, 1), "built_at": time.strftime("%Y-%m-%d %H:%M"),
            "summary": next((ln for ln in output.splitlines() if ln.startswith("Done in")), "")}
    READY.write_text(json.dumps(info))
    return info


def share_base() -> None:
    """The data-in/out and commerce benches start from a copy of a pristine 1,000,000-contact workspace
    (`var/bench-base.sqlite3`): made here, once, from the freshly built data set (SQLite's online backup)."""
    base, ready = VAR / "bench-base.sqlite3", VAR / "bench-base.ready"
    if ready.exists() and base.exists():
        return
    import sqlite3

    print(f"Copying {VAR / DB_NAME} → {base} for the other benches…", flush=True)
    source, target = sqlite3.connect(VAR / DB_NAME), sqlite3.connect(base)
    with target:
        source.backup(target)
    source.close()
    target.close()
    ready.touch()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()  # noqa: S310
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer in time")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def preflight(port: int, path: str, headers: dict[str, str]) -> int:
    """The page must answer 200 (a redirect to the login page would make wrk measure the wrong thing)."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


LUA = """
local paths = {%(paths)s}
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50=%%.3f p95=%%.3f p99=%%.3f rps=%%.2f requests=%%d errors=%%d non2xx=%%d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def wrk(port: int, paths: list[str], headers: dict[str, str], connections: int, threads: int,
        workdir: Path, seed: int) -> dict[str, float]:
    script = workdir / f"bench-{seed}.lua"
    script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "seed": seed})
    args = [WRK, f"-t{threads}", f"-c{connections}", f"-d{DURATION}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, f"http://127.0.0.1:{port}"], check=True, text=True,
                            stdout=subprocess.PIPE).stdout
    match = re.search(r"RESULT (.*)", output)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def worker_pids(master: int) -> list[int]:
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", text, re.M):
            children.append(int(status.parent.name))
    return sorted(children)


def rss_mb(pid: int) -> dict[str, float]:
    """VmRSS and its parts: RssAnon (the process's own heap) and RssFile (pages of mapped files, here mostly the
    SQLite database through mmap_size, shared with the OS page cache and with the other worker)."""
    text = Path(f"/proc/{pid}/status").read_text()
    figures = {}
    for key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
        figures[key] = round(int(match.group(1)) / 1024, 1) if match else 0.0
    return figures


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    secret_key = "bench-" + secrets.token_urlsafe(40)
    environ = env(secret_key)
    info = build(environ)
    if CONTACTS == 1_000_000:
        share_base()
    # Like `amity serve`: the schema of this checkout (a reused data set may predate new indexes) and fresh
    # query-planner statistics.
    manage("migrate", "--noinput", "-v", "0", environ=environ)
    manage("analyze_db", environ=environ)
    manage("collectstatic", "--noinput", "-v", "0", environ=environ)
    print("Preparing: 1,000-entry timeline, session, API token, query counts…", flush=True)
    prepared = json.loads(subprocess.run([PYTHON, str(ROOT / "bench" / "prepare.py")], cwd=ROOT, env=environ,
                                         check=True, text=True, stdout=subprocess.PIPE).stdout.splitlines()[-1])
    cookie = {"Cookie": f"sessionid={prepared['session']}"}
    bearer = {"Authorization": f"Bearer {prepared['token']}"}
    quote = urllib.parse.quote
    pages: dict[str, tuple[list[str], dict[str, str]]] = {
        "list": (["/contacts/?stage=customer"], cookie),
        "api": (["/api/contacts?limit=25"], bearer),
        "palette": ([f"/search/palette?q={quote(p)}" for p in prepared["prefixes"]], cookie),
        "360": ([f"/contacts/{prepared['contact']}/"], cookie),
    }
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "gunicorn", "amity.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "120", "--log-level", "warning"], cwd=ROOT, env=environ)
    figures: dict[str, Any] = {}
    try:
        wait_until_up(port)
        with tempfile.TemporaryDirectory() as tmp:
            for n, (name, (paths, headers)) in enumerate(pages.items()):
                status = preflight(port, paths[0], headers)
                if status != 200:
                    print(f"  {name}: {paths[0]} answered {status}; not measured")
                    figures[name] = {"status": status}
                    continue
                for _ in range(3):  # warm both workers (imports, template caches)
                    preflight(port, paths[0], headers)
                print(f"  {name}: {RUNS} × {DURATION} s at 1 connection, then {DURATION} s at 8…", flush=True)
                latency = [wrk(port, paths, headers, 1, 1, Path(tmp), 1000 * n + i) for i in range(RUNS)]
                load = wrk(port, paths, headers, 8, 2, Path(tmp), 1000 * n + 99)
                figures[name] = {
                    "p50_ms": statistics.median(r["p50"] for r in latency),
                    "p95_ms": statistics.median(r["p95"] for r in latency),
                    "p50_runs_ms": [r["p50"] for r in latency],
                    "rps_1conn": statistics.median(r["rps"] for r in latency),
                    "rps_8conn": load["rps"], "p50_8conn_ms": load["p50"], "p95_8conn_ms": load["p95"],
                    "errors": sum(r["errors"] + r["non2xx"] for r in [*latency, load]),
                    "queries": prepared["queries"][name]["queries"],
                    "target_p50_ms": TARGETS[name],
                }
        workers = worker_pids(server.pid)
        rss = {str(pid): rss_mb(pid) for pid in workers}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    results = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_avg_at_end": os.getloadavg()},
        "data": {"contacts": prepared["contacts"], "timeline_events_on_360": prepared["timeline_events"],
                 "build_seconds": info["build_seconds"], "build_summary": info.get("summary", ""),
                 "built_at": info.get("built_at")},
        "settings": {"duration_s": DURATION, "latency_runs": RUNS, "gunicorn_workers": 2},
        "pages": figures,
        "rss_mb": rss,
        "queries": {k: {"path": v["path"], "queries": v["queries"], "status": v["status"]}
                    for k, v in prepared["queries"].items()},
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (RESULTS / "queries.json").write_text(json.dumps(prepared["queries"], indent=2, ensure_ascii=False))
    report(results)
    # The other figures, each on its own data set or copy (BENCH_SALES=0, BENCH_IMPORTS=0 … skip one).
    others = ("imports", "exports", "dedupe", "commerce") if CONTACTS == 1_000_000 else ()
    for name in ("sales", *others):
        if os.environ.get(f"BENCH_{name.upper()}", "1") != "0":
            print(flush=True)
            subprocess.run([PYTHON, str(ROOT / "bench" / f"{name}.py")], cwd=ROOT, check=True)


def report(results: dict[str, Any]) -> None:
    print()
    print(f"Amity benchmark: {results['data']['contacts']:,} contacts, 2 gunicorn workers, SQLite, DEBUG off")
    print(f"{'page':<9}{'p50 ms':>9}{'p95 ms':>9}{'target':>9}{'req/s c1':>10}{'req/s c8':>10}{'queries':>9}  ok")
    for name, f in results["pages"].items():
        if "p50_ms" not in f:
            print(f"{name:<9}{'not measured (HTTP ' + str(f['status']) + ')':>40}")
            continue
        ok = "yes" if f["p50_ms"] <= f["target_p50_ms"] and not f["errors"] else "NO"
        print(f"{name:<9}{f['p50_ms']:>9.1f}{f['p95_ms']:>9.1f}{f['target_p50_ms']:>9.0f}{f['rps_1conn']:>10.0f}"
              f"{f['rps_8conn']:>10.0f}{f['queries']:>9}  {ok}")
    worst = max((v["VmRSS"] for v in results["rss_mb"].values()), default=0.0)
    parts = ", ".join(f"{v['VmRSS']:.0f} MB (anon {v['RssAnon']:.0f} + file {v['RssFile']:.0f})"
                      for v in results["rss_mb"].values())
    print(f"web worker RSS: {parts} (target < {RSS_TARGET_MB:.0f} MB: {'yes' if worst < RSS_TARGET_MB else 'NO'})")
    build_s = results["data"]["build_seconds"]
    verdict = ("yes" if build_s < BUILD_TARGET_S else "NO") if CONTACTS >= 1_000_000 else "n/a below 1M"
    print(f"demo build: {build_s:.0f} s for {CONTACTS:,} contacts (target < {BUILD_TARGET_S:.0f} s for 1M: {verdict})")
    print(f"results: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
