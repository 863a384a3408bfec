"""Forms for logging in, profile settings, API tokens and user administration.

Forms only parse input; the rules live in ``services`` and their ``ValidationError({field: [...]})`` is
mapped back onto the form with ``add_service_errors``.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import selectors
from .models import Theme, TokenScope, User, Visibility

# Shown first in the time zone list: where most small businesses using Amity are.
COMMON_TIME_ZONES = [
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Tokyo",
    "Australia/Sydney",
]

# Each language is named in itself, so someone who picked the wrong one can find their way back.
LANGUAGE_CHOICES = [("en", "English"), ("zh-hans", "简体中文")]


def time_zone_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    available = zoneinfo.available_timezones()
    common = [(name, name.replace("_", " ")) for name in COMMON_TIME_ZONES if name in available]
    everything = [(name, name.replace("_", " ")) for name in sorted(available)]
    return [(str(_("Common")), common), (str(_("All time zones")), everything)]


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's field errors on the form's fields (unknown fields become form-wide errors)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form with the username field presented as an email address."""

    username = forms.CharField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "inputmode": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email and password don't match an account. Check both and try again."),
    }


class AmityPasswordResetForm(PasswordResetForm):
    """Also reaches invited users who have not chosen a password yet (Django skips unusable passwords)."""

    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    def get_users(self, email: str):  # type: ignore[override]
        return User.objects.filter(email=email.strip().lower(), is_active=True)


PASSWORD_HELP = _("At least 10 characters. Not a common password, not only digits, not like your name or email.")


class AmitySetPasswordForm(SetPasswordForm):
    """Django's form with its validator list condensed into one sentence of help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP
        self.fields["new_password2"].help_text = ""


class AmityPasswordChangeForm(PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        # The form sits below the profile on the settings page: focusing it would scroll past the profile.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
        self.fields["new_password1"].help_text = PASSWORD_HELP
        self.fields["new_password2"].help_text = ""


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=150,
                                error_messages={"required": _("Your name cannot be empty.")},
                                widget=forms.TextInput(attrs={"autocomplete": "name"}))
    time_zone = forms.CharField(
        label=_("Time zone"), widget=forms.Select(),
        help_text=_("Dates and times everywhere in Amity are shown in this time zone."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    theme = forms.ChoiceField(label=_("Theme"), choices=Theme.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Validation is the service's job (it names the bad value); the widget only offers the choices.
        self.fields["time_zone"].widget.choices = time_zone_choices()


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           error_messages={"required": _("Name the token after what will use it, e.g. “Zapier”.")},
                           help_text=_("What will use this token, e.g. “Zapier” or “Billing sync”."))
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ,
        help_text=_("Read tokens can only look; read-and-write tokens can also create and change records."),
    )


class InviteUserForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    full_name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=150)
    role = forms.ModelChoiceField(label=_("Role"), queryset=selectors.roles(), empty_label=None)
    team = forms.ModelChoiceField(label=_("Team"), queryset=selectors.teams(), required=False,
                                  empty_label=_("No team"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = selectors.role_by_key("sales")


class UserAccessForm(forms.Form):
    role = forms.ModelChoiceField(label=_("Role"), queryset=selectors.roles(), empty_label=None)
    team = forms.ModelChoiceField(label=_("Team"), queryset=selectors.teams(), required=False,
                                  empty_label=_("No team"))
    is_active = forms.BooleanField(
        label=_("Active"), required=False,
        help_text=_("Inactive users cannot log in or use their API tokens; their records stay."),
    )


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100,
                           error_messages={"required": _("A team needs a name.")})


class RoleForm(forms.Form):
    visibility = forms.ChoiceField(label=_("Sees"), choices=Visibility.choices)
    can_edit = forms.BooleanField(label=_("Edit"), required=False)
    can_delete = forms.BooleanField(label=_("Delete"), required=False)
    can_export = forms.BooleanField(label=_("Export"), required=False)
    is_admin = forms.BooleanField(label=_("Admin"), required=False)
