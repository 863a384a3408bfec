"""Forms for contacts, companies and custom-field definitions.

The forms only collect input: ``service_data()`` turns it into the plain dict the services take, and the
services decide what is valid. ``apply_service_errors`` puts a service's ``ValidationError`` back onto the
form's fields, so the person sees each reason next to what they typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.accounts.selectors import active_users
from amity.core.customfields import definitions
from amity.core.models import CustomFieldDefinition, CustomFieldType
from amity.core.normalize import normalize_email, normalize_phone

from . import selectors
from .models import Company, CompanySize, Contact, ContactEmail, ContactPhone, LifecycleStage, SpecialDateKind

EMAIL_ROWS = 3
PHONE_ROWS = 3
SPECIAL_DATE_ROWS = 3
COMMON_TIME_ZONES = [
    "UTC", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Moscow", "Africa/Lagos",
    "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei",
    "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland",
]
LANGUAGE_CHOICES = [
    ("", "—"), ("en", "English"), ("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("es", "Español"),
    ("fr", "Français"), ("de", "Deutsch"), ("ja", "日本語"), ("ko", "한국어"), ("pt", "Português"),
    ("it", "Italiano"), ("nl", "Nederlands"), ("ru", "Русский"), ("ar", "العربية"),
]
YES_NO_BLANK = [("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


def custom_field_name(key: str) -> str:
    return f"cf_{key}"


def _owner_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("Unassigned")), *[(str(u.uuid), str(u)) for u in active_users()]]  # type: ignore[list-item]


def _custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    """The widget a person expects for each field type. Validation stays in ``core.customfields``."""
    common: dict[str, Any] = {"label": definition.label, "required": False, "help_text": definition.help_text}
    kind = definition.field_type
    attrs = {"aria-required": "true"} if definition.required else {}
    if kind == CustomFieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={**attrs, "step": "any"}), **common)
    if kind == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={**attrs, "type": "date"}), **common)
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in definition.choices]],
                                 widget=forms.Select(attrs=attrs), **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(c, c) for c in definition.choices],
                                         widget=forms.CheckboxSelectMultiple, **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(choices=YES_NO_BLANK, widget=forms.Select(attrs=attrs), **common)
    if kind == CustomFieldType.URL:
        return forms.CharField(widget=forms.TextInput(attrs={**attrs, "inputmode": "url",
                                                             "placeholder": "https://"}), **common)
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def _custom_initial(definition: CustomFieldDefinition, value: Any) -> Any:
    if value is None:
        return None
    if definition.field_type == CustomFieldType.BOOLEAN:
        return "yes" if value else "no"
    return value


class ServiceForm(forms.Form):
    """A form that owns no rules: it gathers input for a service and shows that service's errors."""

    object_type = ""
    error_targets: dict[str, str] = {}

    def __init__(self, *args: Any, user: Any, instance: Any = None, **kwargs: Any) -> None:
        self.user = user
        self.instance = instance
        self.custom_definitions = definitions(self.object_type)
        self.duplicates: list[dict[str, str]] = []
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {**self.initial_from(instance), **initial}
        super().__init__(*args, initial=initial, **kwargs)  # type: ignore[misc]
        self.fields["owner"].choices = _owner_choices()  # type: ignore[attr-defined]
        if instance is None and "owner" not in initial:
            self.initial["owner"] = str(user.uuid)
        for definition in self.custom_definitions:
            self.fields[custom_field_name(definition.key)] = _custom_form_field(definition)
            if instance is not None:
                self.initial[custom_field_name(definition.key)] = _custom_initial(
                    definition, (instance.custom or {}).get(definition.key))

    def initial_from(self, instance: Any) -> dict[str, Any]:
        return {}

    @property
    def custom_bound_fields(self) -> list[tuple[CustomFieldDefinition, forms.BoundField]]:
        return [(d, self[custom_field_name(d.key)]) for d in self.custom_definitions]

    def custom_data(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for definition in self.custom_definitions:
            raw = self.cleaned_data.get(custom_field_name(definition.key))
            if definition.field_type == CustomFieldType.MULTI_CHOICE:
                values[definition.key] = list(raw or [])
            else:
                values[definition.key] = raw or None
        return values

    def owner_value(self) -> Any:
        value = self.cleaned_data.get("owner")
        return active_users().filter(uuid=value).first() if value else None

    def apply_service_errors(self, error: ValidationError) -> None:
        """Put each of the service's field errors next to the matching input."""
        for key, items in error.error_dict.items():
            for item in items:
                if getattr(item, "code", None) == "duplicate" and item.params:
                    self.duplicates.append({k: str(v) for k, v in item.params.items()})
                target = self._target(key, item)
                message = item.message % item.params if item.params else item.message
                self.add_error(target, message)

    def _target(self, key: str, item: ValidationError) -> str | None:
        if key.startswith("custom."):
            name = custom_field_name(key.split(".", 1)[1])
            return name if name in self.fields else None
        key = self.error_targets.get(key, key)
        return key if key in self.fields else None


class ContactForm(ServiceForm):
    object_type = "contact"
    error_targets = {"special_dates": "special_kind_0", "company": "company_name"}

    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=100, required=False)
    company_name = forms.CharField(label=gettext_lazy("Company"), max_length=200, required=False,
                                   widget=forms.TextInput(attrs={"list": "company-names", "autocomplete": "off"}))
    job_title = forms.CharField(label=gettext_lazy("Job title"), max_length=150, required=False)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    lifecycle_stage = forms.ChoiceField(label=gettext_lazy("Lifecycle stage"), choices=LifecycleStage.choices,
                                        initial=LifecycleStage.LEAD)
    source = forms.CharField(label=gettext_lazy("Source"), max_length=64, required=False,
                             help_text=gettext_lazy("Where they came from: website, referral, trade fair…"))
    tags = forms.CharField(label=gettext_lazy("Tags"), required=False,
                           help_text=gettext_lazy("Separate tags with commas."))
    birthday = forms.CharField(label=gettext_lazy("Birthday"), required=False, max_length=10,
                               widget=forms.TextInput(attrs={"placeholder": "1990-05-17 / --05-17"}),
                               help_text=gettext_lazy("YYYY-MM-DD, or --MM-DD when the year is unknown."))
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=LANGUAGE_CHOICES, required=False)
    street = forms.CharField(label=gettext_lazy("Street"), max_length=200, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100, required=False)
    postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20, required=False)
    country = forms.CharField(label=gettext_lazy("Country"), max_length=2, required=False,
                              widget=forms.TextInput(attrs={"placeholder": "US, CN, DE", "size": 4}))
    do_not_contact = forms.BooleanField(label=gettext_lazy("Do not contact"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.initial.get("time_zone") or ""
        zones = COMMON_TIME_ZONES if current in COMMON_TIME_ZONES or not current else [current, *COMMON_TIME_ZONES]
        self.fields["time_zone"].choices = [("", "—"), *[(z, z.replace("_", " ")) for z in zones]]  # type: ignore[attr-defined]
        if self.is_bound:  # a zone typed through the API or an import stays selectable when the form comes back
            posted = self.data.get("time_zone")
            if posted and posted not in zones:
                self.fields["time_zone"].choices.append((posted, posted))  # type: ignore[attr-defined]
        for i in range(EMAIL_ROWS):
            self.fields[f"email_{i}"] = forms.CharField(label=_("Email"), required=False, max_length=254,
                                                        widget=forms.EmailInput(attrs={"autocomplete": "off"}))
            self.fields[f"email_kind_{i}"] = forms.ChoiceField(label=_("Type"), choices=ContactEmail.KINDS,
                                                               required=False)
        for i in range(PHONE_ROWS):
            self.fields[f"phone_{i}"] = forms.CharField(label=_("Phone"), required=False, max_length=40,
                                                        widget=forms.TextInput(attrs={"type": "tel"}))
            self.fields[f"phone_kind_{i}"] = forms.ChoiceField(label=_("Type"), choices=ContactPhone.KINDS,
                                                               required=False)
        kinds = [(k, label) for k, label in SpecialDateKind.choices if k != SpecialDateKind.BIRTHDAY]
        for i in range(SPECIAL_DATE_ROWS):
            self.fields[f"special_kind_{i}"] = forms.ChoiceField(label=_("Kind"), choices=kinds, required=False)
            self.fields[f"special_label_{i}"] = forms.CharField(label=_("Label"), required=False, max_length=100)
            self.fields[f"special_date_{i}"] = forms.DateField(label=_("Date"), required=False,
                                                               widget=forms.DateInput(attrs={"type": "date"}))

    def initial_from(self, contact: Contact) -> dict[str, Any]:
        initial: dict[str, Any] = {
            field: getattr(contact, field) for field in [
                "first_name", "last_name", "job_title", "lifecycle_stage", "source", "time_zone", "language",
                "street", "city", "region", "postal_code", "country", "do_not_contact",
            ]
        }
        initial["owner"] = str(contact.owner.uuid) if contact.owner else ""
        initial["company_name"] = contact.company.name if contact.company else ""
        initial["tags"] = ", ".join(t.name for t in contact.tags.all())
        for i, email in enumerate(list(contact.emails.all())[:EMAIL_ROWS]):
            initial[f"email_{i}"], initial[f"email_kind_{i}"] = email.email, email.kind
        for i, phone in enumerate(list(contact.phones.all())[:PHONE_ROWS]):
            initial[f"phone_{i}"], initial[f"phone_kind_{i}"] = phone.number, phone.kind
        others = [d for d in contact.special_dates.all() if d.kind != SpecialDateKind.BIRTHDAY]
        for d in contact.special_dates.all():
            if d.kind == SpecialDateKind.BIRTHDAY:
                initial["birthday"] = f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d.year else f"--{d.month:02d}-{d.day:02d}"
        for i, d in enumerate(others[:SPECIAL_DATE_ROWS]):
            initial[f"special_kind_{i}"], initial[f"special_label_{i}"] = d.kind, d.label
            initial[f"special_date_{i}"] = dt.date(d.year or 2000, d.month, d.day)
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        company_name = (cleaned.get("company_name") or "").strip()  # type: ignore[union-attr]
        cleaned["company"] = None  # type: ignore[index]
        if company_name:
            cleaned["company"] = selectors.company_named(user=self.user, name=company_name)  # type: ignore[index]
            if cleaned["company"] is None:  # type: ignore[index]
                self.add_error("company_name", _("There is no company named “%(name)s” that you can see. "
                                                 "Create it first, or pick one from the list.") % {"name": company_name})
        return cleaned  # type: ignore[return-value]

    def _target(self, key: str, item: ValidationError) -> str | None:
        if key in {"emails", "phones"}:
            return self._row_with_problem(key, item)
        return super()._target(key, item)

    def _row_with_problem(self, key: str, item: ValidationError) -> str:
        """The email or phone row the service's error is about (it reports the list as a whole)."""
        prefix, rows, check = (("email", EMAIL_ROWS, normalize_email) if key == "emails"
                               else ("phone", PHONE_ROWS, normalize_phone))
        duplicate = (item.params or {}).get("email", "")
        for i in range(rows):
            typed = (self.cleaned_data.get(f"{prefix}_{i}") or "").strip()
            if not typed:
                continue
            if duplicate:
                if typed.lower() == duplicate:
                    return f"{prefix}_{i}"
                continue
            try:
                check(typed)
            except ValidationError:
                if f"{prefix}_{i}" not in self.errors:
                    return f"{prefix}_{i}"
        return f"{prefix}_0"

    def service_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        data: dict[str, Any] = {
            field: c.get(field) or "" for field in [
                "first_name", "last_name", "job_title", "lifecycle_stage", "source", "time_zone", "language",
                "street", "city", "region", "postal_code", "country",
            ]
        }
        data["do_not_contact"] = bool(c.get("do_not_contact"))
        data["company"] = c.get("company")
        data["owner"] = self.owner_value()
        data["tags"] = c.get("tags") or ""
        data["birthday"] = c.get("birthday") or None
        data["emails"] = [{"email": c[f"email_{i}"], "kind": c.get(f"email_kind_{i}") or "work"}
                          for i in range(EMAIL_ROWS) if c.get(f"email_{i}")]
        data["phones"] = [{"number": c[f"phone_{i}"], "kind": c.get(f"phone_kind_{i}") or "mobile"}
                          for i in range(PHONE_ROWS) if c.get(f"phone_{i}")]
        data["special_dates"] = [
            {"kind": c.get(f"special_kind_{i}") or "other", "label": c.get(f"special_label_{i}") or "",
             "date": c[f"special_date_{i}"]}
            for i in range(SPECIAL_DATE_ROWS) if c.get(f"special_date_{i}")
        ]
        data["custom"] = self.custom_data()
        return data

    @property
    def email_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"email_{i}"], self[f"email_kind_{i}"]) for i in range(EMAIL_ROWS)]

    @property
    def phone_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"phone_{i}"], self[f"phone_kind_{i}"]) for i in range(PHONE_ROWS)]

    @property
    def special_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"special_kind_{i}"], self[f"special_label_{i}"], self[f"special_date_{i}"])
                for i in range(SPECIAL_DATE_ROWS)]


class CompanyForm(ServiceForm):
    object_type = "company"

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    domain = forms.CharField(label=gettext_lazy("Domain"), max_length=200, required=False,
                             widget=forms.TextInput(attrs={"placeholder": "example.com"}))
    industry = forms.CharField(label=gettext_lazy("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(label=gettext_lazy("Size"), choices=[("", "—"), *CompanySize.choices], required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False,
                            widget=forms.TextInput(attrs={"type": "tel"}))
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    tags = forms.CharField(label=gettext_lazy("Tags"), required=False,
                           help_text=gettext_lazy("Separate tags with commas."))
    street = forms.CharField(label=gettext_lazy("Street"), max_length=200, required=False)
    city = forms.CharField(label=gettext_lazy("City"), max_length=100, required=False)
    region = forms.CharField(label=gettext_lazy("Region"), max_length=100, required=False)
    postal_code = forms.CharField(label=gettext_lazy("Postal code"), max_length=20, required=False)
    country = forms.CharField(label=gettext_lazy("Country"), max_length=2, required=False,
                              widget=forms.TextInput(attrs={"placeholder": "US, CN, DE", "size": 4}))
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    TEXT = ["name", "domain", "industry", "size", "phone", "street", "city", "region", "postal_code", "country",
            "description"]

    def initial_from(self, company: Company) -> dict[str, Any]:
        initial = {field: getattr(company, field) for field in self.TEXT}
        initial["owner"] = str(company.owner.uuid) if company.owner else ""
        initial["tags"] = ", ".join(t.name for t in company.tags.all())
        return initial

    def service_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {field: self.cleaned_data.get(field) or "" for field in self.TEXT}
        data["owner"] = self.owner_value()
        data["tags"] = self.cleaned_data.get("tags") or ""
        data["custom"] = self.custom_data()
        return data


class CustomFieldForm(forms.Form):
    """Label, type and choices of a custom field; the key is made from the label by the service."""

    object_type = forms.ChoiceField(label=gettext_lazy("Used on"), choices=[
        ("contact", gettext_lazy("Contacts")), ("company", gettext_lazy("Companies")),
        ("deal", gettext_lazy("Deals"))])
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)
    field_type = forms.ChoiceField(label=gettext_lazy("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(label=gettext_lazy("Choices"), required=False,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=gettext_lazy("One per line; needed for choice and multiple-choice fields."))
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    show_in_list = forms.BooleanField(label=gettext_lazy("Show as a column in the list"), required=False,
                                      initial=True)
    help_text = forms.CharField(label=gettext_lazy("Help text"), max_length=200, required=False)
    position = forms.IntegerField(label=gettext_lazy("Position"), required=False, min_value=0)

    def __init__(self, *args: Any, instance: CustomFieldDefinition | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", {
                "object_type": instance.object_type, "label": instance.label, "field_type": instance.field_type,
                "choices": "\n".join(instance.choices), "required": instance.required,
                "show_in_list": instance.show_in_list, "help_text": instance.help_text, "position": instance.position,
            })
        super().__init__(*args, **kwargs)
        if instance is not None:
            # Fixed once created: stored values were validated against the type.
            for name in ("object_type", "field_type"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.instance is not None:
            data.pop("object_type", None)
            data.pop("field_type", None)
        return data

    def apply_service_errors(self, error: ValidationError) -> None:
        for key, items in error.error_dict.items():
            for item in items:
                self.add_error(key if key in self.fields else None, item)
