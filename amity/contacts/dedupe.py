"""Duplicate detection: the scan that fills the duplicates queue, its scoring, and the queue's reads and writes.

Rules (each pair gets a 0–100 score and the reasons it matched):

- ``email``: the same mailbox written another way (``ada.lovelace+news@gmail.com`` = ``adalovelace@googlemail.com``;
  plus-tags are dropped for every domain, dots only for Gmail). Emails are unique per contact, so an exact copy
  cannot exist; ``email_field`` is one contact's email found in a custom field of the other.
- ``phone``: the same E.164 number (scored by how alike the names are: a shared family or office line with
  different names scores low).
- ``name_company`` / ``name_domain``: similar names (tokens sorted, so "Lovelace Ada" = "Ada Lovelace"; accents
  folded; Chinese names compared by their characters) at the same company or the same non-freemail email domain.

The scan is near-linear: candidates are only compared inside blocks (a company, an email domain, a phone number);
giant blocks are split by a name key (domain blocks over ``MAX_DOMAIN_BLOCK`` are skipped, like "gmail.com"). It
reads each table once, streaming, keeps one prepared name per contact in memory, and writes the queue in batches:
new pairs are created, open pairs get their score and reasons refreshed, open pairs that no longer match are
removed, dismissed and merged pairs are left as they are.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import time as clock
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rapidfuzz import fuzz, process

from amity.core import audit, periodic
from amity.core.models import AuditAction, PeriodicJob
from amity.core.pagination import Ordering, Page, keyset_page, page_size
from amity.core.permissions import can_edit, is_admin, require, visible_to

from .models import Contact, ContactEmail, ContactPhone, DuplicatePair, DuplicateStatus

logger = logging.getLogger("amity.dedupe")

JOB_NAME = "contacts.duplicate_scan"
NAME_THRESHOLD = 88  # similar names: "Jon Smith" ~ "John Smith" (95), "John Smith" !~ "Jane Smith" (80)
PREFILTER = 70  # cheap first pass inside a block, refined by ``name_similarity``
STORE_THRESHOLD = 60  # not queued below this: a shared phone between unrelated names (55) is a household or switchboard
MAX_BLOCK = 3000  # a bigger company block is split by name key
MAX_DOMAIN_BLOCK = 2000  # a bigger email domain is skipped (a shared provider, not an employer)
MAX_PHONE_BLOCK = 50  # a number shared by more contacts is a switchboard: only similar names pair up there
WRITE_BATCH = 2000
GMAIL = {"gmail.com", "googlemail.com"}
# Personal mailbox providers: a shared domain says nothing about being the same person.
FREEMAIL = GMAIL | {
    "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com", "icloud.com", "me.com",
    "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de", "mail.com", "mail.ru",
    "yandex.ru", "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "naver.com", "orange.fr",
    "free.fr", "libero.it", "t-online.de", "example.com",
}
REASON_LABELS = {
    "email": gettext_lazy("Same email"),
    "email_field": gettext_lazy("Email in another field"),
    "phone": gettext_lazy("Same phone"),
    "name_company": gettext_lazy("Similar name, same company"),
    "name_domain": gettext_lazy("Similar name, same email domain"),
}
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EMAILISH = re.compile(r"[^@\s\"',;<>]+@[^@\s\"',;<>]+\.[a-z]{2,}", re.IGNORECASE)


# --- normalisation and scoring ----------------------------------------------------------------------------------

def canonical_email(email: str) -> str:
    """The mailbox an address delivers to: plus-tags dropped, Gmail's dots dropped, googlemail.com → gmail.com."""
    local, _at, domain = (email or "").strip().lower().rpartition("@")
    if not local:
        return ""
    local = local.split("+", 1)[0] or local
    if domain in GMAIL:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def prepare_name(first: str, last: str) -> str:
    """A comparable form of a name: accents folded, lower case, tokens sorted (so transposed names are equal).
    CJK characters count as tokens, so "王小明" and "小明 王" compare by their characters."""
    text = f"{first or ''} {last or ''}"
    if _CJK.search(text):
        chars = [ch for ch in text if not ch.isspace()]
        return " ".join(sorted(ch.lower() for ch in chars if ch.isalnum()))
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return " ".join(sorted(_WORD.findall(folded)))


def name_similarity(a: str, b: str) -> float:
    """0–100 for two prepared names. Short Chinese names must have the same characters: "王小明" and "王小红"
    share two of three characters and are usually different people."""
    if not a or not b:
        return 0.0
    if _CJK.search(a) or _CJK.search(b):
        if a == b:
            return 100.0
        score = fuzz.ratio(a, b)
        return score if min(a.count(" "), b.count(" ")) >= 3 else min(score, NAME_THRESHOLD - 1)
    score = fuzz.ratio(a, b)
    if " " in a and " " in b:
        # A middle name on one side only ("Ada King Lovelace" ~ "Ada Lovelace").
        score = max(score, fuzz.token_set_ratio(a, b) - 2)
    return score


@dataclass
class Signals:
    """What two contacts have in common, collected across the blocks before they are scored."""

    email: str = ""
    email_field: str = ""
    phone: str = ""
    company: bool = False
    domain: str = ""
    name: float | None = None


def score_pair(signals: Signals) -> tuple[int, list[dict[str, Any]]]:
    """The pair's score (0–100) and its reasons, strongest first."""
    name = signals.name or 0.0
    reasons: list[tuple[int, dict[str, Any]]] = []
    evidence = 0
    if signals.email:
        reasons.append((95, {"code": "email", "detail": signals.email}))
    elif signals.email_field:
        reasons.append((85, {"code": "email_field", "detail": signals.email_field}))
    if signals.email or signals.email_field:
        evidence += 1
    if signals.phone:
        if name >= NAME_THRESHOLD:
            value = 92
        elif name >= PREFILTER:
            value = 80
        elif signals.name is None:  # a contact without a name
            value = 75
        else:
            value = 55  # a family or office line
        reasons.append((value, {"code": "phone", "detail": signals.phone}))
        evidence += 1
    named = False
    if signals.company and name >= NAME_THRESHOLD:
        reasons.append((round(name) - 3, {"code": "name_company", "score": round(name)}))
        named = True
    if signals.domain and name >= NAME_THRESHOLD and not signals.company:
        reasons.append((round(name) - 6, {"code": "name_domain", "score": round(name), "detail": signals.domain}))
        named = True
    evidence += named
    if not reasons:
        return 0, []
    reasons.sort(key=lambda r: -r[0])
    score = min(100, reasons[0][0] + 4 * (evidence - 1))
    return int(score), [r for _s, r in reasons]


def reason_label(reason: Mapping[str, Any]) -> str:
    """"Same phone", "Similar name, same company 93"."""
    label = str(REASON_LABELS.get(reason.get("code", ""), reason.get("code", "")))
    return f"{label} {reason['score']}" if "score" in reason else label


# --- the scan ---------------------------------------------------------------------------------------------------

@dataclass
class ScanResult:
    contacts: int = 0
    pairs: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0
    seconds: float = 0.0
    by_reason: dict[str, int] = field(default_factory=dict)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _similar_in_block(ids: list[int], names: Mapping[int, str]) -> Iterator[tuple[int, int, float]]:
    """Pairs of contacts in one block whose names are similar, compared in C (rapidfuzz) row by row."""
    members = [(i, names[i]) for i in ids if names.get(i)]
    if len(members) < 2:
        return
    if len(members) > MAX_BLOCK:
        # Split a giant block by the first letter of the sorted name (transpositions still meet).
        sub: dict[str, list[int]] = defaultdict(list)
        for i, name in members:
            sub[name[:1]].append(i)
        if len(sub) == 1:
            sub = defaultdict(list)
            for i, name in members:
                sub[name[:2]].append(i)
        if len(sub) > 1:
            for part in sub.values():
                yield from _similar_in_block(part, names)
            return
    strings = [name for _i, name in members]
    for x in range(len(members) - 1):
        a = strings[x]
        for _choice, _score, y in process.extract(a, strings[x + 1 :], scorer=fuzz.ratio, score_cutoff=PREFILTER,
                                                  limit=None):
            b = strings[x + 1 + y]
            similarity = name_similarity(a, b)
            if similarity >= NAME_THRESHOLD:
                yield members[x][0], members[x + 1 + y][0], similarity


def collect_signals(progress: Any = None) -> tuple[dict[tuple[int, int], Signals], int]:
    """Read contacts, emails and phones once and return the candidate pairs with what they share."""
    names: dict[int, str] = {}
    companies: dict[int, list[int]] = defaultdict(list)
    with_custom: list[int] = []
    rows = Contact.objects.values_list("id", "first_name", "last_name", "company_id", "merged_into_id", "custom")
    for pk, first, last, company_id, merged_into_id, custom in rows.iterator(chunk_size=5000):
        if merged_into_id is not None:
            continue
        names[pk] = prepare_name(first, last)
        if company_id is not None:
            companies[company_id].append(pk)
        if custom:
            with_custom.append(pk)
    if progress:
        progress(f"contacts read: {len(names):,}")
    signals: dict[tuple[int, int], Signals] = defaultdict(Signals)

    # Emails: one pass; variants (Gmail dots, plus-tags) and work domains.
    domains: dict[str, list[int]] = defaultdict(list)
    variants: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for contact_id, email in ContactEmail.objects.values_list("contact_id", "email").iterator(chunk_size=5000):
        if contact_id not in names:
            continue
        domain = email.rpartition("@")[2]
        if domain not in FREEMAIL:
            domains[domain].append(contact_id)
        canonical = canonical_email(email)
        if canonical != email or domain in GMAIL:
            variants[canonical].append((contact_id, email))
    # A tagged address whose plain form belongs to someone else ("ada+x@acme.com" and "ada@acme.com").
    plain = [c for c, found in variants.items() if any(e != c for _i, e in found)]
    for start in range(0, len(plain), 500):
        for contact_id, email in ContactEmail.objects.filter(email__in=plain[start : start + 500]).values_list(
            "contact_id", "email"
        ):
            if contact_id in names and all(e != email for _i, e in variants[email]):
                variants[email].append((contact_id, email))
    for canonical, found in variants.items():
        owners = sorted({contact_id for contact_id, _e in found})
        for x, a in enumerate(owners):
            for b in owners[x + 1 :]:
                signals[(a, b)].email = canonical
    # An email of one contact in a custom field of another.
    custom_emails: dict[str, int] = {}
    for start in range(0, len(with_custom), 1000):
        for pk, custom in Contact.objects.filter(pk__in=with_custom[start : start + 1000]).values_list("id", "custom"):
            for value in (custom or {}).values():
                for address in _EMAILISH.findall(str(value)):
                    custom_emails.setdefault(address.lower(), pk)
    found_addresses = list(custom_emails)
    for start in range(0, len(found_addresses), 500):
        for contact_id, email in ContactEmail.objects.filter(email__in=found_addresses[start : start + 500]).values_list(
            "contact_id", "email"
        ):
            other = custom_emails[email]
            if contact_id in names and other != contact_id and not signals[_pair(contact_id, other)].email:
                signals[_pair(contact_id, other)].email_field = email
    if progress:
        progress(f"emails read: {len(domains):,} work domains")

    # Phones shared by several contacts (the number index answers the GROUP BY).
    shared = (ContactPhone.objects.values("number").annotate(n=Count("contact_id", distinct=True))
              .filter(n__gt=1).values_list("number", flat=True))
    by_number: dict[str, set[int]] = defaultdict(set)
    numbers = list(shared.iterator(chunk_size=5000))
    for start in range(0, len(numbers), 500):
        for contact_id, number in ContactPhone.objects.filter(number__in=numbers[start : start + 500]).values_list(
            "contact_id", "number"
        ):
            if contact_id in names:
                by_number[number].add(contact_id)
    for number, owners_set in by_number.items():
        owners = sorted(owners_set)
        if len(owners) > MAX_PHONE_BLOCK:
            for a, b, _sim in _similar_in_block(owners, names):
                signals[_pair(a, b)].phone = number
            continue
        for x, a in enumerate(owners):
            for b in owners[x + 1 :]:
                signals[(a, b)].phone = number
    if progress:
        progress(f"phones read: {len(by_number):,} shared numbers")

    # Similar names inside a company, then inside a work email domain.
    for ids in companies.values():
        if len(ids) > 1:
            for a, b, similarity in _similar_in_block(ids, names):
                pair = signals[_pair(a, b)]
                pair.company, pair.name = True, similarity
    for domain, ids in domains.items():
        unique = sorted(set(ids))
        if 1 < len(unique) <= MAX_DOMAIN_BLOCK:
            for a, b, similarity in _similar_in_block(unique, names):
                pair = signals[_pair(a, b)]
                pair.domain, pair.name = domain, similarity
    if progress:
        progress(f"names compared: {len(signals):,} candidate pairs")

    for (a, b), pair in signals.items():
        if pair.name is None and names.get(a) and names.get(b):
            pair.name = name_similarity(names[a], names[b])
    return signals, len(names)


def scored_pairs(signals: Mapping[tuple[int, int], Signals]) -> dict[tuple[int, int], tuple[int, list[dict[str, Any]]]]:
    result = {}
    for key, pair in signals.items():
        score, reasons = score_pair(pair)
        if score >= STORE_THRESHOLD:
            result[key] = (score, reasons)
    return result


def _batches(items: list[Any], size: int = WRITE_BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def save_pairs(found: Mapping[tuple[int, int], tuple[int, list[dict[str, Any]]]], result: ScanResult) -> None:
    """Upsert the queue: create new pairs, refresh open ones, drop open ones that no longer match."""
    now = timezone.now()
    existing = {(a, b): (pk, status, score, reasons) for pk, a, b, status, score, reasons in
                DuplicatePair.objects.values_list("id", "contact_a_id", "contact_b_id", "status", "score", "reasons")
                .iterator(chunk_size=5000)}
    to_create: list[DuplicatePair] = []
    to_update: list[DuplicatePair] = []
    for key, (score, reasons) in found.items():
        row = existing.get(key)
        if row is None:
            to_create.append(DuplicatePair(contact_a_id=key[0], contact_b_id=key[1], score=score, reasons=reasons,
                                           detected_at=now))
        elif row[1] == DuplicateStatus.OPEN and (row[2] != score or row[3] != reasons):
            to_update.append(DuplicatePair(pk=row[0], score=score, reasons=reasons))
    stale = [row[0] for key, row in existing.items() if row[1] == DuplicateStatus.OPEN and key not in found]
    for batch in _batches(to_create):
        with transaction.atomic():
            # A merge may have run meanwhile: pairs of contacts merged since they were read are skipped.
            DuplicatePair.objects.bulk_create(batch, ignore_conflicts=True)
    for batch in _batches(to_update):
        with transaction.atomic():
            DuplicatePair.objects.bulk_update(batch, ["score", "reasons"])
    for batch in _batches(stale):
        with transaction.atomic():
            DuplicatePair.objects.filter(pk__in=batch, status=DuplicateStatus.OPEN).delete()
    result.created, result.updated, result.removed = len(to_create), len(to_update), len(stale)


def scan(progress: Any = None) -> ScanResult:
    """A full duplicate scan of every contact that has not been merged; refreshes the queue."""
    started = time.monotonic()
    result = ScanResult()
    signals, result.contacts = collect_signals(progress)
    found = scored_pairs(signals)
    del signals
    result.pairs = len(found)
    for _score, reasons in found.values():
        code = reasons[0]["code"]
        result.by_reason[code] = result.by_reason.get(code, 0) + 1
    if progress:
        progress(f"pairs scored: {len(found):,}")
    save_pairs(found, result)
    result.seconds = round(time.monotonic() - started, 2)
    logger.info("duplicate scan: %s contacts, %s pairs (%s new, %s refreshed, %s removed) in %.1f s",
                result.contacts, result.pairs, result.created, result.updated, result.removed, result.seconds)
    return result


@periodic.every(JOB_NAME, daily_at=clock(2, 30))
def nightly_scan() -> None:
    scan()


# --- the queue: reads and writes ----------------------------------------------------------------------------------

QUEUE_ORDER = Ordering("score", descending=True)


def pairs_for(user: Any) -> QuerySet[DuplicatePair]:
    """Pairs whose two contacts the user may both see."""
    qs = visible_to(user, DuplicatePair.objects.all(), via="contact_a__")
    return visible_to(user, qs, via="contact_b__")


def _int_param(params: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    raw = (params.get(name) or "").strip() if isinstance(params.get(name), str) else params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: [_("“%(value)s” is not a whole number.") % {"value": raw}]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high}]})
    return value


def pair_queue(*, user: Any, params: Mapping[str, Any]) -> Page[DuplicatePair]:
    """One page of the queue, best score first, filtered by status, minimum score and reason."""
    status = (params.get("status") or DuplicateStatus.OPEN).strip()
    if status not in DuplicateStatus.values:
        raise ValidationError({"status": [_("“%(value)s” is not one of: %(choices)s.")
                                          % {"value": status, "choices": ", ".join(DuplicateStatus.values)}]})
    qs = pairs_for(user).filter(status=status)
    min_score = _int_param(params, "min_score", 0, 100)
    if min_score:
        qs = qs.filter(score__gte=min_score)
    reason = (params.get("reason") or "").strip()
    if reason:
        if reason not in REASON_LABELS:
            raise ValidationError({"reason": [_("“%(value)s” is not one of: %(choices)s.")
                                              % {"value": reason, "choices": ", ".join(REASON_LABELS)}]})
        # The reasons column is a JSON list; its text holds '"code": "<reason>"' (the same on SQLite and PostgreSQL).
        qs = qs.filter(reasons__icontains=f'"code": "{reason}"')
    qs = qs.select_related("contact_a__company", "contact_b__company")
    page = keyset_page(qs, QUEUE_ORDER, params.get("cursor") or None, page_size(params), count=True)
    attach_details(page.items)
    return page


def attach_details(pairs: list[DuplicatePair]) -> None:
    """Emails and phones of every contact on the page in two queries."""
    ids = {p.contact_a_id for p in pairs} | {p.contact_b_id for p in pairs}
    emails: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    if ids:
        for contact_id, email in ContactEmail.objects.filter(contact_id__in=ids).order_by("-is_primary", "id") \
                .values_list("contact_id", "email"):
            emails[contact_id].append(email)
        for contact_id, number in ContactPhone.objects.filter(contact_id__in=ids).order_by("-is_primary", "id") \
                .values_list("contact_id", "number"):
            phones[contact_id].append(number)
    for pair in pairs:
        for contact in (pair.contact_a, pair.contact_b):
            contact.email_list = emails.get(contact.pk, [])  # type: ignore[attr-defined]
            contact.phone_list = phones.get(contact.pk, [])  # type: ignore[attr-defined]
        pair.reason_labels = [reason_label(r) for r in pair.reasons]  # type: ignore[attr-defined]


def get_pair(*, user: Any, uuid: Any) -> DuplicatePair:
    """One pair whose two contacts the user may see, or Http404."""
    try:
        return pairs_for(user).select_related("contact_a__company", "contact_b__company").get(uuid=uuid)
    except (DuplicatePair.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def open_pairs_of(*, user: Any, contact: Contact, limit: int = 5) -> list[DuplicatePair]:
    """Open pairs involving ``contact`` (the 360 page's "Possible duplicates" notice), best first."""
    from django.db.models import Q

    qs = pairs_for(user).filter(Q(contact_a=contact) | Q(contact_b=contact), status=DuplicateStatus.OPEN)
    pairs = list(qs.select_related("contact_a", "contact_b").order_by("-score", "id")[:limit])
    for pair in pairs:
        pair.other = pair.contact_b if pair.contact_a_id == contact.pk else pair.contact_a  # type: ignore[attr-defined]
        pair.reason_labels = [reason_label(r) for r in pair.reasons]  # type: ignore[attr-defined]
    return pairs


@transaction.atomic
def dismiss_pair(*, user: Any, pair: DuplicatePair) -> DuplicatePair:
    """"Not a duplicate": the pair leaves the queue and later scans keep it dismissed."""
    require(can_edit(user))
    if pair.status == DuplicateStatus.MERGED:
        raise ValidationError({"status": [_("These contacts were already merged.")]})
    if pair.status == DuplicateStatus.DISMISSED:
        return pair
    pair.status = DuplicateStatus.DISMISSED
    pair.resolved_at = timezone.now()
    pair.resolved_by = user
    pair.save(update_fields=["status", "resolved_at", "resolved_by"])
    audit.record(AuditAction.UPDATE, actor=user, obj=pair,
                 changes={"status": [DuplicateStatus.OPEN, DuplicateStatus.DISMISSED],
                          "contacts": [str(pair.contact_a), str(pair.contact_b)]})
    return pair


def request_scan(*, user: Any) -> None:
    """An on-demand scan: the next worker loop runs it (admins only)."""
    if not is_admin(user):
        raise PermissionDenied(_("Only admins can start a duplicate scan."))
    periodic.request_run(JOB_NAME)
    audit.record(AuditAction.UPDATE, actor=user, object_type="duplicatescan", changes={"requested": True})


def scan_status() -> dict[str, Any]:
    """When the scan last finished, whether one is due, and its last error."""
    job = PeriodicJob.objects.filter(name=JOB_NAME).first()
    now = timezone.now()
    return {
        "last_finished_at": job.last_finished_at if job else None,
        "last_error": job.last_error if job else "",
        "running": bool(job and job.lease_until and job.lease_until > now),
        "requested": bool(job and job.next_run_at <= now and not (job.lease_until and job.lease_until > now)),
        "next_run_at": job.next_run_at if job else None,
    }


def reason_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in REASON_LABELS.items()]
