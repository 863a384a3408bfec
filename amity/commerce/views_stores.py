"""Stores: the tracking snippet and its collect endpoint, the platforms' webhooks, the admin settings pages and
the demo shop.

The public endpoints are thin: they check the credential (public key + origin, or the HMAC over the raw body),
parse JSON and hand the payload to ``commerce.adapters``, which turns it into ``commerce.services`` calls.
Errors are RFC 9457 problem JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache as django_cache
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from amity.accounts.forms import add_service_errors
from amity.commerce import adapters, stores
from amity.commerce.ingest import error_list
from amity.commerce.models import Store, StoreKind
from amity.core.permissions import is_admin

COLLECT_MAX_BYTES = 256 * 1024
COLLECT_MAX_ITEMS = 100
WEBHOOK_MAX_BYTES = 2 * 1024 * 1024
# Requests per minute per store key and client address (Django's cache: per process unless REDIS_URL is set).
COLLECT_RATE_PER_MINUTE = getattr(settings, "AMITY_COLLECT_RATE_PER_MINUTE", 600)


def problem(status: int, title: str, detail: str = "", errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is larger than ``limit`` (checked on the header first, then on the bytes)."""
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return None
        body = request.body
    except (ValueError, RequestDataTooBig):
        return None
    return body if len(body) <= limit else None


# --- the snippet ---------------------------------------------------------------------------------------------------

@cache
def _snippet() -> tuple[bytes, str]:
    source = (Path(__file__).parent / "static" / "commerce" / "amity-track.js").read_bytes()
    return source, '"' + hashlib.sha256(source).hexdigest()[:32] + '"'


def snippet_js(request: HttpRequest) -> HttpResponse:
    """The tracking script; the same bytes for every store (the key is the script tag's data-key)."""
    source, etag = _snippet()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600, stale-while-revalidate=86400"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _cors(response: HttpResponse, store: Store | None, origin: str | None) -> HttpResponse:
    response["Vary"] = "Origin"
    if origin and (store is None or stores.origin_allowed(store, origin)):
        response["Access-Control-Allow-Origin"] = origin if store and store.allowed_origins else "*"
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    return response


def _rate_limited(key: str, request: HttpRequest) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    bucket = "collect:" + hashlib.sha256(f"{key}|{address}".encode()).hexdigest()[:24]
    django_cache.add(bucket, 0, 60)
    try:
        count = django_cache.incr(bucket)
    except ValueError:  # expired between add and incr
        django_cache.set(bucket, 1, 60)
        count = 1
    return count > COLLECT_RATE_PER_MINUTE


@csrf_exempt
def collect(request: HttpRequest) -> HttpResponse:
    """Events from the snippet: ``{"key", "visitor_id", "consent", "sent_at", "events": [...]}``."""
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        store = stores.store_by_public_key(request.GET.get("key", ""))
        return _cors(HttpResponse(status=204), store, origin)
    if request.method != "POST":
        return problem(405, "Method Not Allowed", _("Send events with POST."), headers={"Allow": "POST, OPTIONS"})
    raw = _read_body(request, COLLECT_MAX_BYTES)
    if raw is None:
        return _cors(problem(413, "Content Too Large",
                             _("At most %(n)s KB per request.") % {"n": COLLECT_MAX_BYTES // 1024}), None, origin)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _cors(problem(400, "Bad Request", _("The body is not valid JSON.")), None, origin)
    if not isinstance(body, dict):
        return _cors(problem(400, "Bad Request", _("The body must be a JSON object.")), None, origin)
    key = body.get("key") if isinstance(body.get("key"), str) else ""
    store = stores.store_by_public_key(key or request.GET.get("key", ""))
    if store is None or store.kind != StoreKind.SNIPPET:
        return _cors(problem(404, "Not Found", _("There is no store with this key.")), None, origin)
    if not store.active:
        return _cors(problem(403, "Forbidden", _("This store is deactivated.")), None, origin)
    if not stores.origin_allowed(store, origin):
        return _cors(problem(403, "Forbidden", _("This origin may not send events for this store.")), store, origin)
    if store.require_consent and body.get("consent") is not True:
        return _cors(problem(403, "Forbidden", _("This store waits for the visitor's consent; send \"consent\": "
                                                 "true once they agree.")), store, origin)
    if _rate_limited(store.public_key, request):
        return _cors(problem(429, "Too Many Requests", _("Slow down: too many requests for this store."),
                             headers={"Retry-After": "60"}), store, origin)
    events = body.get("events")
    if isinstance(events, list) and len(events) > COLLECT_MAX_ITEMS:
        return _cors(problem(413, "Content Too Large",
                             _("At most %(n)s events per request.") % {"n": COLLECT_MAX_ITEMS}), store, origin)
    try:
        results = adapters.collect(store, body)
    except ValidationError as exc:
        return _cors(problem(422, "Invalid input", _("The request is not valid; see errors."), error_list(exc)),
                     store, origin)
    return _cors(_results_response(results), store, origin)


def _results_response(results: list[Any]) -> JsonResponse:
    """200 when every item landed, 207 when some failed, 422 when none did."""
    rows = [{"index": r.index, "status": r.status, "id": r.id, "errors": r.errors, "notes": r.notes}
            for r in results]
    failed = sum(1 for r in results if r.status == "error")
    status = 200 if not failed else (422 if failed == len(results) else 207)
    counts = {name: sum(1 for r in results if r.status == name) for name in ("created", "updated", "unchanged")}
    return JsonResponse({"results": rows, **counts, "errors": failed}, status=status)


# --- webhooks ------------------------------------------------------------------------------------------------------

@csrf_exempt
def webhook(request: HttpRequest, uuid: Any, platform: str) -> HttpResponse:
    """A platform's signed webhook. The signature is checked over the raw body before anything is parsed."""
    if request.method != "POST":
        return problem(405, "Method Not Allowed", _("Webhooks are POSTed."), headers={"Allow": "POST"})
    store = stores.store_by_uuid(uuid)
    if store is None or store.kind != platform:
        return problem(404, "Not Found", _("There is no such store."))
    raw = _read_body(request, WEBHOOK_MAX_BYTES)
    if raw is None:
        return problem(413, "Content Too Large", _("At most %(n)s MB per webhook.") % {"n": 2})
    if platform == StoreKind.WOOCOMMERCE and adapters.is_woocommerce_ping(request.headers, raw):
        return JsonResponse({"status": "ok"})
    if not adapters.verify_signature(platform, store.secret, raw, request.headers):
        return problem(401, "Unauthorized", _("The webhook signature is missing or wrong."))
    if not store.active:
        return problem(403, "Forbidden", _("This store is deactivated."))
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return problem(400, "Bad Request", _("The body is not valid JSON."))
    try:
        outcome = adapters.handle_webhook(store, platform, request.headers, payload)
    except ValidationError as exc:
        return problem(422, "Invalid input", _("The payload is not valid; see errors."), error_list(exc))
    if isinstance(outcome, list):
        return _results_response(outcome)
    return JsonResponse(outcome)


# --- settings pages ------------------------------------------------------------------------------------------------

def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied(_("Only admins can manage stores."))
        return view(request, *args, **kwargs)

    return wrapped


class StoreCreateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=StoreKind.choices,
                             widget=forms.RadioSelect, initial=StoreKind.SNIPPET)


class StoreEditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    allowed_origins = forms.CharField(
        label=gettext_lazy("Allowed origins"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.com"}),
        help_text=gettext_lazy("One per line. Only pages on these sites may send events; empty allows any site."))
    require_consent = forms.BooleanField(
        label=gettext_lazy("Wait for consent: send nothing until the page calls amity.push([\"consent\", true])"),
        required=False)


class WebhookEditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    secret = forms.CharField(
        label=gettext_lazy("Use the platform's signing secret"), required=False, max_length=128,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy("Shopify chooses the secret itself (shown under Settings → Notifications → "
                               "Webhooks): paste it here. Leave empty to keep the current one."))


class MappingForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    mapping = forms.CharField(
        label=gettext_lazy("Mapping (JSON)"), required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "mono"}))

    def clean_mapping(self) -> Any:
        text = self.cleaned_data["mapping"].strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(reason)s") % {"reason": exc}) from None


@admin_required
def store_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = StoreCreateForm(request.POST)
        if form.is_valid():
            try:
                store = stores.create_store(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Store “%(name)s” was created.") % {"name": store.name})
                return redirect("stores:detail", uuid=store.uuid)
    else:
        form = StoreCreateForm()
    return render(request, "commerce/store_list.html", {
        "form": form, "stores": stores.store_list(request.user), "tab": "stores",
    })


def _edit_form(store: Store, data: Any = None) -> forms.Form:
    if store.kind == StoreKind.SNIPPET:
        return StoreEditForm(data, initial={"name": store.name, "allowed_origins": store.allowed_origins,
                                            "require_consent": store.require_consent})
    if store.kind == StoreKind.GENERIC:
        return MappingForm(data, initial={
            "name": store.name,
            "mapping": json.dumps(store.mapping or adapters.EXAMPLE_MAPPING, indent=2, ensure_ascii=False)})
    form = WebhookEditForm(data, initial={"name": store.name})
    if store.kind == StoreKind.WOOCOMMERCE:
        form.fields["secret"].help_text = _("WooCommerce signs with the secret you type when adding the webhook: "
                                            "use the one above, or paste yours here.")
    return form


@admin_required
def store_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    store = stores.get_store(request.user, uuid)
    if request.method == "POST":
        form = _edit_form(store, request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if not (k == "secret" and not v)}
            try:
                stores.update_store(actor=request.user, store=store, data=data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Store “%(name)s” was saved.") % {"name": store.name})
                return redirect("stores:detail", uuid=store.uuid)
    else:
        form = _edit_form(store)
    script_url = request.build_absolute_uri(reverse("stores:snippet_js"))
    hook_url = ""
    if store.kind != StoreKind.SNIPPET:
        hook_url = request.build_absolute_uri(reverse(f"stores:hook_{store.kind}", kwargs={"uuid": store.uuid}))
    response = render(request, "commerce/store_detail.html", {
        "store": store, "form": form, "tab": "stores", "script_url": script_url, "hook_url": hook_url,
        "snippet": snippet_tag(store, script_url), "kinds": StoreKind,
        "shopify_topics": adapters.SHOPIFY_TOPICS, "woocommerce_topics": adapters.WOOCOMMERCE_TOPICS,
    })
    response["Cache-Control"] = "no-store"  # the page shows the signing secret
    return response


def snippet_tag(store: Store, script_url: str) -> str:
    consent = " data-require-consent" if store.require_consent else ""
    return (f'<script src="{script_url}" data-key="{store.public_key}"{consent} async></script>\n'
            "<script>\n"
            "  window.amity = window.amity || [];\n"
            + ('  // when the visitor accepts your cookie banner:\n  amity.push(["consent", true]);\n'
               if store.require_consent else "")
            + '  amity.push(["page"]);\n'
            "</script>")


@admin_required
@require_POST
def store_regenerate_secret(request: HttpRequest, uuid: Any) -> HttpResponse:
    store = stores.get_store(request.user, uuid)
    try:
        stores.regenerate_secret(actor=request.user, store=store)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A new signing secret was made. Paste it into the platform now: webhooks "
                                    "signed with the old one are refused."))
    return redirect("stores:detail", uuid=store.uuid)


@admin_required
@require_POST
def store_set_active(request: HttpRequest, uuid: Any) -> HttpResponse:
    store = stores.get_store(request.user, uuid)
    active = request.POST.get("active") == "1"
    stores.set_store_active(actor=request.user, store=store, active=active)
    if active:
        messages.success(request, _("Store “%(name)s” is active again.") % {"name": store.name})
    else:
        messages.success(request, _("Store “%(name)s” was deactivated: its snippet and webhooks are refused "
                                    "from now on.") % {"name": store.name})
    return redirect("stores:detail", uuid=store.uuid)


# --- demo shop -----------------------------------------------------------------------------------------------------

DEMO_PRODUCTS = [
    {"sku": "DEMO-BOOTS", "name": gettext_lazy("Trail hiking boots"), "price": "89.00",
     "category": gettext_lazy("Footwear"), "art": "boots"},
    {"sku": "DEMO-TENT", "name": gettext_lazy("Two-person tent"), "price": "149.00",
     "category": gettext_lazy("Camping"), "art": "tent"},
    {"sku": "DEMO-MUG", "name": gettext_lazy("Enamel camp mug"), "price": "14.50",
     "category": gettext_lazy("Kitchen"), "art": "mug"},
]


@admin_required
def demo_store(request: HttpRequest) -> HttpResponse:
    """A small shop page carrying the snippet of the demo snippet store, to try tracking end to end."""
    if request.method == "POST":
        stores.create_store(actor=request.user, data={"name": "Demo store", "kind": StoreKind.SNIPPET,
                                                      "require_consent": True})
        return redirect("stores:demo_store")
    from amity.core.money import base_currency

    store = stores.demo_store()
    currency = base_currency()
    products = [{**p, "name": str(p["name"]), "category": str(p["category"])} for p in DEMO_PRODUCTS]
    return render(request, "commerce/demo_store.html", {
        "store": store, "products": products, "currency": currency,
        "products_json": [{k: v for k, v in p.items() if k != "art"} | {"currency": currency} for p in products],
    })
