"""Home, the command palette, notifications, the audit log and error pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from amity.accounts import selectors as account_selectors
from amity.accounts import services as account_services
from amity.core import search as core_search
from amity.core.models import AuditAction
from amity.core.permissions import is_admin
from amity.timeline.selectors import my_tasks

from . import selectors

PALETTE_LIMIT = 10
SEARCH_PAGE_LIMIT = 50


def _greeting() -> str:
    hour = timezone.localtime().hour
    if hour < 12:
        return _("Good morning")
    if hour < 18:
        return _("Good afternoon")
    return _("Good evening")


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    tasks = my_tasks(user=user, limit=10, count=False)
    return render(request, "web/home.html", {
        "greeting": _greeting(),
        "counts": selectors.dashboard_counts(user),
        "dates": selectors.upcoming_special_dates(user),
        "overdue_tasks": tasks["overdue"],
        "today_tasks": tasks["today"],
        "activity": selectors.recent_activity(user),
        "today": timezone.localdate(),
    })


def _grouped(user: Any, q: str, limit: int) -> dict[str, Any]:
    hits = core_search.search(user, q, limit=limit)
    return {
        "q": q,
        "contacts": [h.obj for h in hits if h.kind == "contact"],
        "companies": [h.obj for h in hits if h.kind == "company"],
        "total": len(hits),
    }


@login_required
@require_GET
def palette(request: HttpRequest) -> HttpResponse:
    """The command palette's results: an HTML fragment fetched as the user types."""
    q = (request.GET.get("q") or "").strip()[:200]
    context = _grouped(request.user, q, PALETTE_LIMIT) if q else {"q": q, "contacts": [], "companies": [],
                                                                    "total": 0}
    return render(request, "web/_palette_results.html", context)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:200]
    context = _grouped(request.user, q, SEARCH_PAGE_LIMIT) if q else {"q": q, "contacts": [], "companies": [],
                                                                        "total": 0}
    context["limit"] = SEARCH_PAGE_LIMIT
    return render(request, "web/search.html", context)


def _safe_local_url(url: str) -> str:
    """Notification links are stored paths; anything that is not a same-site path is not linked."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else ""


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = account_selectors.recent_notifications(request.user, limit=50)
    for item in items:
        item.safe_url = _safe_local_url(item.url)  # type: ignore[attr-defined]
    return render(request, "web/notifications.html", {
        "notifications": items,
        "has_unread": any(n.read_at is None for n in items),
    })


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (``id``) or all of them read, then go back to the list."""
    raw = request.POST.get("id")
    ids = None
    if raw:
        if not raw.isdigit():
            return HttpResponse(_("“id” must be a notification id."), status=400)
        ids = [int(raw)]
    account_services.mark_notifications_read(user=request.user, ids=ids)
    return redirect("web:notifications")


@login_required
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied(_("Only admins can read the audit log."))
    errors: dict[str, list[str]] = {}
    page = None
    try:
        page = selectors.audit_page(request.GET)
    except ValidationError as exc:
        errors = exc.message_dict
    params = request.GET.copy()

    def page_url(cursor: str | None) -> str:
        if not cursor:
            return ""
        params["cursor"] = cursor
        return "?" + params.urlencode()

    filtered = any(request.GET.get(k) for k in ("action", "object_type", "actor", "object_id"))
    return render(request, "web/audit.html", {
        "page": page,
        "errors": errors,
        "filters": {k: request.GET.get(k, "") for k in ("action", "object_type", "actor", "object_id")},
        "filtered": filtered,
        "actions": AuditAction.choices,
        "object_types": selectors.AUDIT_OBJECT_TYPES,
        "actors": account_selectors.all_users(),
        "next_url": page_url(page.next_cursor) if page else "",
        "prev_url": page_url(page.prev_cursor) if page else "",
    })


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers and `amity serve` supervisors; no login needed."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 404, "title": _("Not found")}, status=404)


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403, "title": _("Forbidden"), "detail": str(exception or "")},
                  status=403)
