"""The duplicate-scan figure: a full scan of 1,000,000 contacts in ≤ 300 s.

`.venv/bin/python bench/dedupe.py` copies the 1,000,000-contact base workspace (`var/bench-base.sqlite3`, waiting
for `var/bench-base.ready`) to `var/bench-dedupe.sqlite3`, migrates the copy, injects ~5,000 realistic duplicates
(a shared phone with a retyped name, a Gmail/plus-tag variant of the email, the same company with a typo in the
name, first and last names transposed), then times the full scan (median of BENCH_RUNS=3, the queue emptied
before each run so every run writes the same pairs). Reports the pairs found, recall and precision on the injected
duplicates, the pairs found among the base data (random coincidences of the generator), peak RSS, the queue page
and one merge, and writes `bench/results/dedupe.json`.

Knobs: BENCH_DEDUPE_BASE (default var/bench-base.sqlite3), BENCH_DEDUPE_INJECT (5000), BENCH_RUNS (3),
BENCH_DEDUPE_KEEP=1 reuses an already prepared copy.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
RESULTS = ROOT / "bench" / "results"
BASE = Path(os.environ.get("BENCH_DEDUPE_BASE", VAR / "bench-base.sqlite3"))
DB_NAME = "bench-dedupe.sqlite3"
INJECT = int(os.environ.get("BENCH_DEDUPE_INJECT", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TARGET_SECONDS = 300.0


def prepare() -> None:
    target = VAR / DB_NAME
    if os.environ.get("BENCH_DEDUPE_KEEP") and target.exists():
        return
    ready = VAR / "bench-base.ready" if BASE == VAR / "bench-base.sqlite3" else None
    while ready is not None and not ready.exists():
        print("waiting for", ready, flush=True)
        time.sleep(10)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    print(f"copying {BASE} → {target}", flush=True)
    shutil.copyfile(BASE, target)
    env = {**os.environ, "AMITY_SQLITE_NAME": DB_NAME}
    subprocess.run([sys.executable, "manage.py", "migrate", "--skip-checks", "-v", "0"], cwd=ROOT, env=env,
                   check=True)


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip: a letter dropped, doubled or two swapped."""
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def plan_duplicates(n: int) -> list[tuple[Any, dict[str, Any]]]:
    """Which ``n`` contacts get a duplicate and how (deterministic: the same base gives the same plan)."""
    from amity.contacts.models import Contact, ContactEmail, ContactPhone

    rng = random.Random(2026)
    top = (Contact.objects.exclude(source="bench-duplicate").order_by("-id").values_list("id", flat=True).first()
           or 0)
    ids = rng.sample(range(1, top + 1), n * 3)
    originals = {c.pk: c for c in Contact.objects.filter(pk__in=ids, merged_into__isnull=True)}
    emails: dict[int, list[str]] = {}
    for contact_id, email in ContactEmail.objects.filter(contact_id__in=list(originals)).values_list(
            "contact_id", "email"):
        emails.setdefault(contact_id, []).append(email)
    phones: dict[int, str] = {}
    for contact_id, number in ContactPhone.objects.filter(contact_id__in=list(originals)).values_list(
            "contact_id", "number"):
        phones.setdefault(contact_id, number)
    taken = set(ContactEmail.objects.filter(email__startswith="zz-never").values_list("email", flat=True))
    chosen: list[tuple[Contact, dict[str, Any]]] = []
    kinds = ["phone", "email", "company", "transposed"]
    for pk in ids:
        if len(chosen) >= n or pk not in originals:
            continue
        orig = originals[pk]
        if not (orig.first_name and orig.last_name) or orig.first_name == orig.last_name:
            continue
        kind = kinds[len(chosen) % 4]
        first, last = orig.first_name, orig.last_name
        plan: dict[str, Any] = {"kind": kind, "company_id": None, "email": "", "phone": ""}
        if kind == "phone" and pk in phones:
            plan.update(phone=phones[pk], first=first, last=_typo(rng, last) if rng.random() < 0.5 else last)
        elif kind == "email" and emails.get(pk):
            local, _at, domain = emails[pk][0].partition("@")
            if domain == "gmail.com":
                variant = (local.replace(".", "") if "." in local else f"{local[:2]}.{local[2:]}") + "@googlemail.com"
            else:
                variant = f"{local}+{rng.choice(['shop', 'news', 'crm'])}@{domain}"
            if variant in taken:
                continue
            taken.add(variant)
            plan.update(email=variant, first=first[:1] + "." if rng.random() < 0.3 else first, last=last)
        elif kind == "company" and orig.company_id and not any(ord(ch) > 0x2E80 for ch in first + last):
            plan.update(company_id=orig.company_id, first=first, last=_typo(rng, last))
        elif kind == "transposed" and orig.company_id:
            plan.update(company_id=orig.company_id, first=last, last=first)
        else:
            continue
        chosen.append((orig, plan))
    return chosen


def inject(n: int) -> set[tuple[int, int]]:
    """Add ``n`` duplicates of random existing contacts in bulk; return the (original, copy) id pairs."""
    import uuid

    from django.db import transaction
    from django.utils import timezone

    from amity.contacts.models import Contact, ContactEmail, ContactPhone
    from amity.core.normalize import display_name

    plans = plan_duplicates(n)
    now = timezone.now()
    new_contacts = []
    for orig, plan in plans:
        new_contacts.append(Contact(
            uuid=uuid.uuid4(), first_name=plan["first"], last_name=plan["last"],
            display_name=display_name(plan["first"], plan["last"]), email=plan["email"], phone=plan["phone"],
            company_id=plan["company_id"], owner_id=orig.owner_id, country=orig.country, created_at=now,
            updated_at=now, source="bench-duplicate",
        ))
    with transaction.atomic():
        Contact.objects.bulk_create(new_contacts, batch_size=1000)
        created = list(Contact.objects.filter(source="bench-duplicate").order_by("id").values_list("id", flat=True))
        ContactEmail.objects.bulk_create([ContactEmail(contact_id=cid, email=plan["email"], kind="home",
                                                       is_primary=True)
                                          for cid, (_o, plan) in zip(created, plans, strict=True) if plan["email"]])
        ContactPhone.objects.bulk_create([ContactPhone(contact_id=cid, number=plan["phone"], is_primary=True)
                                          for cid, (_o, plan) in zip(created, plans, strict=True) if plan["phone"]])
    return {(orig.pk, cid) for cid, (orig, _p) in zip(created, plans, strict=True)}


def injected_pairs(n: int) -> set[tuple[int, int]]:
    """The (original, copy) pairs of duplicates injected earlier into this copy (BENCH_DEDUPE_KEEP)."""
    from amity.contacts.models import Contact

    created = list(Contact.objects.filter(source="bench-duplicate").order_by("id").values_list("id", flat=True))
    return {(orig.pk, cid) for cid, (orig, _p) in zip(created, plan_duplicates(n), strict=True)}


def main() -> None:
    prepare()
    os.environ["AMITY_SQLITE_NAME"] = DB_NAME
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amity.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    from amity.accounts.models import User
    from amity.contacts import dedupe, merge
    from amity.contacts.models import Contact, DuplicatePair

    injected_already = Contact.objects.filter(source="bench-duplicate").exists()
    if injected_already:
        pairs = injected_pairs(INJECT)
        print(f"{len(pairs):,} duplicates were injected earlier (BENCH_DEDUPE_KEEP)", flush=True)
    else:
        started = time.monotonic()
        pairs = inject(INJECT)
        print(f"injected {len(pairs):,} duplicates in {time.monotonic() - started:.1f} s", flush=True)
    contacts = Contact.objects.count()
    load_before = os.getloadavg()
    timings = []
    result = None
    for run in range(RUNS):
        DuplicatePair.objects.all().delete()
        started = time.monotonic()
        result = dedupe.scan(progress=lambda m, s=started: print(f"  {time.monotonic() - s:6.1f} s  {m}", flush=True))
        timings.append(time.monotonic() - started)
        print(f"run {run + 1}: {timings[-1]:.1f} s, {result.pairs:,} pairs", flush=True)
    assert result is not None
    found = set(DuplicatePair.objects.values_list("contact_a_id", "contact_b_id"))
    injected_keys = {tuple(sorted(p)) for p in pairs}
    injected_ids = {copy for _original, copy in pairs}
    hit = injected_keys & found
    involving = {p for p in found if p[0] in injected_ids or p[1] in injected_ids}
    by_kind: dict[str, list[int]] = {}
    background: dict[str, int] = {}
    for pair in DuplicatePair.objects.exclude(contact_b_id__in=injected_ids).exclude(
            contact_a_id__in=injected_ids).values_list("reasons", flat=True).iterator():
        background[pair[0]["code"]] = background.get(pair[0]["code"], 0) + 1
    for key in injected_keys:
        kind = Contact.objects.filter(pk=key[1]).values_list("email", "phone", "company_id").first()
        label = "phone" if kind and kind[1] else "email" if kind and kind[0] else "name_company"
        by_kind.setdefault(label, [0, 0])
        by_kind[label][0] += 1
        by_kind[label][1] += key in found
    # The queue page and one merge, in-process, as an admin.
    from amity.core import demo

    admin = User.objects.filter(email=demo.ADMIN_EMAIL).first()
    page_ms = []
    if admin is not None:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(admin)
        for _ in range(5):
            started = time.monotonic()
            assert client.get("/duplicates/").status_code == 200
            page_ms.append((time.monotonic() - started) * 1000)
    merge_ms = None
    if admin is not None and hit:
        a, b = sorted(hit)[0]
        winner, loser = Contact.objects.get(pk=a), Contact.objects.get(pk=b)
        started = time.monotonic()
        merge.merge_contacts(user=admin, winner=winner, loser=loser)
        merge_ms = (time.monotonic() - started) * 1000
    load = os.getloadavg()
    figures = {
        "contacts": contacts,
        "injected": len(pairs),
        "scan_seconds": [round(t, 1) for t in timings],
        "scan_seconds_median": round(statistics.median(timings), 1),
        "target_seconds": TARGET_SECONDS,
        "met": statistics.median(timings) <= TARGET_SECONDS,
        "pairs_found": len(found),
        "pairs_by_first_reason": result.by_reason,
        "injected_found": len(hit),
        "recall_injected": round(len(hit) / len(injected_keys), 4) if injected_keys else None,
        "recall_by_kind": {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_kind.items())},
        "precision_injected": round(len(hit) / len(involving), 4) if involving else None,
        "pairs_in_base_data": sum(background.values()),
        "pairs_in_base_data_by_reason": background,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "queue_page_ms_median": round(statistics.median(page_ms), 1) if page_ms else None,
        "merge_ms": round(merge_ms, 1) if merge_ms else None,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedupe.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
