"""Export figures (runnable alone: `.venv/bin/python bench/exports.py`).

Copies the 1,000,000-contact base workspace (`var/bench-base.sqlite3`, once `var/bench-base.ready` exists) to
`var/bench-exports.sqlite3`, migrates the copy, then measures through the real views (Django's test client in a
fresh process with production settings, DEBUG off), each in its own process so its peak RSS is its own:

- csv:       GET /contacts/export.csv, all 1,000,000 contacts, the whole body consumed      target ≤ 60 s
- xlsx:      GET /contacts/export.xlsx?stage=mql (99,871 contacts)
- workspace: the full workspace archive (what POST /settings/workspace/ and `export-workspace` write)

Each figure is the median of BENCH_RUNS runs (default 3; the workspace export runs BENCH_WORKSPACE_RUNS, default 1,
as it reads every table). Knobs: BENCH_EXPORTS_REFRESH=1 copies the base again; BENCH_EXPORTS_ONLY=csv,xlsx,workspace picks figures (the
others are kept from the previous bench/results/exports.json). Writes bench/results/exports.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core_bench  # noqa: E402  (bench/run.py: production settings for the benches)

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
RESULTS = ROOT / "bench" / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BASE = VAR / "bench-base.sqlite3"
DB_NAME = "bench-exports.sqlite3"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WORKSPACE_RUNS = int(os.environ.get("BENCH_WORKSPACE_RUNS", "1"))
TARGET_CSV_SECONDS = 60.0


def env() -> dict[str, str]:
    """bench/run.py's production settings on this bench's database copy."""
    e = core_bench.env("bench-exports-" + "x" * 40)
    e["AMITY_SQLITE_NAME"] = DB_NAME
    e["ALLOWED_HOSTS"] = "127.0.0.1,testserver"  # the test client calls itself testserver
    return e


def prepare() -> None:
    target = VAR / DB_NAME
    if not (VAR / "bench-base.ready").exists():
        print("waiting for var/bench-base.ready …", flush=True)
        while not (VAR / "bench-base.ready").exists():
            time.sleep(10)
    if os.environ.get("BENCH_EXPORTS_REFRESH") == "1" or not target.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(BASE, target)
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "--no-input"], cwd=ROOT, env=env(), check=True,
                   stdout=subprocess.DEVNULL)


# --- inside Django (a child process per measurement) ---------------------------------------------------------------

def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(what: str) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.test import Client

    from amity.accounts.models import User

    admin = User.objects.filter(role__is_admin=True, is_active=True).order_by("pk").first()
    client = Client()
    client.force_login(admin)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    size = lines = 0
    if what == "workspace":
        response = client.post("/settings/workspace/")
    elif what == "csv":
        response = client.get("/contacts/export.csv")
    else:
        response = client.get("/contacts/export.xlsx", {"stage": "mql"})
    assert response.status_code == 200, response.status_code
    for chunk in response.streaming_content:
        size += len(chunk)
        if what == "csv":
            lines += chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                      "bytes": size, "rows": lines - 1 if what == "csv" else None,
                      "peak_rss_mb": round(peak_rss_mb(), 1), "rss_before_mb": round(rss_before, 1)}))


def measure(what: str, runs: int) -> dict[str, Any]:
    results = []
    for n in range(runs):
        out = subprocess.run([PYTHON, __file__, "_child", what], cwd=ROOT, env=env(), check=True, text=True,
                             stdout=subprocess.PIPE).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"  {what} run {n + 1}: {result['seconds']} s ({result['cpu_seconds']} s CPU), peak RSS {result['peak_rss_mb']} MB "
              f"({result['bytes'] / 1e6:.1f} MB out)", flush=True)
        results.append(result)
    return {
        "seconds_median": statistics.median(r["seconds"] for r in results),
        "cpu_seconds_median": statistics.median(r["cpu_seconds"] for r in results),
        "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in results),
        "bytes": results[-1]["bytes"], "rows": results[-1]["rows"], "runs": results,
    }


def main() -> None:
    prepare()
    load_before = os.getloadavg()
    previous = RESULTS / "exports.json"
    figures: dict[str, Any] = json.loads(previous.read_text()) if previous.exists() else {}
    only = set(filter(None, os.environ.get("BENCH_EXPORTS_ONLY", "csv,xlsx,workspace").split(",")))
    if "csv" in only:
        print("CSV export of every contact:", flush=True)
        figures["csv_all_contacts"] = measure("csv", RUNS)
    if "xlsx" in only:
        print("XLSX export of ~100,000 contacts (stage=mql):", flush=True)
        figures["xlsx_100k_contacts"] = measure("xlsx", RUNS)
    if "workspace" in only:
        print("Full workspace export:", flush=True)
        figures["workspace"] = measure("workspace", WORKSPACE_RUNS)
    figures.setdefault("load_average_runs", []).append({"only": sorted(only), "before": [round(x, 2) for x in load_before],
                                                        "after": [round(x, 2) for x in os.getloadavg()]})
    figures["load_average"] = {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    csv_seconds = figures["csv_all_contacts"]["seconds_median"]
    figures["targets"] = {"csv_all_contacts_seconds": TARGET_CSV_SECONDS,
                          "csv_met": csv_seconds <= TARGET_CSV_SECONDS}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "exports.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nCSV {figures['csv_all_contacts']['rows']:,} rows: {csv_seconds} s (target ≤ {TARGET_CSV_SECONDS:.0f} s), "
          f"peak RSS {figures['csv_all_contacts']['peak_rss_mb_median']} MB")
    if "xlsx_100k_contacts" in figures:  # absent when only some figures were asked for and none were kept
        print(f"XLSX: {figures['xlsx_100k_contacts']['seconds_median']} s, "
              f"peak RSS {figures['xlsx_100k_contacts']['peak_rss_mb_median']} MB")
    if "workspace" in figures:
        print(f"Workspace: {figures['workspace']['seconds_median']} s, {figures['workspace']['bytes'] / 1e6:.0f} MB, "
              f"peak RSS {figures['workspace']['peak_rss_mb_median']} MB")
    print(f"load average before {figures['load_average']['before']}, after {figures['load_average']['after']}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        child(sys.argv[2])
    else:
        main()
