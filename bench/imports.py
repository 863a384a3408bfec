"""Import bench (runnable alone: `.venv/bin/python bench/imports.py`).

Generates a contacts CSV (default 1,000,000 rows: realistic names, emails and phones; ~30 % of the rows carry the
email of an existing contact, ~0.3 % are broken: a bad email, a bad phone or no name at all), copies the
1,000,000-contact base workspace (`var/bench-base.sqlite3`, waits for `var/bench-base.ready`) to
`var/bench-imports.sqlite3`, migrates it and runs the import the way the worker does (the `amity import` command,
matching on email and updating matches) in a subprocess. Measures wall time, CPU time (user + sys of the import
and of the child process that reads the file for it) and memory: the peak RSS of the importing process (VmHWM from
/proc) and the peak of its RSS plus its reading child's, sampled every 0.2 s. Targets: ≤ 120 s, < 500 MB.

Knobs: BENCH_IMPORTS_ROWS (default 1,000,000), BENCH_RUNS (default 3; the median is reported).
Writes bench/results/imports.json.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as core_bench  # noqa: E402  (bench/run.py: production settings for the benches)

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("AMITY_VAR_DIR", ROOT / "var"))
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
ROWS = int(os.environ.get("BENCH_IMPORTS_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BASE = VAR / "bench-base.sqlite3"
READY = VAR / "bench-base.ready"
DB_NAME = "bench-imports.sqlite3"
TARGET_SECONDS = 120.0
TARGET_MB = 500.0
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Barbara", "Ken", "Dennis", "Frances", "Edsger", "Hedy",
         "Radia", "Tim", "Katherine", "John", "Mary", "小明", "伟", "芳", "娜", "Sofia", "Lukas", "Emma", "Noah"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Liskov", "Thompson", "Ritchie", "Allen",
        "Dijkstra", "Lamarr", "Perlman", "Berners-Lee", "Johnson", "王", "李", "张", "刘", "García", "Müller"]
CITIES = ["Berlin", "Paris", "Shanghai", "New York", "London", "São Paulo", "Lagos", "Mumbai", "Sydney"]


def env() -> dict[str, str]:
    """bench/run.py's production settings on this bench's database copy."""
    e = core_bench.env("bench-imports-" + "x" * 40)
    e["AMITY_SQLITE_NAME"] = DB_NAME
    return e


def wait_for_base() -> None:
    while not READY.exists():
        print("waiting for var/bench-base.ready …", flush=True)
        time.sleep(15)


TEMPLATE = VAR / "bench-imports-template.sqlite3"


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def fresh_copy() -> Path:
    """A migrated copy of the base workspace; the migration (slow on 1M rows) runs once, into a template."""
    target = VAR / DB_NAME
    if not TEMPLATE.exists():
        _remove(target)
        shutil.copyfile(BASE, target)
        subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
        with sqlite3.connect(target) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(target, TEMPLATE)
    _remove(target)
    shutil.copyfile(TEMPLATE, target)
    return target


def existing_emails(db: Path, count: int) -> list[str]:
    with sqlite3.connect(db) as conn:
        (top,) = conn.execute("SELECT max(id) FROM contacts_contactemail").fetchone()
        ids = random.Random(7).sample(range(1, top + 1), min(count * 2, top))
        found: list[str] = []
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            found += [r[0] for r in conn.execute(
                f"SELECT email FROM contacts_contactemail WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
            if len(found) >= count:
                break
    return found[:count]


def generate(path: Path, emails: list[str]) -> dict[str, int]:
    rng = random.Random(42)
    matching = set(rng.sample(range(ROWS), len(emails)))
    broken = set(rng.sample(range(ROWS), ROWS * 3 // 1000))
    email_iter = iter(emails)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "Email", "Phone", "City", "Tags"])
        for i in range(ROWS):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = next(email_iter) if i in matching else f"imp{i}.{rng.randrange(10**6)}@example{i % 97}.com"
            phone = f"+1 202 555 {rng.randrange(10000):04d}" if rng.random() < 0.6 else \
                f"+49 151 {rng.randrange(10**7, 10**8)}"
            if i in broken:
                kind = i % 3
                if kind == 0:
                    email = "not-an-email@"
                elif kind == 1:
                    phone = "12"
                else:
                    first = last = email = ""
            writer.writerow([first, last, email, phone, rng.choice(CITIES), "import" if i % 10 == 0 else ""])
    return {"rows": ROWS, "matching": len(matching), "broken": len(broken)}


def _status_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def tree_rss_mb(pid: int) -> float:
    """RSS of the process and its children (the import's reading process)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return _status_mb(pid, "VmRSS:") + sum(_status_mb(int(c), "VmRSS:") for c in children)


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(csv_path: Path, mapping: Path) -> dict[str, Any]:
    fresh_copy()
    args = [PYTHON, str(ROOT / "manage.py"), "import", str(csv_path), "--type", "contact", "--mapping", str(mapping),
            "--match", "email", "--on-match", "update"]
    cpu_before = _cpu_children()
    started = time.monotonic()
    process = subprocess.Popen(args, cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True)  # noqa: S603
    peak = tree = 0.0
    while process.poll() is None:
        peak = max(peak, peak_rss_mb(process.pid))
        tree = max(tree, tree_rss_mb(process.pid))
        time.sleep(0.2)
    seconds = time.monotonic() - started
    cpu = _cpu_children() - cpu_before  # the import and its reading child (reaped by it)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"import failed ({process.returncode}): {output}")
    summary = json.loads(output.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "cpu_ms_per_row": round(cpu * 1000 / max(1, summary.get("total", 0)), 3),
            "peak_rss_mb": round(peak, 1), "peak_rss_with_reader_mb": round(tree, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()], **summary}


def main() -> None:
    wait_for_base()
    csv_path = VAR / f"bench-imports-{ROWS}.csv"
    mapping = VAR / "bench-imports-mapping.json"
    mapping.write_text(json.dumps({"First name": "first_name", "Last name": "last_name", "Email": "email",
                                   "Phone": "phone", "City": "city", "Tags": "tags"}))
    if not csv_path.exists():
        base_copy = fresh_copy()
        print(f"generating {ROWS:,} rows …", flush=True)
        shape = generate(csv_path, existing_emails(base_copy, ROWS * 3 // 10))
        print(shape, flush=True)
    runs = []
    for n in range(RUNS):
        result = run_once(csv_path, mapping)
        print(f"run {n + 1}: {result}", flush=True)
        runs.append(result)
    seconds = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    rss = statistics.median(r["peak_rss_mb"] for r in runs)
    tree = statistics.median(r["peak_rss_with_reader_mb"] for r in runs)
    load = os.getloadavg()
    results = {
        "rows": ROWS, "existing_contacts": "1,000,000 (var/bench-base.sqlite3)", "match": "email, update",
        "seconds_median": seconds, "cpu_seconds_median": cpu, "cpu_ms_per_row": round(cpu * 1000 / ROWS, 3),
        "peak_rss_mb_median": rss, "peak_rss_with_reader_mb_median": tree, "runs": runs,
        "rows_per_second": round(ROWS / seconds), "targets": {"seconds": TARGET_SECONDS, "rss_mb": TARGET_MB},
        "meets_targets": seconds <= TARGET_SECONDS and tree < TARGET_MB,
        "load_average": [round(x, 2) for x in load], "cores": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "imports.json").write_text(json.dumps(results, indent=2))
    print(f"import of {ROWS:,} rows: {seconds} s (median of {RUNS}), {results['rows_per_second']:,} rows/s, "
          f"{cpu} s CPU ({results['cpu_ms_per_row']} ms/row), peak RSS {rss} MB ({tree} MB with the reading "
          f"process), load average {load[0]:.2f}; targets ≤ {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB: "
          f"{'met' if results['meets_targets'] else 'missed'}")


if __name__ == "__main__":
    main()
