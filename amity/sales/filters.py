"""Deal filters and sorts, shared by the board, the list, the API and exports."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amity.contacts.filters import _owner_q
from amity.core.filtering import Filter, FilterSet
from amity.core.pagination import Ordering

from .models import StageKind


def _close_month(value: str) -> Q:
    """"2026-03" → deals expected to close in March 2026."""
    try:
        year, month = (int(p) for p in value.split("-"))
        start = dt.date(year, month, 1)
    except ValueError:
        from django.core.exceptions import ValidationError

        raise ValidationError(_("“%(value)s” is not a month (use YYYY-MM).") % {"value": value}) from None
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Q(expected_close_date__gte=start, expected_close_date__lt=end)


class DealFilterSet(FilterSet):
    object_type = "deal"
    filters = [
        Filter("pipeline", _("Pipeline"), "text", "pipeline__uuid"),
        Filter("stage", _("Stage"), "text", "stage__uuid"),
        Filter("status", _("Status"), "choice", "stage__kind", choices=list(StageKind.choices)),
        Filter("owner", _("Owner"), "text", _owner_q),
        Filter("close_month", _("Expected close month"), "text", _close_month),
        Filter("tag", _("Tag"), "text", "tags__name__iexact"),
        Filter("company", _("Company"), "text", "company__uuid"),
        Filter("contact", _("Contact"), "text", "contacts__uuid"),
        Filter("currency", _("Currency"), "text", lambda v: Q(currency=v.upper())),
        Filter("amount_min", _("Amount at least (base currency)"), "number_min", "amount_base__gte"),
        Filter("amount_max", _("Amount at most (base currency)"), "number_max", "amount_base__lte"),
        Filter("close_from", _("Expected close from"), "date_from", "expected_close_date__gte"),
        Filter("close_to", _("Expected close until"), "date_to", "expected_close_date__lte"),
        Filter("inactive_since", _("No activity since"), "date_to", "last_activity_at__date__lt"),
    ]


DEAL_SORTS: dict[str, tuple[object, Ordering]] = {
    "-updated": (_("Recently updated"), Ordering("updated_at", descending=True)),
    "-amount": (_("Largest"), Ordering("amount_base", descending=True)),
    "close": (_("Closing soonest"), Ordering("expected_close_date", descending=False, nullable=True)),
    "-created": (_("Newest"), Ordering("created_at", descending=True)),
    "name": (_("Name A–Z"), Ordering("name", descending=False)),
}
