"""Permission-scoped reads of orders, carts and customer purchase facts.

An order or cart is visible when its customer (contact) is; rows with no customer yet (anonymous visitors) only to
roles that see every record. Lists are keyset-paginated on indexed orderings; the recoverable-revenue totals and the
"when are carts abandoned" chart aggregate a bounded window (the last 90 days, on the ``cart_status_abandoned``
index) and are cached for a few minutes per viewer scope.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Count, Func, IntegerField, Model, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.core.filtering import Filter, FilterSet
from amity.core.pagination import Ordering, Page, keyset_page, page_size
from amity.core.permissions import visible_to

from .models import Cart, CartStatus, Channel, CustomerProductStat, Order, OrderStatus, ProductViewSummary

M = TypeVar("M", bound=Model)

RECENT_ORDERS = 3
FAVOURITES = 3
PRODUCT_SUGGESTIONS = 10
WINDOW_DAYS = 90
SUMMARY_CACHE_SECONDS = 300
MAX_AGE_HOURS = 24 * 366 * 10
ABANDONED_STATES = (CartStatus.ABANDONED, CartStatus.RECOVERED)


# --- scoping ----------------------------------------------------------------------------------------------------------

def _scoped(user: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    """Rows whose contact the user may see; rows without a contact only for roles that see everything
    (``visible_to`` hands back the queryset itself when the user is not restricted)."""
    scoped = visible_to(user, queryset, via="contact__")
    if scoped is queryset:
        return queryset
    return scoped.filter(contact__isnull=False)


def _scope_key(user: Any) -> str:
    """A cache key part shared by everyone who sees the same rows."""
    probe = Cart.objects.none()
    if visible_to(user, probe, via="contact__") is probe:
        return "all"
    return f"user{user.pk}"


def _get_or_404(queryset: QuerySet[M], uuid: Any) -> M:
    """One row of an already scoped queryset; 404 (never 403) when missing, not visible or a malformed id."""
    try:
        return queryset.get(uuid=uuid)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def orders_for(user: Any) -> QuerySet[Order]:
    return _scoped(user, Order.objects.all())


def carts_for(user: Any) -> QuerySet[Cart]:
    return _scoped(user, Cart.objects.all())


def _zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the workspace time zone (so a date filter uses the ``placed_at`` index)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=_zone())


# --- orders -----------------------------------------------------------------------------------------------------------

class OrderFilterSet(FilterSet):
    object_type = "order"
    filters = [
        Filter("status", gettext_lazy("Status"), "choice", "status", choices=list(OrderStatus.choices)),
        Filter("channel", gettext_lazy("Channel"), "choice", "channel", choices=list(Channel.choices)),
        Filter("customer", gettext_lazy("Customer"), "text", "contact__uuid"),
        Filter("placed_from", gettext_lazy("Placed from"), "date_from", lambda d: Q(placed_at__gte=_day_start(d))),
        Filter("placed_to", gettext_lazy("Placed until"), "date_to",
               lambda d: Q(placed_at__lt=_day_start(d + dt.timedelta(days=1)))),
    ]

    def all_filters(self) -> list[Filter]:  # orders have no custom fields
        return list(self.filters)


ORDER_SORTS: dict[str, tuple[Any, Ordering]] = {
    "-placed": (gettext_lazy("Newest first"), Ordering("placed_at", descending=True)),
    "placed": (gettext_lazy("Oldest first"), Ordering("placed_at", descending=False)),
}


def _sort(sorts: Mapping[str, tuple[Any, Ordering]], value: str) -> Ordering:
    if value not in sorts:
        raise ValidationError({"sort": [_("“%(value)s” is not a sort; use one of: %(choices)s.")
                                        % {"value": value, "choices": ", ".join(sorts)}]})
    return sorts[value][1]


def _customer_filter_valid(params: Mapping[str, Any]) -> None:
    import uuid

    raw = (params.get("customer") or "").strip()
    if raw:
        try:
            uuid.UUID(raw)
        except ValueError:
            raise ValidationError({"customer": [_("“%(value)s” is not a customer id.") % {"value": raw}]}) from None


def filtered_orders(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Order]:
    _customer_filter_valid(params)
    return orders_for(user).filter(OrderFilterSet(params).validate())


def order_list(*, user: Any, params: Mapping[str, Any]) -> Page[Order]:
    ordering = _sort(ORDER_SORTS, params.get("sort") or "-placed")
    qs = filtered_orders(user=user, params=params).select_related("contact")
    return keyset_page(qs, ordering, params.get("cursor") or None, page_size(params))


def get_order(*, user: Any, uuid: Any) -> Order:
    qs = _scoped(user, Order.objects.select_related("contact", "store", "recorded_by").prefetch_related(
        "lines__product"))
    return _get_or_404(qs, uuid)


def order_export_rows(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Order]:
    return filtered_orders(user=user, params=params).select_related("contact").order_by("-placed_at", "-id")


# --- carts ------------------------------------------------------------------------------------------------------------

def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValidationError(_("Enter a number of 0 or more."))
    return value


def _hours_ago(hours: Decimal) -> dt.datetime:
    if _not_negative(hours) > MAX_AGE_HOURS:
        raise ValidationError(_("Enter at most %(max)s hours.") % {"max": MAX_AGE_HOURS})
    return timezone.now() - dt.timedelta(hours=float(hours))


class CartFilterSet(FilterSet):
    object_type = "cart"
    filters = [
        Filter("status", gettext_lazy("Status"), "choice", "status", choices=list(CartStatus.choices)),
        Filter("customer", gettext_lazy("Customer"), "text", "contact__uuid"),
        Filter("min_value", gettext_lazy("Value at least (base currency)"), "number_min",
               lambda v: Q(value_base__gte=_not_negative(v))),
        # Age since the cart was abandoned, in hours.
        Filter("min_age", gettext_lazy("Abandoned at least (hours ago)"), "number_min",
               lambda h: Q(abandoned_at__lte=_hours_ago(h))),
        Filter("max_age", gettext_lazy("Abandoned at most (hours ago)"), "number_max",
               lambda h: Q(abandoned_at__gte=_hours_ago(h))),
    ]

    def all_filters(self) -> list[Filter]:
        return list(self.filters)


CART_SORTS: dict[str, tuple[Any, Ordering]] = {
    "-value": (gettext_lazy("Highest value"), Ordering("value_base", descending=True)),
    "-abandoned": (gettext_lazy("Most recently abandoned"), Ordering("abandoned_at", descending=True, nullable=True)),
    "abandoned": (gettext_lazy("Longest abandoned"), Ordering("abandoned_at", descending=False, nullable=True)),
    "-activity": (gettext_lazy("Latest activity"), Ordering("last_activity_at", descending=True)),
}
RECOVERABLE_SORTS = {k: v for k, v in CART_SORTS.items() if k in {"-value", "-abandoned", "abandoned"}}


def filtered_carts(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Cart]:
    _customer_filter_valid(params)
    return carts_for(user).filter(CartFilterSet(params).validate())


def cart_list(*, user: Any, params: Mapping[str, Any]) -> Page[Cart]:
    ordering = _sort(CART_SORTS, params.get("sort") or "-activity")
    qs = filtered_carts(user=user, params=params).select_related("contact", "recovered_order")
    return keyset_page(qs, ordering, params.get("cursor") or None, page_size(params), count=False)


def recoverable_carts(*, user: Any, params: Mapping[str, Any]) -> Page[Cart]:
    """Abandoned carts not (yet) recovered, by value or age; no COUNT (the totals come from ``recovery_summary``)."""
    ordering = _sort(RECOVERABLE_SORTS, params.get("sort") or "-value")
    qs = filtered_carts(user=user, params={**dict(params.items()), "status": CartStatus.ABANDONED})
    return keyset_page(qs.select_related("contact"), ordering, params.get("cursor") or None, page_size(params),
                       count=False)


def recoverable_export_rows(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Cart]:
    ordering = _sort(RECOVERABLE_SORTS, params.get("sort") or "-value")
    qs = filtered_carts(user=user, params={**dict(params.items()), "status": CartStatus.ABANDONED})
    return qs.select_related("contact").order_by(*ordering.order_by())


def get_cart(*, user: Any, uuid: Any) -> Cart:
    qs = _scoped(user, Cart.objects.select_related("contact", "store", "converted_order", "recovered_order")
                 .prefetch_related("items__product"))
    return _get_or_404(qs, uuid)


# --- recoverable revenue: totals and the hour × weekday chart ---------------------------------------------------------

@dataclass
class RecoverySummary:
    abandoned_30: Decimal = Decimal(0)
    abandoned_30_count: int = 0
    abandoned_90: Decimal = Decimal(0)
    abandoned_90_count: int = 0
    recovered_30: Decimal = Decimal(0)
    recovered_30_count: int = 0

    @property
    def recovery_rate(self) -> float | None:
        """Share of the value abandoned in the last 30 days that has been recovered since."""
        return float(self.recovered_30 / self.abandoned_30) if self.abandoned_30 else None


def recovery_summary(*, user: Any, now: dt.datetime | None = None) -> RecoverySummary:
    """Abandoned value over the last 30 and 90 days and what was recovered of the last 30 days' carts (values in
    the base currency). One aggregate over the 90-day window, cached per viewer scope for a few minutes."""
    now = now or timezone.now()
    key = f"commerce:recovery:{_scope_key(user)}:{now:%Y%m%d%H%M}"[:-1]  # ten-minute buckets of "now"
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    since_30, since_90 = now - dt.timedelta(days=30), now - dt.timedelta(days=WINDOW_DAYS)
    recent = Q(abandoned_at__gte=since_30)
    recovered = recent & Q(status=CartStatus.RECOVERED)
    row = carts_for(user).filter(status__in=ABANDONED_STATES, abandoned_at__gte=since_90).aggregate(
        a90=Sum("value_base"), n90=Count("id"),
        a30=Sum("value_base", filter=recent), n30=Count("id", filter=recent),
        r30=Sum("value_base", filter=recovered), rn30=Count("id", filter=recovered),
    )
    summary = RecoverySummary(
        abandoned_30=row["a30"] or Decimal(0), abandoned_30_count=row["n30"] or 0,
        abandoned_90=row["a90"] or Decimal(0), abandoned_90_count=row["n90"] or 0,
        recovered_30=row["r30"] or Decimal(0), recovered_30_count=row["rn30"] or 0,
    )
    cache.set(key, summary, SUMMARY_CACHE_SECONDS)
    return summary


@dataclass
class Heatmap:
    """Carts abandoned per weekday (1 = Monday … 7 = Sunday) and hour of day (0–23) in the workspace time zone."""

    counts: dict[tuple[int, int], int] = field(default_factory=dict)
    days: int = WINDOW_DAYS
    time_zone: str = ""

    def count(self, weekday: int, hour: int) -> int:
        return self.counts.get((weekday, hour), 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def peak(self) -> int:
        return max(self.counts.values(), default=0)

    def by_hour(self) -> list[int]:
        return [sum(self.count(d, h) for d in range(1, 8)) for h in range(24)]

    def by_weekday(self) -> list[int]:
        return [sum(self.count(d, h) for h in range(24)) for d in range(1, 8)]


class _QuarterHour(Func):
    """Quarter-hours since 1970 (UTC) of a datetime column, in plain SQL on both databases (no per-row Python
    function): grouping by it and converting each group in Python is exact in every time zone, since all
    offsets are multiples of 15 minutes, and costs at most 96 groups a day."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # julianday() is exact to the millisecond; the tiny nudge keeps 21:00:00.000 in the 21:00 quarter.
        return self.as_sql(compiler, connection, template="CAST((julianday(%(expressions)s) - 2440587.5) * 96 "
                           "+ 0.000001 AS INTEGER)", **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / 900)::bigint",
                           **extra)


class _QuarterOffsets:
    """The zone's UTC offset in quarter-hours at a UTC quarter-hour, worked out once per day (per quarter only
    on a day when the offset changes, i.e. a daylight-saving switch)."""

    def __init__(self, zone: dt.tzinfo) -> None:
        self.zone = zone
        self.days: dict[int, int | None] = {}

    def _at(self, seconds: int) -> int:
        delta = dt.datetime.fromtimestamp(seconds, tz=self.zone).utcoffset() or dt.timedelta(0)
        return int(delta.total_seconds()) // 900

    def __call__(self, quarter: int) -> int:
        day = quarter // 96
        if day not in self.days:
            start, end = self._at(day * 86400), self._at(day * 86400 + 86399)
            self.days[day] = start if start == end else None
        steady = self.days[day]
        return steady if steady is not None else self._at(quarter * 900)


def abandonment_heatmap(*, user: Any, now: dt.datetime | None = None, days: int = WINDOW_DAYS) -> Heatmap:
    """Carts abandoned over the last ``days`` days by weekday and hour in the workspace time zone: grouped by
    quarter-hour in the database (at most 96 rows a day), placed in the zone here, cached per viewer scope."""
    now = now or timezone.now()
    zone = _zone()
    key = f"commerce:heatmap:{_scope_key(user)}:{days}:{settings.TIME_ZONE}:{now:%Y%m%d%H%M}"[:-1]
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rows = (carts_for(user).filter(status__in=ABANDONED_STATES, abandoned_at__gte=now - dt.timedelta(days=days))
            .annotate(quarter=_QuarterHour("abandoned_at")).values("quarter").annotate(n=Count("id")).order_by()
            .values_list("quarter", "n"))
    offset = _QuarterOffsets(zone)
    counts: dict[tuple[int, int], int] = {}
    for quarter, n in rows:
        local = int(quarter) + offset(int(quarter))  # quarter-hours since 1970-01-01 00:00 local time
        slot = ((local // 96 + 3) % 7 + 1, (local % 96) // 4)  # 1970-01-01 was a Thursday (ISO weekday 4)
        counts[slot] = counts.get(slot, 0) + n
    heatmap = Heatmap(counts=counts, days=days, time_zone=settings.TIME_ZONE)
    cache.set(key, heatmap, SUMMARY_CACHE_SECONDS)
    return heatmap


# --- one customer (the 360 card) --------------------------------------------------------------------------------------

@dataclass
class CustomerCommerce:
    recent_orders: list[Order]
    cart: Cart | None
    favourite_products: list[CustomerProductStat]
    favourite_categories: list[str]


def customer_commerce(*, user: Any, contact: Any) -> CustomerCommerce:
    """What the 360 card shows besides the facts stored on the contact: three queries whatever the history."""
    recent = list(orders_for(user).filter(contact=contact).order_by("-placed_at", "-id")[:RECENT_ORDERS])
    cart = (carts_for(user).filter(contact=contact, status__in=(CartStatus.OPEN, CartStatus.ABANDONED))
            .order_by("-last_activity_at", "-id").first())
    stats = list(CustomerProductStat.objects.filter(contact=contact).select_related("product")
                 .order_by("-quantity", "-id")[:10])
    categories: dict[str, Decimal] = {}
    for stat in stats:
        if stat.category:
            categories[stat.category] = categories.get(stat.category, Decimal(0)) + stat.spent_base
    top_categories = sorted(categories, key=lambda c: (-categories[c], c))[:FAVOURITES]
    return CustomerCommerce(recent_orders=recent, cart=cart, favourite_products=stats[:FAVOURITES],
                            favourite_categories=top_categories)


# --- products for the in-store form -----------------------------------------------------------------------------------

def product_suggestions(*, query: str, currency: str) -> list[dict[str, Any]]:
    """Active products whose name or SKU contains ``query``, with their price in ``currency`` (if set)."""
    from amity.sales.models import Product, ProductPrice

    query = (query or "").strip()[:100]
    qs = Product.objects.filter(active=True)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(sku__icontains=query))
    products = list(qs.order_by("name", "id")[:PRODUCT_SUGGESTIONS])
    prices = {p.product_id: p.unit_price for p in
              ProductPrice.objects.filter(product__in=products, currency=(currency or "").upper())}
    return [{"id": str(p.uuid), "sku": p.sku, "name": p.name, "category": p.category,
             "unit_price": str(prices[p.pk]) if p.pk in prices else None} for p in products]


def product_price(*, sku: str, currency: str) -> Decimal | None:
    from amity.sales.models import ProductPrice

    price = ProductPrice.objects.filter(product__sku=sku, product__active=True, currency=currency.upper()).first()
    return price.unit_price if price else None


def attach_view_counts(events: list[Any]) -> None:
    """Give a page's product-view timeline entries ("viewed Hiking boots 6 times this week") their summary's current
    count: ingest rewrites the entry's stored payload only when the entry moves up (at most hourly), not with every
    batch of views (that rewrite was a third of PostgreSQL's time per ingested event). One query, on the summaries'
    unique index, for a page that shows any."""
    shown = [e for e in events if e.type == "product.viewed" and e.contact_id and e.subject_id]
    if not shown:
        return
    current = {event_id: (views, last) for event_id, views, last in ProductViewSummary.objects.filter(
        contact_id__in={e.contact_id for e in shown}, product_id__in={e.subject_id for e in shown},
        event_id__in=[e.pk for e in shown]).values_list("event_id", "views", "last_viewed_at")}
    for event in shown:
        if event.pk in current:
            views, last = current[event.pk]
            event.payload = {**event.payload, "views": views, "last_viewed_at": last.isoformat()}
