"""Contact and company lists, forms, bulk actions and exports; the custom-fields settings pages.

Views parse input, call one selector or service and render. Records come from permission-scoped selectors,
so another team's record answers 404; writes the role may not make answer 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amity.accounts.selectors import active_users
from amity.core import customfield_services
from amity.core.customfields import display_value
from amity.core.models import CustomFieldType, Tag
from amity.core.normalize import format_phone
from amity.core.permissions import can_delete, can_edit, can_export, is_admin

from . import selectors, services
from .filters import COMPANY_SORTS, CONTACT_SORTS, DEFAULT_SORT, CompanyFilterSet, ContactFilterSet
from .forms import CompanyForm, ContactForm, CustomFieldForm

# --- list pages -------------------------------------------------------------------------------------------------

LIST_KINDS: dict[str, dict[str, Any]] = {
    "contact": {
        "filterset": ContactFilterSet, "sorts": CONTACT_SORTS, "page": selectors.contact_list,
        "list_url": "contacts:list", "template": "contacts/contact_list.html",
    },
    "company": {
        "filterset": CompanyFilterSet, "sorts": COMPANY_SORTS, "page": selectors.company_list,
        "list_url": "contacts:company_list", "template": "contacts/company_list.html",
    },
}
# Parameters that are not filters: they shape the page, not which records are in it.
PAGE_PARAMS = {"q", "sort", "cursor", "limit"}
# Shown first in the filter bar (with every custom field); the rest fold under "More filters".
PRIMARY_FILTERS = {"stage", "owner", "tag", "source", "country", "industry", "size", "orders_min", "days_since_order_min"}


def _list_params(request: HttpRequest) -> QueryDict:
    """The request's query with "owner=me" made concrete, so one saved view works for every user."""
    params = request.GET.copy()
    if params.get("owner") == "me":
        params["owner"] = str(request.user.uuid)
    return params


def _query_without(params: QueryDict, *names: str) -> str:
    return urlencode([(k, v) for k, values in params.lists() for v in values if k not in names and v != ""])


def _filter_controls(filterset: Any, params: QueryDict, request: HttpRequest,
                     users: list[Any]) -> list[dict[str, Any]]:
    """Everything the filter bar renders, one entry per filter, in the FilterSet's order."""
    definitions = {f"custom.{d.key}": d for d in filterset_definitions(filterset)}
    owners = [("me", _("Me")), ("none", _("Unassigned")), *[(str(u.uuid), str(u)) for u in users]]
    controls = []
    for f in filterset.all_filters():
        if f.name == "company":  # set from a company's page; shown as a chip, not typed as a UUID
            continue
        control = {"name": f.name, "label": f.label, "value": params.get(f.name, ""), "widget": "text",
                   "choices": [], "primary": f.name in PRIMARY_FILTERS or f.kind == "custom"}
        if f.name == "owner":
            control.update(widget="select", choices=owners, value=request.GET.get("owner", ""))
        elif f.kind in {"choice", "bool"} or (f.kind == "custom" and f.choices):
            control.update(widget="select", choices=[(str(v), str(label)) for v, label in f.choices])
        elif f.kind == "custom" and definitions[f.name].field_type == CustomFieldType.BOOLEAN:
            control.update(widget="select", choices=[("1", _("Yes")), ("0", _("No"))])
        elif f.kind in {"date_from", "date_to"} or (
                f.kind == "custom" and definitions[f.name].field_type == CustomFieldType.DATE):
            control["widget"] = "date"
        elif f.kind in {"number_min", "number_max"} or (
                f.kind == "custom" and definitions[f.name].field_type == CustomFieldType.NUMBER):
            control["widget"] = "number"
        controls.append(control)
    return controls


def filterset_definitions(filterset: Any) -> list[Any]:
    from amity.core.customfields import definitions

    return definitions(filterset.object_type)


def _chips(controls: list[dict[str, Any]], params: QueryDict, request: HttpRequest) -> list[dict[str, str]]:
    """Active filters as removable chips: each links to the same list without that filter."""
    chips = []
    for control in controls:
        value = control["value"] or request.GET.get(control["name"], "")
        if not value:
            continue
        shown = dict(control["choices"]).get(value, value)
        chips.append({"label": str(control["label"]), "value": str(shown),
                      "remove": "?" + _query_without(request.GET, control["name"], "cursor")})
    if company_uuid := request.GET.get("company"):
        company = selectors.companies_by_uuids(user=request.user, uuids=[company_uuid]).first() \
            if _is_uuid(company_uuid) else None
        chips.insert(0, {"label": _("Company"), "value": company.name if company else company_uuid,
                         "remove": "?" + _query_without(request.GET, "company", "cursor")})
    if q := request.GET.get("q"):
        chips.insert(0, {"label": _("Search"), "value": q, "remove": "?" + _query_without(request.GET, "q", "cursor")})
    return chips


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _list_page(request: HttpRequest, kind: str) -> HttpResponse:
    spec = LIST_KINDS[kind]
    params = _list_params(request)
    filterset = spec["filterset"](params)
    page, errors = None, {}
    try:
        page = spec["page"](user=request.user, params=params)
    except ValidationError as exc:
        # A bad filter value (typed into the URL, or a saved view whose field was removed) is explained, not fatal.
        errors = exc.message_dict
    users = list(active_users())
    controls = _filter_controls(filterset, params, request, users)
    labels = {c["name"]: str(c["label"]) for c in controls}
    labels.update({"sort": _("Sort"), "cursor": _("Page"), "limit": _("Rows per page"), "company": _("Company")})
    base_query = _query_without(request.GET, "cursor")
    current_query = _query_without(request.GET, "cursor", "csrfmiddlewaretoken")
    views = list(selectors.saved_views(user=request.user, object_type=kind))
    context = {
        "page": page,
        "rows": page.items if page else [],
        "filter_errors": [(labels.get(name, name), msgs) for name, msgs in errors.items()],
        "controls": controls,
        "chips": _chips(controls, params, request),
        "active_filter_count": sum(1 for c in controls if c["value"]),
        "more_filters_active": any(c["value"] for c in controls if not c["primary"]),
        "q": request.GET.get("q", ""),
        "sort": request.GET.get("sort") or DEFAULT_SORT,
        "sorts": [(key, label) for key, (label, _ordering) in spec["sorts"].items()],
        "next_query": f"{base_query}&cursor={page.next_cursor}" if page and page.next_cursor else "",
        "prev_query": f"{base_query}&cursor={page.prev_cursor}" if page and page.prev_cursor else "",
        "current_query": current_query,
        "saved_views": views,
        "active_view": next((v for v in views if v.query == current_query and current_query), None),
        "owners": users,
        "can_edit": can_edit(request.user),
        "can_delete": can_delete(request.user),
        "can_export": can_export(request.user),
        "object_type": kind,
        "list_url": reverse(spec["list_url"]),
    }
    # Custom fields an admin marked "show as a list column" (definitions are one query per page).
    columns = [d for d in filterset_definitions(filterset) if d.show_in_list]
    context["custom_columns"] = columns
    for row in context["rows"]:
        row.phone_display = format_phone(row.phone)
        row.custom_cells = [display_value(d, (row.custom or {}).get(d.key)) for d in columns]
    return render(request, spec["template"], context)


@login_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "contact")


@login_required
@require_GET
def company_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "company")


# --- export ---------------------------------------------------------------------------------------------------------

def _export(request: HttpRequest, kind: str) -> HttpResponseBase:
    """Columns, rows and audit live in ``integrations.exports``, shared with the XLSX export and the API."""
    from amity.integrations.views_exports import export_list

    return export_list(request, kind, "csv")


@login_required
@require_GET
def contact_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "contact")


@login_required
@require_GET
def company_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "company")


# --- bulk actions ---------------------------------------------------------------------------------------------------

def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _bulk(request: HttpRequest, kind: str) -> HttpResponse:
    list_url = reverse(LIST_KINDS[kind]["list_url"])
    back = _safe_next(request, list_url)
    action = request.POST.get("action", "")
    uuids = [u for u in request.POST.getlist("ids") if _is_uuid(u)]
    if action == "delete" and not can_delete(request.user):
        raise PermissionDenied(_("Your role cannot delete records."))
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role cannot change records."))
    if not uuids:
        messages.warning(request, _("Select at least one row first."))
        return redirect(back)
    lookup: Callable[..., Any] = selectors.contacts_by_uuids if kind == "contact" else selectors.companies_by_uuids
    records = lookup(user=request.user, uuids=uuids)  # only the ones this user can see
    try:
        if action == "tag":
            tag = request.POST.get("tag", "")
            count = services.bulk_tag(actor=request.user, records=records, tag_names=[tag])
            messages.success(request, _("Tagged %(count)s records with “%(tag)s”.") % {"count": count, "tag": tag})
        elif action == "assign":
            owner_uuid = request.POST.get("owner", "")
            owner = active_users().filter(uuid=owner_uuid).first() if _is_uuid(owner_uuid) else None
            if owner_uuid and owner is None:
                raise ValidationError({"owner": [_("Choose an active user.")]})
            count = services.bulk_assign(actor=request.user, records=records, owner=owner)
            messages.success(request, _("Assigned %(count)s records to %(owner)s.") % {
                "count": count, "owner": owner or _("nobody")})
        elif action == "delete":
            if request.POST.get("confirm") != "yes":
                return render(request, "contacts/bulk_delete_confirm.html", {
                    "records": records.order_by("pk")[:50], "total": records.count(), "ids": uuids,
                    "next": back, "object_type": kind,
                    "action_url": reverse("contacts:bulk" if kind == "contact" else "contacts:company_bulk"),
                })
            count = services.bulk_delete(actor=request.user, records=records)
            messages.success(request, _("Deleted %(count)s records.") % {"count": count})
        else:
            messages.error(request, _("Choose an action."))
    except ValidationError as exc:
        messages.error(request, " ".join(m for msgs in exc.message_dict.values() for m in msgs))
    return redirect(back)


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, "contact")


@login_required
@require_POST
def company_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, "company")


# --- saved views ------------------------------------------------------------------------------------------------

@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    object_type = request.POST.get("object_type", "contact")
    list_url = reverse(LIST_KINDS.get(object_type, LIST_KINDS["contact"])["list_url"])
    query = request.POST.get("query", "")
    try:
        view = services.create_saved_view(actor=request.user, object_type=object_type,
                                          name=request.POST.get("name", ""), query=query,
                                          shared=request.POST.get("shared") == "on")
    except ValidationError as exc:
        messages.error(request, " ".join(m for msgs in exc.message_dict.values() for m in msgs))
        return redirect(f"{list_url}?{query}")
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return redirect(f"{list_url}?{view.query}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    view = selectors.get_saved_view(user=request.user, uuid=uuid)
    services.delete_saved_view(actor=request.user, view=view)
    messages.success(request, _("Deleted the view “%(name)s”.") % {"name": view.name})
    return redirect(LIST_KINDS.get(view.object_type, LIST_KINDS["contact"])["list_url"])


# --- create / edit / delete -----------------------------------------------------------------------------------------

def _form_page(request: HttpRequest, kind: str, instance: Any = None) -> HttpResponse:
    if not can_edit(request.user, instance):
        raise PermissionDenied(_("Your role cannot create or change records."))
    form_class = ContactForm if kind == "contact" else CompanyForm
    form = form_class(request.POST or None, user=request.user, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.service_data()
            if kind == "contact":
                obj = (services.create_contact(actor=request.user, data=data) if instance is None else
                       services.update_contact(actor=request.user, contact=instance, data=data, partial=False))
            else:
                obj = (services.create_company(actor=request.user, data=data) if instance is None else  # type: ignore[assignment]
                       services.update_company(actor=request.user, company=instance, data=data, partial=False))
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, (_("Saved %(name)s.") if instance else _("Created %(name)s.")) % {"name": obj})
            return redirect("contacts:detail" if kind == "contact" else "contacts:company_detail", uuid=obj.uuid)
    context = {"form": form, "object": instance, "object_type": kind}
    if kind == "contact":
        context["company_names"] = selectors.company_choices(user=request.user)
        template = "contacts/contact_form.html"
    else:
        template = "contacts/company_form.html"
    return render(request, template, context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, "contact")


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _form_page(request, "contact", selectors.get_contact(user=request.user, uuid=uuid))


@login_required
@require_http_methods(["GET", "POST"])
def company_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, "company")


@login_required
@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _form_page(request, "company", selectors.get_company(user=request.user, uuid=uuid))


def _delete_page(request: HttpRequest, kind: str, obj: Any) -> HttpResponse:
    if not can_delete(request.user):
        raise PermissionDenied(_("Your role cannot delete records."))
    if request.method == "POST":
        name = str(obj)
        if kind == "contact":
            services.delete_contact(actor=request.user, contact=obj)
        else:
            services.delete_company(actor=request.user, company=obj)
        messages.success(request, _("Deleted %(name)s.") % {"name": name})
        return redirect(LIST_KINDS[kind]["list_url"])
    detail = "contacts:detail" if kind == "contact" else "contacts:company_detail"
    return render(request, "contacts/confirm_delete.html", {
        "object": obj, "object_type": kind, "cancel_url": reverse(detail, args=[obj.uuid])})


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _delete_page(request, "contact", selectors.get_contact(user=request.user, uuid=uuid))


@login_required
@require_http_methods(["GET", "POST"])
def company_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _delete_page(request, "company", selectors.get_company(user=request.user, uuid=uuid))


# --- tags -----------------------------------------------------------------------------------------------------------

@login_required
@require_GET
def tag_suggest(request: HttpRequest) -> JsonResponse:
    """Tag names starting with ``q`` (then containing it), for autocomplete; tags are shared vocabulary."""
    q = (request.GET.get("q") or "").strip()[:64]
    qs = Tag.objects.order_by(Lower("name"), "name")
    starts = list(qs.filter(name__istartswith=q).values_list("name", flat=True)[:10])
    if q and len(starts) < 10:
        starts += [n for n in qs.filter(name__icontains=q).exclude(name__istartswith=q)
                   .values_list("name", flat=True)[: 10 - len(starts)]]
    return JsonResponse({"tags": starts})


# --- custom fields (settings) --------------------------------------------------------------------------------------

def _require_admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise PermissionDenied(_("Only administrators manage custom fields."))


@login_required
@require_GET
def fields(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    by_type = customfield_services.definitions_by_type()
    return render(request, "contacts/fields.html", {
        "groups": [(_("Contacts"), "contact", by_type.get("contact", [])),
                   (_("Companies"), "company", by_type.get("company", []))],
    })


@login_required
@require_http_methods(["GET", "POST"])
def field_create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    initial = {"object_type": request.GET.get("object_type", "contact")}
    form = CustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            definition = customfield_services.create_definition(actor=request.user, data=form.service_data())
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Added the field “%(label)s”.") % {"label": definition.label})
            return redirect("contacts:fields")
    return render(request, "contacts/field_form.html", {"form": form, "definition": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    _require_admin(request)
    definition = customfield_services.get_definition_or_404(uuid)
    form = CustomFieldForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        try:
            customfield_services.update_definition(actor=request.user, definition=definition,
                                                   data=form.service_data())
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Saved the field “%(label)s”.") % {"label": definition.label})
            return redirect("contacts:fields")
    return render(request, "contacts/field_form.html", {"form": form, "definition": definition},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    _require_admin(request)
    definition = customfield_services.get_definition_or_404(uuid)
    if request.method == "POST":
        customfield_services.delete_definition(actor=request.user, definition=definition)
        messages.success(request, _("Deleted the field “%(label)s”.") % {"label": definition.label})
        return redirect("contacts:fields")
    return render(request, "contacts/confirm_delete.html", {
        "object": definition, "object_type": "field", "cancel_url": reverse("contacts:fields")})

