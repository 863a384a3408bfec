"""Quick actions on the 360, company and deal pages (notes, logged interactions, tasks, preferences), the
timeline partial, @mention suggestions, task editing and My day.

Every write resolves its contact/company through the permission-scoped selectors first (404 when not visible),
then refuses roles that cannot edit (403). An htmx request gets the page's panels back as out-of-band swaps;
a plain form post is redirected back to the page (or re-rendered with the errors).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from amity.accounts.selectors import active_users
from amity.contacts import selectors as contact_selectors
from amity.contacts import services as contact_services
from amity.contacts.models import Company, Contact
from amity.core.permissions import can_edit

from . import presenters, selectors, services
from .forms import InteractionForm, NoteForm, PreferenceForm, TaskEditForm, TaskForm, add_service_errors

MENTION_LIMIT = 8


def _resolve(request: HttpRequest, target: str, uuid: Any) -> Any:
    if target == "contact":
        return contact_selectors.get_contact(user=request.user, uuid=uuid)
    if target == "company":
        return contact_selectors.get_company(user=request.user, uuid=uuid)
    if target == "deal":
        from amity.sales import selectors as sales_selectors

        return sales_selectors.get_deal(user=request.user, uuid=uuid)
    raise Http404


def _require_edit(request: HttpRequest) -> None:
    if not can_edit(request.user):
        raise PermissionDenied(_("Your role can view records but not change them."))


def _page_url(obj: Any) -> str:
    return presenters.target_url(obj)


def _page_object(request: HttpRequest, default: Any) -> Any:
    """The 360 or company page the action was taken on: a task or note of a contact also shows on its
    company's page, and that page's panels are the ones to refresh."""
    url = request.htmx.current_url if request.htmx else request.META.get("HTTP_REFERER")  # type: ignore[attr-defined]
    if not url:
        return default
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return default
    if match.view_name == "contacts:company_detail":
        return contact_selectors.get_company(user=request.user, uuid=match.kwargs["uuid"])
    if match.view_name == "contacts:detail":
        return contact_selectors.get_contact(user=request.user, uuid=match.kwargs["uuid"])
    if match.view_name == "sales:detail":
        return _resolve(request, "deal", match.kwargs.get("uuid"))
    return default


def _context(request: HttpRequest, obj: Any, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    if isinstance(obj, Contact):
        return presenters.contact_context(request, obj, forms)
    if isinstance(obj, Company):
        return presenters.company_context(request, obj, forms)
    return presenters.deal_context(request, obj, forms)


def _refresh(request: HttpRequest, obj: Any, forms: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    """After a quick action: htmx gets every panel of the page swapped out-of-band; a plain post is
    redirected on success and shown the whole page with the form's errors otherwise."""
    if request.htmx:  # type: ignore[attr-defined]
        context = {**_context(request, obj, forms), "oob": True}
        return render(request, "timeline/_refresh.html", context)
    if forms and status != 200:
        if isinstance(obj, Contact):
            template = "contacts/contact_detail.html"
        elif isinstance(obj, Company):
            template = "contacts/company_detail.html"
        else:  # the deal page is the sales app's; its quick actions are shown again on a page of their own
            template = "timeline/quick_actions_page.html"
        return render(request, template, _context(request, obj, forms), status=status)
    return redirect(_page_url(obj))


def _notice(request: HttpRequest, text: str, panel: str = "task") -> dict[str, Any] | None:
    """A message about a write that succeeded (e.g. an ambiguous due time): shown in the quick actions card
    after an htmx request, as a flash message after a plain post."""
    if not text:
        return None
    if not request.htmx:  # type: ignore[attr-defined]
        messages.info(request, text)
        return None
    return {"notice": text, "open_panel": panel}


def _failed(request: HttpRequest, obj: Any, key: str, form: Any, panel: str) -> HttpResponse:
    return _refresh(request, obj, {key: form, "open_panel": panel}, status=400)


@login_required
@require_GET
def timeline_partial(request: HttpRequest, target: str, uuid: Any) -> HttpResponse:
    """The timeline (filter chips + entries), or with ``cursor`` only the next entries and a new Load more."""
    obj = _resolve(request, target, uuid)
    try:
        context = presenters.timeline_context(request, obj)
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    template = "timeline/_entries_more.html" if request.GET.get("cursor") else "timeline/_timeline.html"
    return render(request, template, context)


@login_required
@require_GET
def quick_panel(request: HttpRequest, target: str, uuid: Any, panel: str) -> HttpResponse:
    """One quick-action panel's form, fetched (htmx) when its tab is first opened; a role that cannot add
    gets the card's "cannot add" message instead (403)."""
    obj = _resolve(request, target, uuid)
    context = presenters.quick_panel_context(request, obj, panel)
    return render(request, "timeline/_quick_panel.html", context, status=200 if context["can_edit"] else 403)


@login_required
@require_POST
def add_note(request: HttpRequest, target: str, uuid: Any) -> HttpResponse:
    obj = _resolve(request, target, uuid)
    _require_edit(request)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(actor=request.user, body=form.cleaned_data["body"], **{target: obj})
            return _refresh(request, obj)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return _failed(request, obj, "note", form, "note")


@login_required
@require_POST
def log_interaction(request: HttpRequest, target: str, uuid: Any) -> HttpResponse:
    obj = _resolve(request, target, uuid)
    _require_edit(request)
    form = InteractionForm(request.POST, attendee_choices=presenters.attendee_choices(request.user, obj))
    if form.is_valid():
        try:
            interaction = services.log_interaction(actor=request.user, **{target: obj}, **form.service_kwargs())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if interaction.kind in services.FOLLOW_UP_BUSINESS_DAYS and request.htmx:  # type: ignore[attr-defined]
                offer = {"followup": presenters.follow_up_form(request, obj, interaction),
                         "followup_kind": interaction.kind, "open_panel": interaction.kind}
                return _refresh(request, obj, offer)
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, _("Logged."))
            return _refresh(request, obj)
    panel = request.POST.get("kind") if request.POST.get("kind") in {"call", "meeting", "email"} else "other"
    return _failed(request, obj, "interaction", form, panel)


@login_required
@require_POST
def add_task(request: HttpRequest, target: str, uuid: Any) -> HttpResponse:
    obj = _resolve(request, target, uuid)
    _require_edit(request)
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            task = services.create_task(actor=request.user, **form.service_kwargs(), **{target: obj})
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _refresh(request, obj, _notice(request, task.due_note))  # type: ignore[attr-defined]
    return _failed(request, obj, "task", form, "task")


@login_required
@require_POST
def task_done(request: HttpRequest, uuid: Any) -> HttpResponse:
    task = selectors.get_task(user=request.user, uuid=uuid)
    _require_edit(request)
    services.set_task_done(actor=request.user, task=task, done=request.POST.get("done", "1") != "0")
    about = task.contact or task.company or task.deal
    if request.POST.get("panel") == "my_day" or about is None:
        if request.htmx:  # type: ignore[attr-defined]
            return render(request, "timeline/_my_day_tasks.html", presenters.my_day_context(request))
        return redirect("timeline:my_day")
    if request.POST.get("panel") == "edit":
        return redirect("timeline:task_edit", task.uuid)
    return _refresh(request, _page_object(request, about))


def _task_back_url(request: HttpRequest, task: Any) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    about = task.deal or task.contact or task.company
    return presenters.target_url(about) if about is not None else reverse("timeline:my_day")


@login_required
def task_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Edit a task (title, due time in the user's zone, reminder, repeats, assignee…), or reopen a done one."""
    task = selectors.get_task(user=request.user, uuid=uuid)
    if request.method == "POST":
        _require_edit(request)
        form = TaskEditForm(request.POST)
        if form.is_valid():
            try:
                task = services.update_task(actor=request.user, task=task, data=form.service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if task.due_note:  # type: ignore[attr-defined]
                    messages.info(request, task.due_note)  # type: ignore[attr-defined]
                else:
                    messages.success(request, _("Task saved."))
                return redirect(_task_back_url(request, task))
        status = 400
    else:
        form = TaskEditForm(initial={
            "title": task.title, "description": task.description, "due_at": task.due_at,
            "assignee": task.assignee.uuid if task.assignee else None, "priority": task.priority,
            "remind_minutes_before": "" if task.remind_minutes_before is None else str(task.remind_minutes_before),
            "recurrence": task.recurrence,
        })
        status = 200
    form.auto_id = "task_%s"
    return render(request, "timeline/task_form.html", {
        "task": task, "form": form, "can_edit": can_edit(request.user),
        "about": task.deal or task.contact or task.company,
        "about_url": _task_back_url(request, task), "next": request.GET.get("next", ""),
    }, status=status)


@login_required
@require_POST
def task_delete(request: HttpRequest, uuid: Any) -> HttpResponse:
    task = selectors.get_task(user=request.user, uuid=uuid)
    _require_edit(request)
    back = _task_back_url(request, task)
    services.delete_task(actor=request.user, task=task)
    messages.success(request, _("Task deleted."))
    return redirect(back)


@login_required
@require_POST
def delete_interaction(request: HttpRequest, uuid: Any) -> HttpResponse:
    interaction = selectors.get_interaction(user=request.user, uuid=uuid)
    _require_edit(request)
    obj = interaction.contact or interaction.company
    try:
        services.delete_interaction(actor=request.user, interaction=interaction)
    except ValidationError as exc:
        raise PermissionDenied("; ".join(exc.messages)) from exc
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, _("Deleted."))
    return _refresh(request, _page_object(request, obj))


@login_required
@require_POST
def add_preference(request: HttpRequest, uuid: Any) -> HttpResponse:
    contact = contact_selectors.get_contact(user=request.user, uuid=uuid)
    _require_edit(request)
    form = PreferenceForm(request.POST)
    if form.is_valid():
        try:
            contact_services.add_preference(actor=request.user, contact=contact, text=form.cleaned_data["text"])
            return _refresh(request, contact)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return _failed(request, contact, "preference", form, "note")


@login_required
@require_POST
def archive_preference(request: HttpRequest, uuid: Any) -> HttpResponse:
    preference = contact_selectors.get_preference(user=request.user, uuid=uuid)
    _require_edit(request)
    contact_services.archive_preference(actor=request.user, preference=preference)
    return _refresh(request, contact_selectors.get_contact(user=request.user, uuid=preference.contact.uuid))


@login_required
@require_GET
def mention_suggest(request: HttpRequest) -> JsonResponse:
    """Active users whose @handle or name starts with ``q`` (any word of the name), for the note box."""
    q = (request.GET.get("q") or "").strip().lstrip("@").lower()
    results = []
    for user in active_users():
        handle = user.mention_handle
        words = [w.lower() for w in (user.full_name or "").split()]
        if not q or handle.startswith(q) or any(w.startswith(q) for w in words) or q in (user.full_name or "").lower():
            results.append({"handle": handle, "name": user.full_name or user.email})
        if len(results) >= MENTION_LIMIT:
            break
    return JsonResponse({"results": results})


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    return render(request, "timeline/my_day.html", presenters.my_day_context(request))
