"""Forms of the quick actions on the 360 and company pages. They only parse input; the services validate
the rest and their field errors are put back on the form (see ``add_service_errors``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from amity.accounts.selectors import active_users
from amity.contacts.models import Contact

from .models import InteractionKind, Recurrence, TaskPriority

LOCAL_INPUT = "%Y-%m-%dT%H:%M"
REMIND_CHOICES = [
    ("", _("No reminder")), ("0", _("At the due time")), ("5", _("5 minutes before")),
    ("15", _("15 minutes before")), ("30", _("30 minutes before")), ("60", _("1 hour before")),
    ("1440", _("1 day before")),
]
DIRECTION_CHOICES = [("sent", _("Sent")), ("received", _("Received"))]


class LocalDateTimeField(forms.DateTimeField):
    """A date-time as typed (naive): the service places it in the user's time zone, so a time the clocks skip
    gets a clear message on the field instead of Django's generic one."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT)

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value
        try:
            return dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return forms.BaseTemporalField.to_python(self, value)  # type: ignore[attr-defined]

    def strptime(self, value: str, format: str) -> dt.datetime:
        return dt.datetime.strptime(value, format)

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
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
                                      help_text=_("Leave empty for now."))
    attendees = forms.ModelMultipleChoiceField(label=_("Attendees"), queryset=Contact.objects.none(), required=False,
                                               to_field_name="uuid",
                                               widget=forms.SelectMultiple(attrs={"size": 4}))
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    send_invitation = forms.BooleanField(label=_("Email the invitation to the attendees (.ics)"), required=False)
    direction = forms.ChoiceField(label=_("Direction"), choices=DIRECTION_CHOICES, required=False, initial="sent")
    body = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, attendee_choices: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if attendee_choices is not None:
            self.fields["attendees"].queryset = attendee_choices  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return {
            "kind": data["kind"], "subject": data.get("subject") or "", "body": data.get("body") or "",
            "outcome": data.get("outcome") or "", "occurred_at": data.get("occurred_at"),
            "duration_seconds": minutes * 60 if minutes is not None else None,
            "attendees": list(data.get("attendees") or []), "location": data.get("location") or "",
            "direction": data.get("direction") or "", "send_invitation": bool(data.get("send_invitation")),
        }


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200, required=False,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. Send the renewal quote")}))
    due_at = LocalDateTimeField(label=_("Due"), required=False)
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=active_users(), required=False,
                                      to_field_name="uuid", empty_label=_("Me"))
    priority = forms.ChoiceField(label=_("Priority"), choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    remind_minutes_before = forms.ChoiceField(label=_("Reminder"), choices=REMIND_CHOICES, required=False)
    recurrence = forms.ChoiceField(label=_("Repeats"), choices=Recurrence.choices, required=False)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"title": data["title"], "due_at": data["due_at"], "assignee": data["assignee"],
                "priority": data["priority"], "remind_minutes_before": data.get("remind_minutes_before") or None,
                "recurrence": data.get("recurrence") or ""}


class TaskEditForm(TaskForm):
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def service_data(self) -> dict[str, Any]:
        data = self.service_kwargs()
        data["description"] = self.cleaned_data.get("description") or ""
        if data["assignee"] is None:
            data.pop("assignee")  # "Me" on an edit keeps the assignee rather than taking the task over
        return data


class FollowUpForm(forms.Form):
    """The follow-up task offered after logging a call, meeting or email: prefilled, one click to add."""

    title = forms.CharField(label=_("Task"), max_length=200, required=False)
    due_at = LocalDateTimeField(label=_("Due"), required=False)
    remind_minutes_before = forms.ChoiceField(label=_("Reminder"), choices=REMIND_CHOICES, required=False,
                                              initial="15")


class PreferenceForm(forms.Form):
    text = forms.CharField(label=_("Preference"), max_length=300, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. now prefers unsweetened oat milk")}))


# Service error keys that are named differently on the form.
FIELD_ALIASES = {"duration_seconds": "duration_minutes", "contact": None, "company": None, "deal": None}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError({field: [...]}) on the form, field by field."""
    for field, messages in error.message_dict.items():
        name = FIELD_ALIASES.get(field, field)
        form.add_error(name if name in form.fields else None, messages)
