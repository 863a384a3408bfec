"""Filters and sorts for the contact and company lists (UI, API and exports share them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from amity.core.filtering import YES_NO, Filter, FilterSet
from amity.core.pagination import Ordering

from .models import CompanySize, LifecycleStage


def _end_of(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1)


def _owner_q(value: str) -> Q:
    if value == "none":
        return Q(owner__isnull=True)
    return Q(owner__uuid=value)


def _has_email(value: bool) -> Q:
    return ~Q(email="") if value else Q(email="")


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the workspace zone: a range on the indexed column, not a per-row date cast."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _whole(value: Decimal, most: int = 100_000) -> int:
    if value != value.to_integral_value() or not 0 <= value <= most:
        raise ValidationError(gettext("Enter a whole number from 0 to %(most)s.") % {"most": f"{most:,}"})
    return int(value)


def _days_ago(days: Decimal) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=_whole(days))


def _last_order_from(day: dt.date) -> Q:
    return Q(last_order_at__gte=_day_start(day))


def _last_order_to(day: dt.date) -> Q:
    return Q(last_order_at__lt=_day_start(_end_of(day)))


def _days_since_order(days: Decimal) -> Q:
    """Customers who bought, but not in the last ``days`` days (never-buyers have no "days since")."""
    return Q(last_order_at__lte=_days_ago(days))


def _days_since_activity(days: Decimal) -> Q:
    return Q(last_activity_at__lte=_days_ago(days))


class ContactFilterSet(FilterSet):
    object_type = "contact"
    filters = [
        Filter("stage", _("Lifecycle stage"), "choice", "lifecycle_stage", choices=list(LifecycleStage.choices)),
        Filter("owner", _("Owner"), "text", _owner_q),
        Filter("company", _("Company"), "text", "company__uuid"),
        Filter("tag", _("Tag"), "text", "tags__name__iexact"),
        Filter("source", _("Source"), "text", "source__iexact"),
        Filter("country", _("Country"), "text", lambda v: Q(country=v.upper())),
        Filter("city", _("City"), "text", "city__iexact"),
        Filter("language", _("Language"), "text", "language__iexact"),
        Filter("job_title", _("Job title"), "text", "job_title__icontains"),
        Filter("do_not_contact", _("Do not contact"), "bool", "do_not_contact", choices=YES_NO),
        Filter("has_email", _("Has email"), "bool", _has_email, choices=YES_NO),
        Filter("created_from", _("Created from"), "date_from", "created_at__date__gte"),
        Filter("created_to", _("Created until"), "date_to", "created_at__date__lte"),
        Filter("contacted_from", _("Last contact from"), "date_from", "last_contacted_at__date__gte"),
        Filter("contacted_to", _("Last contact until"), "date_to", "last_contacted_at__date__lte"),
        Filter("value_min", _("Value at least"), "number_min", "lifetime_value__gte"),
        Filter("value_max", _("Value at most"), "number_max", "lifetime_value__lte"),
        # Customer facts (kept current by commerce services): total spent is value_min/value_max above.
        Filter("orders_min", _("Orders at least"), "number_min", lambda v: Q(order_count__gte=_whole(v, 10**9))),
        Filter("orders_max", _("Orders at most"), "number_max", lambda v: Q(order_count__lte=_whole(v, 10**9))),
        Filter("last_order_from", _("Last order from"), "date_from", _last_order_from),
        Filter("last_order_to", _("Last order until"), "date_to", _last_order_to),
        Filter("days_since_order_min", _("Days since last purchase at least"), "number_min", _days_since_order),
        Filter("days_since_activity_min", _("Days since last activity at least"), "number_min", _days_since_activity),
        Filter("birthday_month", _("Birthday month"), "choice",
               lambda v: Q(special_dates__kind="birthday", special_dates__month=int(v)),
               choices=[(str(m), MONTHS[m]) for m in range(1, 13)]),
    ]


class CompanyFilterSet(FilterSet):
    object_type = "company"
    filters = [
        Filter("owner", _("Owner"), "text", _owner_q),
        Filter("industry", _("Industry"), "text", "industry__iexact"),
        Filter("size", _("Size"), "choice", "size", choices=list(CompanySize.choices)),
        Filter("tag", _("Tag"), "text", "tags__name__iexact"),
        Filter("country", _("Country"), "text", lambda v: Q(country=v.upper())),
        Filter("city", _("City"), "text", "city__iexact"),
        Filter("domain", _("Domain"), "text", "domain__iexact"),
        Filter("created_from", _("Created from"), "date_from", "created_at__date__gte"),
        Filter("created_to", _("Created until"), "date_to", "created_at__date__lte"),
    ]


CONTACT_SORTS: dict[str, tuple[object, Ordering]] = {
    "-updated": (_("Recently updated"), Ordering("updated_at", descending=True)),
    "-created": (_("Newest"), Ordering("created_at", descending=True)),
    "created": (_("Oldest"), Ordering("created_at", descending=False)),
    "name": (_("Name A–Z"), Ordering("display_name", descending=False)),
    "-name": (_("Name Z–A"), Ordering("display_name", descending=True)),
    "-last_contacted": (_("Last contacted"), Ordering("last_contacted_at", descending=True, nullable=True)),
    "-value": (_("Highest value"), Ordering("lifetime_value", descending=True)),
    "-orders": (_("Most orders"), Ordering("order_count", descending=True)),
    "-last_order": (_("Last order"), Ordering("last_order_at", descending=True, nullable=True)),
    "-last_activity": (_("Last activity"), Ordering("last_activity_at", descending=True, nullable=True)),
}
COMPANY_SORTS: dict[str, tuple[object, Ordering]] = {
    "-updated": (_("Recently updated"), Ordering("updated_at", descending=True)),
    "name": (_("Name A–Z"), Ordering("name", descending=False)),
    "-name": (_("Name Z–A"), Ordering("name", descending=True)),
    "-created": (_("Newest"), Ordering("created_at", descending=True)),
}
DEFAULT_SORT = "-updated"
