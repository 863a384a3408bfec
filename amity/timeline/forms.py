"""Forms of the quick actions on the 360 and company pages. They only parse input; the services validate
the rest and their field errors are put back on the form (see ``add_service_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from amity.accounts.selectors import active_users

from .models import InteractionKind, TaskPriority

CALL_OUTCOMES = [
    ("connected", _("Connected")),
    ("left_voicemail", _("Left voicemail")),
    ("no_answer", _("No answer")),
    ("busy", _("Busy")),
]
LOGGABLE_KINDS = [(k, label) for k, label in InteractionKind.choices if k != InteractionKind.NOTE]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a note… type @ to mention a colleague"),
                                     "data-mention": "true"}),
    )


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=LOGGABLE_KINDS, initial=InteractionKind.CALL)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *CALL_OUTCOMES], required=False)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=0, max_value=24 * 60,
                                          required=False)
    occurred_at = forms.DateTimeField(label=_("When"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text=_("Leave empty for now."))
    body = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return {
            "kind": data["kind"], "subject": data.get("subject") or "", "body": data.get("body") or "",
            "outcome": data.get("outcome") or "", "occurred_at": data.get("occurred_at"),
            "duration_seconds": minutes * 60 if minutes is not None else None,
        }


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. Send the renewal quote")}))
    due_at = forms.DateTimeField(label=_("Due"), required=False,
                                 widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=active_users(), required=False,
                                      to_field_name="uuid", empty_label=_("Me"))
    priority = forms.ChoiceField(label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL)


class PreferenceForm(forms.Form):
    text = forms.CharField(label=_("Preference"), max_length=300, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. now prefers unsweetened oat milk")}))


# Service error keys that are named differently on the form.
FIELD_ALIASES = {"duration_seconds": "duration_minutes", "contact": None, "company": None}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError({field: [...]}) on the form, field by field."""
    for field, messages in error.message_dict.items():
        name = FIELD_ALIASES.get(field, field)
        form.add_error(name if name in form.fields else None, messages)
