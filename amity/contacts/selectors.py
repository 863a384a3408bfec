"""Every read of contacts and companies, scoped by the permission layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core import search
from amity.core.pagination import Page, keyset_page, page_size
from amity.core.permissions import get_visible_or_404, visible_to

from .filters import COMPANY_SORTS, CONTACT_SORTS, DEFAULT_SORT, CompanyFilterSet, ContactFilterSet
from .models import Company, Contact, Preference, SavedView, SpecialDate


def _not_merged(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """Hide contacts merged into another. Written as COALESCE so SQLite never picks the merged_into index (nearly
    every row is NULL there) over the list's sort index."""
    return qs.alias(_merged=Coalesce("merged_into_id", Value(0))).filter(_merged=0)


def contacts_for(user: Any) -> QuerySet[Contact]:
    """Every contact the user may see, except merged ones (lists, search, the palette, company pages)."""
    return _not_merged(visible_to(user, Contact.objects.all()))


def companies_for(user: Any) -> QuerySet[Company]:
    return visible_to(user, Company.objects.all())


def _list_queryset(qs: QuerySet, filterset_cls: type, params: Mapping[str, Any], sorts: dict) -> tuple[QuerySet, Any]:
    """Apply search, filters and sort from request parameters; raise ValidationError for bad ones."""
    filterset = filterset_cls(params)
    qs = qs.filter(filterset.validate())
    if any(f.lookup and isinstance(f.lookup, str) and "tags__" in f.lookup and f.name in filterset.active
           for f in filterset.filters) or "birthday_month" in filterset.active:
        qs = qs.distinct()
    q = (params.get("q") or "").strip()
    if q:
        kind = "contact" if qs.model is Contact else "company"
        ids = [obj_id for _k, obj_id, _s in search.candidates(q, kinds=(kind,))]
        qs = qs.filter(pk__in=ids)
    sort = params.get("sort") or DEFAULT_SORT
    if sort not in sorts:
        raise ValidationError({"sort": [_("“%(value)s” is not a sort; use one of: %(choices)s.")
                                        % {"value": sort, "choices": ", ".join(sorts)}]})
    return qs, sorts[sort][1]


def contact_list(*, user: Any, params: Mapping[str, Any], count: bool = True) -> Page[Contact]:
    qs, ordering = _list_queryset(contacts_for(user), ContactFilterSet, params, CONTACT_SORTS)
    page = keyset_page(
        qs.select_related("company", "owner"),
        ordering,
        params.get("cursor") or None,
        page_size(params),
        count=count,
    )
    _attach_tags(page.items)
    return page


def contact_queryset(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Contact]:
    """The filtered, sorted list without pagination: for exports and bulk actions (iterate, don't load)."""
    qs, ordering = _list_queryset(contacts_for(user), ContactFilterSet, params, CONTACT_SORTS)
    return qs.select_related("company", "owner").order_by(*ordering.order_by())


def iter_contacts(*, user: Any, params: Mapping[str, Any], chunk_size: int = 2000) -> Iterator[Contact]:
    """Stream every contact of a list view with its tags, a chunk at a time (exports of 1M rows)."""
    qs = contact_queryset(user=user, params=params)
    yield from qs.prefetch_related("tags").iterator(chunk_size=chunk_size)


def _attach_tags(items: list[Any]) -> None:
    """One query for the tags of a whole page (not one per row)."""
    if not items:
        return
    model = type(items[0])
    through = model.tags.through
    fk = f"{model._meta.model_name}_id"
    by_obj: dict[int, list[Any]] = {}
    for row in through.objects.filter(**{f"{fk}__in": [o.pk for o in items]}).select_related("tag"):
        by_obj.setdefault(getattr(row, fk), []).append(row.tag)
    for obj in items:
        obj.tag_list = sorted(by_obj.get(obj.pk, []), key=lambda t: t.name.lower())


def company_list(*, user: Any, params: Mapping[str, Any], count: bool = True) -> Page[Company]:
    qs, ordering = _list_queryset(companies_for(user), CompanyFilterSet, params, COMPANY_SORTS)
    page = keyset_page(qs.select_related("owner"), ordering, params.get("cursor") or None, page_size(params),
                       count=count)
    _attach_tags(page.items)
    return page


def company_queryset(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Company]:
    qs, ordering = _list_queryset(companies_for(user), CompanyFilterSet, params, COMPANY_SORTS)
    return qs.select_related("owner").order_by(*ordering.order_by())


def get_contact(*, user: Any, uuid: Any) -> Contact:
    """One contact the user may see, or Http404 (a merged contact too: see ``merged_target``)."""
    return get_visible_or_404(
        user,
        _not_merged(Contact.objects.select_related("company", "owner").prefetch_related(
            "emails", "phones", "tags", "special_dates"
        )),
        uuid=uuid,
    )


def merged_target(*, user: Any, uuid: Any) -> Contact | None:
    """For the uuid of a merged contact the user may see: the contact it lives on in now (following earlier
    merges), when the user may see that one too; None otherwise."""
    from django.http import Http404

    fields = ("id", "uuid", "merged_into_id", "owner_id")
    try:
        contact = get_visible_or_404(user, Contact.objects.only(*fields), uuid=uuid)
        for _hop in range(10):
            if contact.merged_into_id is None:
                return None if _hop == 0 else contact
            contact = get_visible_or_404(user, Contact.objects.only(*fields), pk=contact.merged_into_id)
    except Http404:
        return None
    return None


def get_company(*, user: Any, uuid: Any) -> Company:
    return get_visible_or_404(user, Company.objects.select_related("owner").prefetch_related("tags"), uuid=uuid)


def contacts_by_ids(*, user: Any, ids: list[int]) -> QuerySet[Contact]:
    return contacts_for(user).filter(pk__in=ids).select_related("company")


def companies_by_ids(*, user: Any, ids: list[int]) -> QuerySet[Company]:
    return companies_for(user).filter(pk__in=ids)


def contacts_by_uuids(*, user: Any, uuids: list[Any]) -> QuerySet[Contact]:
    return contacts_for(user).filter(uuid__in=uuids)


def company_contacts(*, user: Any, company: Company, limit: int = 50) -> list[Contact]:
    return list(contacts_for(user).filter(company=company).order_by("display_name", "id")[:limit])


def company_contact_count(*, user: Any, company: Company) -> int:
    return contacts_for(user).filter(company=company).count()


def active_preferences(contact: Contact) -> list[Preference]:
    return list(contact.preferences.filter(archived_at__isnull=True).select_related("recorded_by"))


def upcoming_special_dates(contact: Contact, days: int = 30) -> list[dict[str, Any]]:
    """The contact's special dates in the next ``days`` days (today first), with how far away each is."""
    today = timezone.localdate()
    result = []
    for special in contact.special_dates.all():
        next_date = _next_occurrence(special, today)
        if next_date is None:
            continue
        delta = (next_date - today).days
        if delta <= days:
            result.append({"date": special, "on": next_date, "in_days": delta,
                           "years": (next_date.year - special.year) if special.year else None})
    return sorted(result, key=lambda r: r["in_days"])


def _next_occurrence(special: SpecialDate, today: dt.date) -> dt.date | None:
    for year in (today.year, today.year + 1, today.year + 2):
        try:
            candidate = dt.date(year, special.month, special.day)
        except ValueError:  # 29 February outside leap years: celebrate on 28 February
            candidate = dt.date(year, 2, 28)
        if candidate >= today:
            return candidate
    return None


def saved_views(*, user: Any, object_type: str | None) -> QuerySet[SavedView]:
    qs = SavedView.objects.filter(Q(user=user) | Q(shared=True)).select_related("user")
    return qs if object_type is None else qs.filter(object_type=object_type)


def get_preference(*, user: Any, uuid: Any) -> Preference:
    """A preference on a contact the user may see, or Http404 (added for the 360 page's archive button)."""
    from django.http import Http404

    try:
        return visible_to(user, Preference.objects.select_related("contact"), via="contact__").get(uuid=uuid)
    except (Preference.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def companies_by_uuids(*, user: Any, uuids: list[Any]) -> QuerySet[Company]:
    return companies_for(user).filter(uuid__in=uuids)


def company_choices(*, user: Any, limit: int = 200) -> list[Company]:
    """The most recently updated visible companies, for a company picker (a datalist of names)."""
    return list(companies_for(user).order_by("-updated_at", "-id").only("uuid", "name")[:limit])


def company_named(*, user: Any, name: str) -> Company | None:
    """A visible company by its exact name (case-insensitive); None when the user sees no such company."""
    name = (name or "").strip()
    if not name:
        return None
    return companies_for(user).filter(name__iexact=name).order_by("-updated_at", "-id").first()


def get_saved_view(*, user: Any, uuid: Any) -> SavedView:
    """A saved view the user may see (their own or a shared one), or Http404."""
    from django.http import Http404

    try:
        return saved_views(user=user, object_type=None).get(uuid=uuid)
    except (SavedView.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None
