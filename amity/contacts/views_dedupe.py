"""The duplicates queue and the side-by-side merge page. Thin: each view calls ``dedupe`` or ``merge``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.core.normalize import format_phone
from amity.core.permissions import can_edit, is_admin

from . import dedupe, merge
from .models import Contact
from .views import _query_without


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    page, errors = None, {}
    try:
        page = dedupe.pair_queue(user=request.user, params=request.GET)
    except ValidationError as exc:
        errors = exc.message_dict
    base = _query_without(request.GET, "cursor")
    for pair in page.items if page else []:
        for contact in (pair.contact_a, pair.contact_b):
            contact.phone_display = [format_phone(p) for p in contact.phone_list]  # type: ignore[attr-defined]
    return render(request, "contacts/dedupe_queue.html", {
        "page": page,
        "pairs": page.items if page else [],
        "errors": [(name, msgs) for name, msgs in errors.items()],
        "status": request.GET.get("status") or "open",
        "min_score": request.GET.get("min_score", ""),
        "reason": request.GET.get("reason", ""),
        "reasons": dedupe.reason_choices(),
        "statuses": [("open", _("Open")), ("dismissed", _("Not a duplicate")), ("merged", _("Merged"))],
        "next_query": f"{base}&cursor={page.next_cursor}" if page and page.next_cursor else "",
        "prev_query": f"{base}&cursor={page.prev_cursor}" if page and page.prev_cursor else "",
        "filtered": bool(_query_without(request.GET, "cursor", "status")),
        "scan": dedupe.scan_status(),
        "can_edit": can_edit(request.user),
        "can_scan": is_admin(request.user),
    })


@login_required
@require_POST
def scan_now(request: HttpRequest) -> HttpResponse:
    dedupe.request_scan(user=request.user)
    messages.success(request, _("A duplicate scan will start within a minute; refresh this page later."))
    return redirect("duplicates:queue")


@login_required
@require_POST
def dismiss(request: HttpRequest, uuid: Any) -> HttpResponse:
    pair = dedupe.get_pair(user=request.user, uuid=uuid)
    try:
        dedupe.dismiss_pair(user=request.user, pair=pair)
        messages.success(request, _("%(a)s and %(b)s are marked as not duplicates.")
                         % {"a": pair.contact_a, "b": pair.contact_b})
    except ValidationError as exc:
        messages.error(request, " ".join(m for msgs in exc.message_dict.values() for m in msgs))
    back = request.POST.get("back", "")
    return redirect(reverse("duplicates:queue") + (f"?{back}" if back and "//" not in back else ""))


@login_required
@require_GET
def pair_merge(request: HttpRequest, uuid: Any) -> HttpResponse:
    """From the queue: merge the pair, keeping the older contact by default (its URL is the one people know)."""
    pair = dedupe.get_pair(user=request.user, uuid=uuid)
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot merge contacts."))
    keep, other = (pair.contact_a, pair.contact_b)
    if other.created_at < keep.created_at:
        keep, other = other, keep
    return redirect("duplicates:merge", uuid=keep.uuid, other=other.uuid)


def _rows(winner: Contact, loser: Contact, choices: dict[str, str]) -> list[dict[str, Any]]:
    labels = {k: v[0] for k, v in merge.FIELD_GROUPS.items()}
    custom_labels = {f"custom.{d.key}": d.label for d in merge.definitions("contact")}
    rows = []
    for key in merge.choice_keys(winner, loser):
        mine, theirs = merge.field_value(winner, key), merge.field_value(loser, key)
        if mine == "" and theirs == "":
            continue
        rows.append({
            "key": key, "label": custom_labels.get(key) or labels.get(key) or key[7:],
            "winner": merge.field_display(winner, key), "loser": merge.field_display(loser, key),
            "same": mine == theirs,
            "choice": choices.get(key, merge.WINNER),
        })
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def contact_merge(request: HttpRequest, uuid: Any, other: Any) -> HttpResponse:
    winner = merge.get_contact_any(user=request.user, uuid=uuid)
    loser = merge.get_contact_any(user=request.user, uuid=other)
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot merge contacts."))
    errors: list[str] = []
    try:
        merge.check_mergeable(winner=winner, loser=loser)
    except ValidationError as exc:
        errors = [m for msgs in exc.message_dict.values() for m in msgs]
    choices = merge.default_choices(winner, loser) if not errors else {}
    if request.method == "POST" and not errors:
        posted = {key: request.POST.get(f"field-{key}") for key in merge.choice_keys(winner, loser)}
        posted = {k: v for k, v in posted.items() if v}
        try:
            kept = merge.merge_contacts(user=request.user, winner=winner, loser=loser, field_choices=posted)
        except ValidationError as exc:
            errors = [m for msgs in exc.message_dict.values() for m in msgs]
            choices.update({k: v for k, v in posted.items() if v in (merge.WINNER, merge.LOSER)})
        else:
            messages.success(request, _("Merged %(other)s into this contact.") % {"other": loser})
            return redirect("contacts:detail", uuid=kept.uuid)
    return render(request, "contacts/dedupe_merge.html", {
        "winner": winner,
        "loser": loser,
        "rows": _rows(winner, loser, choices) if not (errors and request.method == "GET") else [],
        "moves": merge.merge_preview(loser),
        "errors": errors,
        "blocked": bool(errors) and request.method == "GET",
        "swap_url": reverse("duplicates:merge", kwargs={"uuid": loser.uuid, "other": winner.uuid}),
    }, status=422 if errors and request.method == "POST" else 200)
