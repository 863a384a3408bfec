"""Login, password reset, the user's own settings and tokens, and user/team/role administration.

Views parse input, call one service or selector and render; rules live in ``services``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from amity.core.permissions import is_admin

from . import selectors, services
from .forms import (
    AmityPasswordChangeForm,
    AmityPasswordResetForm,
    AmitySetPasswordForm,
    EmailAuthenticationForm,
    InviteUserForm,
    ProfileForm,
    RoleForm,
    TeamForm,
    TokenForm,
    UserAccessForm,
    add_service_errors,
)

log = logging.getLogger(__name__)


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the login page) and an admin (else 403), for GET and POST alike."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise PermissionDenied(_("Only admins can manage users, teams and roles."))
        return view(request, *args, **kwargs)

    return wrapped


# --- login, logout, password reset ------------------------------------------------------------------------

class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    form_class = AmityPasswordResetForm
    email_template_name = "accounts/email/password_reset_body.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = AmitySetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = AmityPasswordChangeForm
    success_url = reverse_lazy("accounts:settings")
    success_message = gettext_lazy("Your password was changed.")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "tab": "profile"}


# --- the user's own settings ------------------------------------------------------------------------------

@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.update_preferences(user=user, data=form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                # Rendered by the next request, which the middleware runs in the newly chosen language.
                messages.success(request, _("Your settings were saved."))
                return redirect("accounts:settings")
    else:
        form = ProfileForm(initial={"full_name": user.full_name, "time_zone": user.time_zone,
                                    "language": user.language, "theme": user.theme})
    return render(request, "accounts/settings.html", {
        "form": form, "password_form": AmityPasswordChangeForm(user), "tab": "profile",
    })


@login_required
@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """Quick theme switch from any page (app.js ``data-theme-set``): form-encoded or JSON ``theme``."""
    theme = request.POST.get("theme")
    if theme is None and request.content_type == "application/json":
        try:
            theme = json.loads(request.body or b"{}").get("theme")
        except (ValueError, AttributeError):
            theme = None
    try:
        services.update_preferences(user=request.user, data={"theme": theme})
    except ValidationError:
        return HttpResponse(_("Choose system, light or dark."), status=400, content_type="text/plain")
    return HttpResponse(status=204)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    new_secret = None
    new_token = None
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                new_token, new_secret = services.create_api_token(
                    user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                form = TokenForm()
    else:
        form = TokenForm()
    # The secret is rendered into this one response and never stored: a reload cannot show it again.
    response = render(request, "accounts/tokens.html", {
        "form": form, "tokens": selectors.tokens_of(request.user), "new_secret": new_secret,
        "new_token": new_token, "tab": "tokens",
    })
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@login_required
def token_revoke(request: HttpRequest, uuid: Any) -> HttpResponse:
    token = selectors.token_of(request.user, uuid)
    if token is None:
        raise Http404
    if request.method == "POST":
        services.revoke_api_token(actor=request.user, token=token)
        messages.success(request, _("The token “%(name)s” was revoked. Anything using it can no longer connect.")
                         % {"name": token.name})
        return redirect("accounts:tokens")
    return render(request, "accounts/token_revoke.html", {"token": token, "tab": "tokens"})


# --- administration -------------------------------------------------------------------------------------------

@admin_required
def admin_users(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = InviteUserForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.invite_user(
                    actor=request.user, email=data["email"], full_name=data["full_name"], role=data["role"],
                    team=data["team"], base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except OSError as exc:  # SMTP refused or unreachable: the user exists, the email did not go
                log.warning("invite email failed: %s", exc)
                messages.warning(request, _("%(email)s was added, but the invitation email could not be sent. "
                                            "They can use “Forgot password?” on the login page.")
                                 % {"email": data["email"]})
                return redirect("accounts:admin_users")
            else:
                messages.success(request, _("%(email)s was added and emailed a link to choose a password.")
                                 % {"email": user.email})
                return redirect("accounts:admin_users")
    else:
        form = InviteUserForm()
    return render(request, "accounts/admin_users.html", {
        "form": form, "users": selectors.all_users(), "tab": "users",
    })


@admin_required
def admin_user_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    target = selectors.user_by_uuid(uuid)
    if target is None:
        raise Http404
    if request.method == "POST":
        form = UserAccessForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_user_access(actor=request.user, user=target, role=data["role"], team=data["team"],
                                            is_active=data["is_active"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Access for %(name)s was updated.") % {"name": target})
                return redirect("accounts:admin_users")
    else:
        form = UserAccessForm(initial={"role": target.role, "team": target.team, "is_active": target.is_active})
    return render(request, "accounts/admin_user_edit.html", {"form": form, "target": target, "tab": "users"})


@admin_required
def teams(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = services.create_team(actor=request.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Team “%(name)s” was created.") % {"name": team.name})
                return redirect("accounts:teams")
    else:
        form = TeamForm()
    return render(request, "accounts/teams.html", {
        "form": form, "teams": selectors.teams_with_member_counts(), "tab": "teams",
    })


@admin_required
def roles(request: HttpRequest) -> HttpResponse:
    role_list = list(selectors.roles())
    errors_for: str | None = None
    bound: RoleForm | None = None
    if request.method == "POST":
        role = selectors.role_by_key(request.POST.get("role", ""))
        if role is None:
            raise Http404
        bound = RoleForm(request.POST, prefix=role.key)
        if bound.is_valid():
            try:
                services.update_role(actor=request.user, role=role, data=bound.cleaned_data)
            except ValidationError as exc:
                add_service_errors(bound, exc)
            else:
                messages.success(request, _("The %(role)s role was saved.") % {"role": role.name})
                return redirect("accounts:roles")
        errors_for = role.key
    rows = []
    for role in role_list:
        if role.key == errors_for:
            form = bound
        else:
            form = RoleForm(prefix=role.key, initial={
                "visibility": role.visibility, "can_edit": role.can_edit, "can_delete": role.can_delete,
                "can_export": role.can_export, "is_admin": role.is_admin,
            })
        rows.append((role, form))
    return render(request, "accounts/roles.html", {"rows": rows, "tab": "roles"})
