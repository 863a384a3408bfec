"""Contacts and companies over the JSON API. Thin: parse, call one selector or service, serialise."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field, create_model

from amity.accounts.selectors import user_by_uuid
from amity.api.pagination import CURSOR, LIMIT, page_body, query_params
from amity.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    InputSchema,
    Ref,
    created,
    enum_of,
    list_schema,
    no_content,
    page_schema,
)
from amity.core.filtering import FilterSet

from . import selectors, services
from .filters import COMPANY_SORTS, CONTACT_SORTS, DEFAULT_SORT, CompanyFilterSet, ContactFilterSet
from .models import Company, Contact, LifecycleStage, Preference, SpecialDate, SpecialDateKind

router = Router()

# --- query parameters, generated from the FilterSets the UI uses so both accept exactly the same filters ----------

_KIND_HELP = {
    "bool": "1 (yes) or 0 (no).",
    "date_from": "A date, YYYY-MM-DD.",
    "date_to": "A date, YYYY-MM-DD.",
    "number_min": "A number.",
    "number_max": "A number.",
}


def _list_query(name: str, filterset: type[FilterSet], sorts: dict[str, Any]) -> type[Schema]:
    fields: dict[str, Any] = {
        "q": (str | None, Field(None, description="Search text: name, email, phone, company…")),
        "sort": (str | None, Field(None, description=f"Sort order (default `{DEFAULT_SORT}`).",
                                   json_schema_extra=enum_of(sorts))),
        "cursor": (str | None, CURSOR),
        "limit": (int, LIMIT),
    }
    for f in filterset.filters:
        help_text = _KIND_HELP.get(f.kind, "")
        if f.kind == "choice" and f.choices:
            help_text = "One of: " + ", ".join(code for code, _label in f.choices) + "."
        if f.name == "owner":
            help_text = "A user id, or `none` for unassigned."
        description = f"{f.label}. {help_text}".strip()
        fields[f.name] = (str | None, Field(None, description=description))
    return create_model(name, __base__=Schema, **fields)


ContactListQuery = _list_query("ContactListQuery", ContactFilterSet, CONTACT_SORTS)
CompanyListQuery = _list_query("CompanyListQuery", CompanyFilterSet, COMPANY_SORTS)
CUSTOM_FILTER_HELP = (
    "\n\nCustom fields filter as `custom.<key>=<value>` (e.g. `custom.tier=gold`; `__empty__` matches no value); "
    "see `GET /api/custom-fields`. Unknown filters or values answer 422 naming the parameter."
)

# --- schemas ----------------------------------------------------------------------------------------------------


class EmailOut(Schema):
    email: str
    kind: str
    primary: bool


class PhoneOut(Schema):
    number: str = Field(description="E.164, e.g. +14155550123")
    kind: str
    primary: bool


class SpecialDateOut(Schema):
    kind: str
    label: str
    date: str = Field(description="YYYY-MM-DD, or --MM-DD when the year is unknown")


class Address(Schema):
    street: str
    city: str
    region: str
    postal_code: str
    country: str = Field(description="ISO 3166 code, e.g. US, CN")


class ContactOut(Schema):
    id: str
    first_name: str
    last_name: str
    name: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    company: Ref | None
    job_title: str
    owner: Ref | None
    lifecycle_stage: str
    source: str
    tags: list[str]
    birthday: str | None = Field(description="YYYY-MM-DD, or --MM-DD when the year is unknown")
    special_dates: list[SpecialDateOut]
    time_zone: str
    language: str
    address: Address
    do_not_contact: bool
    custom: dict[str, Any]
    lifetime_value: str = Field(description="A decimal, e.g. \"1250.00\"")
    last_contacted_at: dt.datetime | None
    order_count: int = Field(description="Orders placed (cancelled ones excluded; refunded ones included).")
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    total_spent: str = Field(description="Total spent net of refunds, in the base currency (same as lifetime_value).")
    average_order_value: str = Field(description="total_spent / order_count, base currency.")
    last_activity_at: dt.datetime | None = Field(description="The latest order, store visit event or cart change.")
    days_since_last_order: int | None
    days_since_last_activity: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyOut(Schema):
    id: str
    name: str
    domain: str
    industry: str
    size: str
    phone: str
    description: str
    owner: Ref | None
    tags: list[str]
    address: Address
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class EmailIn(InputSchema):
    email: str
    kind: str = Field("work", description="work, home or other")
    primary: bool = False


class PhoneIn(InputSchema):
    number: str = Field(description="Any common format; stored as E.164")
    kind: str = Field("mobile", description="mobile, work, home or other")
    primary: bool = False


class SpecialDateIn(InputSchema):
    kind: str = Field("other", description="anniversary, customer_since or other")
    label: str = ""
    date: str = Field(description="YYYY-MM-DD, or --MM-DD when the year is unknown")


class AddressIn(InputSchema):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class ContactIn(InputSchema):
    """Every field is optional; on PATCH only the fields sent change. Lists (emails, phones, tags,
    special_dates) replace the whole list."""

    first_name: str | None = None
    last_name: str | None = None
    emails: list[EmailIn] | None = Field(None, description="The primary one first, or marked `primary`.")
    phones: list[PhoneIn] | None = None
    company: uuid.UUID | None = Field(None, description="Company id, or null for none")
    job_title: str | None = None
    owner: uuid.UUID | None = Field(None, description="User id, or null for unassigned")
    lifecycle_stage: str | None = Field(None, json_schema_extra=enum_of(LifecycleStage.values))
    source: str | None = None
    tags: list[str] | None = Field(None, description="Tag names; missing tags are created")
    birthday: str | None = Field(None, description="YYYY-MM-DD, or --MM-DD without a year; null clears it")
    special_dates: list[SpecialDateIn] | None = None
    time_zone: str | None = Field(None, description="IANA name, e.g. Europe/Berlin")
    language: str | None = None
    address: AddressIn | None = None
    do_not_contact: bool | None = None
    custom: dict[str, Any] | None = Field(None, description="Custom field values by key")


class CompanyIn(InputSchema):
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    size: str | None = None
    phone: str | None = None
    description: str | None = None
    owner: uuid.UUID | None = Field(None, description="User id, or null for unassigned")
    tags: list[str] | None = None
    address: AddressIn | None = None
    custom: dict[str, Any] | None = None


class PreferenceOut(Schema):
    id: str
    text: str
    recorded_at: dt.datetime
    recorded_by: Ref | None


class PreferenceIn(InputSchema):
    # Optional here so a request for a contact the user may not see answers 404 before the body is judged;
    # the service refuses an empty preference with a field error.
    text: str | None = None


ContactPage = page_schema(ContactOut, "ContactPage")
CompanyPage = page_schema(CompanyOut, "CompanyPage")
PreferenceList = list_schema(PreferenceOut, "PreferenceList")

# --- serialisation ---------------------------------------------------------------------------------------------


def ref(obj: Any) -> dict[str, str] | None:
    return None if obj is None else {"id": str(obj.uuid), "name": str(obj)}


def date_text(special: SpecialDate) -> str:
    if special.year:
        return f"{special.year:04d}-{special.month:02d}-{special.day:02d}"
    return f"--{special.month:02d}-{special.day:02d}"


def _tag_names(obj: Any) -> list[str]:
    tags = getattr(obj, "tag_list", None)
    if tags is None:
        tags = sorted(obj.tags.all(), key=lambda t: t.name.lower())
    return [t.name for t in tags]


def _address(obj: Any) -> dict[str, str]:
    return {"street": obj.street, "city": obj.city, "region": obj.region, "postal_code": obj.postal_code,
            "country": obj.country}


def contact_body(contact: Contact) -> dict[str, Any]:
    from django.utils import timezone

    now = timezone.now()

    def _days_since(moment: dt.datetime | None) -> int | None:
        return max(0, (now - moment).days) if moment is not None else None

    dates = list(contact.special_dates.all())
    birthday = next((d for d in dates if d.kind == SpecialDateKind.BIRTHDAY), None)
    return {
        "id": str(contact.uuid),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.display_name,
        "emails": [{"email": e.email, "kind": e.kind, "primary": e.is_primary} for e in contact.emails.all()],
        "phones": [{"number": p.number, "kind": p.kind, "primary": p.is_primary} for p in contact.phones.all()],
        "company": ref(contact.company),
        "job_title": contact.job_title,
        "owner": ref(contact.owner),
        "lifecycle_stage": contact.lifecycle_stage,
        "source": contact.source,
        "tags": _tag_names(contact),
        "birthday": date_text(birthday) if birthday else None,
        "special_dates": [{"kind": d.kind, "label": d.label, "date": date_text(d)}
                          for d in dates if d.kind != SpecialDateKind.BIRTHDAY],
        "time_zone": contact.time_zone,
        "language": contact.language,
        "address": _address(contact),
        "do_not_contact": contact.do_not_contact,
        "custom": contact.custom or {},
        "lifetime_value": f"{Decimal(contact.lifetime_value):.2f}",
        "last_contacted_at": contact.last_contacted_at,
        "order_count": contact.order_count,
        "first_order_at": contact.first_order_at,
        "last_order_at": contact.last_order_at,
        "total_spent": f"{Decimal(contact.lifetime_value):.2f}",
        "average_order_value": f"{Decimal(contact.average_order_value):.2f}",
        "last_activity_at": contact.last_activity_at,
        "days_since_last_order": _days_since(contact.last_order_at),
        "days_since_last_activity": _days_since(contact.last_activity_at),
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def company_body(company: Company) -> dict[str, Any]:
    return {
        "id": str(company.uuid),
        "name": company.name,
        "domain": company.domain,
        "industry": company.industry,
        "size": company.size,
        "phone": company.phone,
        "description": company.description,
        "owner": ref(company.owner),
        "tags": _tag_names(company),
        "address": _address(company),
        "custom": company.custom or {},
        "created_at": company.created_at,
        "updated_at": company.updated_at,
    }


def _fresh(obj: Any) -> Any:
    """After a write, drop prefetched related rows so the response shows what was saved."""
    obj._prefetched_objects_cache = {}
    return obj


def contact_page(request: HttpRequest, params: Any) -> dict[str, Any]:
    page = selectors.contact_list(user=request.user, params=params)
    # One query per relation for the whole page (tags are attached by the selector the same way).
    prefetch_related_objects(page.items, "emails", "phones", "special_dates")
    return page_body(page, contact_body)


# --- input ------------------------------------------------------------------------------------------------------

def _owner(value: uuid.UUID | None) -> Any:
    if value is None:
        return None
    user = user_by_uuid(value)
    if user is None or not user.is_active:
        raise ValidationError({"owner": [_("There is no active user with this id.")]})
    return user


def _company(request: HttpRequest, value: uuid.UUID | None) -> Company | None:
    if value is None:
        return None
    try:
        return selectors.get_company(user=request.user, uuid=value)
    except Http404:
        raise ValidationError({"company": [_("There is no company with this id, or you may not see it.")]}) from None


def _common_input(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "address":
            address = value if value is not None else dict.fromkeys(AddressIn.model_fields, "")
            data.update({k: v or "" for k, v in address.items()})
        elif key == "tags":
            data["tags"] = value or []
        elif key == "owner":
            data["owner"] = _owner(value)
        else:
            data[key] = value
    return data


@contextmanager
def request_field_names() -> Iterator[None]:
    """Services name address errors ``country``; the API's body has them under ``address``."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        address = set(AddressIn.model_fields)
        raise ValidationError({(f"address.{k}" if k in address else k): v for k, v in exc.error_dict.items()}) \
            from None


def contact_input(request: HttpRequest, payload: ContactIn) -> dict[str, Any]:
    """The API body as the service's plain dict: ids resolved to records, the primary email/phone first."""
    data = _common_input(payload.dict(exclude_unset=True))
    for key in ("emails", "phones"):
        if key in data:
            items = sorted(data[key] or [], key=lambda item: not item.get("primary"))
            data[key] = [{k: v for k, v in item.items() if k != "primary"} for item in items]
    if "special_dates" in data:
        data["special_dates"] = data["special_dates"] or []
    if "company" in data:
        data["company"] = _company(request, data["company"])
    return data


# --- contacts ---------------------------------------------------------------------------------------------------

@router.get("/contacts", response={200: ContactPage, **READ_ERRORS}, tags=["contacts"],
            summary="List contacts", description="The contact list with the same filters and sorts as the web UI."
            + CUSTOM_FILTER_HELP)
def list_contacts(request: HttpRequest, filters: Query[ContactListQuery]):  # type: ignore[valid-type]
    return contact_page(request, request.GET)


@router.post("/contacts", response={201: ContactOut, **WRITE_ERRORS}, tags=["contacts"], summary="Create a contact")
def create_contact(request: HttpRequest, payload: ContactIn):
    with request_field_names():
        contact = services.create_contact(actor=request.user, data=contact_input(request, payload))
    return created(contact_body(contact))


class MergedOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    merged_into: str = Field(description="The id of the contact it was merged into (also in `Location`).")


@router.get("/contacts/{id}", response={200: ContactOut, 308: MergedOut, **READ_ERRORS}, tags=["contacts"],
            summary="Get a contact", description="A contact merged into another answers 308 with `Location` "
            "(and `merged_into`) pointing at the contact it was merged into.")
def get_contact(request: HttpRequest, id: uuid.UUID):
    try:
        return contact_body(selectors.get_contact(user=request.user, uuid=id))
    except Http404:
        target = selectors.merged_target(user=request.user, uuid=id)
        if target is None:
            raise
        location = reverse("api:get_contact", args=[target.uuid])
        response = HttpResponse(json.dumps({
            "type": "about:blank", "title": "Merged", "status": 308, "merged_into": str(target.uuid),
            "detail": "This contact was merged into another; its data lives there now.",
        }), status=308, content_type="application/problem+json")
        response["Location"] = location
        return response


@router.patch("/contacts/{id}", response={200: ContactOut, **WRITE_ERRORS}, tags=["contacts"],
              summary="Update a contact", description="Only the fields sent change.")
def update_contact(request: HttpRequest, id: uuid.UUID, payload: ContactIn):
    contact = selectors.get_contact(user=request.user, uuid=id)
    with request_field_names():
        contact = services.update_contact(actor=request.user, contact=contact, data=contact_input(request, payload))
    return contact_body(_fresh(contact))


@router.delete("/contacts/{id}", response={204: None, **WRITE_ERRORS}, tags=["contacts"], summary="Delete a contact")
def delete_contact(request: HttpRequest, id: uuid.UUID):
    contact = selectors.get_contact(user=request.user, uuid=id)
    services.delete_contact(actor=request.user, contact=contact)
    return no_content()


def preference_body(preference: Preference) -> dict[str, Any]:
    return {"id": str(preference.uuid), "text": preference.text, "recorded_at": preference.recorded_at,
            "recorded_by": ref(preference.recorded_by)}


@router.get("/contacts/{id}/preferences", response={200: PreferenceList, **READ_ERRORS}, tags=["contacts"],
            summary="A contact's preferences", description="Active (not archived) preferences, newest first.")
def list_preferences(request: HttpRequest, id: uuid.UUID):
    contact = selectors.get_contact(user=request.user, uuid=id)
    return {"items": [preference_body(p) for p in selectors.active_preferences(contact)]}


@router.post("/contacts/{id}/preferences", response={201: PreferenceOut, **WRITE_ERRORS}, tags=["contacts"],
             summary="Record a preference")
def add_preference(request: HttpRequest, id: uuid.UUID, payload: PreferenceIn):
    contact = selectors.get_contact(user=request.user, uuid=id)
    preference = services.add_preference(actor=request.user, contact=contact, text=payload.text or "")
    return created(preference_body(preference))


# --- companies --------------------------------------------------------------------------------------------------

@router.get("/companies", response={200: CompanyPage, **READ_ERRORS}, tags=["companies"], summary="List companies",
            description="The company list with the same filters and sorts as the web UI." + CUSTOM_FILTER_HELP)
def list_companies(request: HttpRequest, filters: Query[CompanyListQuery]):  # type: ignore[valid-type]
    return page_body(selectors.company_list(user=request.user, params=request.GET), company_body)


@router.post("/companies", response={201: CompanyOut, **WRITE_ERRORS}, tags=["companies"],
             summary="Create a company")
def create_company(request: HttpRequest, payload: CompanyIn):
    with request_field_names():
        company = services.create_company(actor=request.user, data=_common_input(payload.dict(exclude_unset=True)))
    return created(company_body(company))


@router.get("/companies/{id}", response={200: CompanyOut, **READ_ERRORS}, tags=["companies"],
            summary="Get a company")
def get_company(request: HttpRequest, id: uuid.UUID):
    return company_body(selectors.get_company(user=request.user, uuid=id))


@router.patch("/companies/{id}", response={200: CompanyOut, **WRITE_ERRORS}, tags=["companies"],
              summary="Update a company", description="Only the fields sent change.")
def update_company(request: HttpRequest, id: uuid.UUID, payload: CompanyIn):
    company = selectors.get_company(user=request.user, uuid=id)
    with request_field_names():
        company = services.update_company(actor=request.user, company=company,
                                          data=_common_input(payload.dict(exclude_unset=True)))
    return company_body(_fresh(company))


@router.delete("/companies/{id}", response={204: None, **WRITE_ERRORS}, tags=["companies"],
               summary="Delete a company", description="Its contacts stay, without a company.")
def delete_company(request: HttpRequest, id: uuid.UUID):
    company = selectors.get_company(user=request.user, uuid=id)
    services.delete_company(actor=request.user, company=company)
    return no_content()


@router.get("/companies/{id}/contacts", response={200: ContactPage, **READ_ERRORS}, tags=["companies"],
            summary="A company's contacts", description="Takes the same filters as `GET /api/contacts`.")
def list_company_contacts(request: HttpRequest, id: uuid.UUID,
                          filters: Query[ContactListQuery]):  # type: ignore[valid-type]
    company = selectors.get_company(user=request.user, uuid=id)
    return contact_page(request, query_params(request, company=str(company.uuid)))
