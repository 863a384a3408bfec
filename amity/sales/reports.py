"""Sales reports: forecast, win rate / deal size / cycle length, stage funnel, stuck deals.

Every report reads through ``deals_for(user)`` (a user's numbers include only the deals they may see) and adds up
``amount_base`` (the base currency). Each is a handful of aggregate queries: months and stages become buckets with
``CASE`` expressions computed from boundaries made here in Python (in the user's time zone), so the database groups
without a per-row date function (SQLite would call back into Python for ``TruncMonth``) and ranges stay on the
indexes ``deal_close_date`` (expected_close_date) and ``deal_closed`` (closed_at).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amity.accounts.models import User
from amity.accounts.selectors import user_by_uuid
from amity.core.money import CENT, base_currency
from amity.core.pagination import Ordering, Page, keyset_page

from .models import Deal, DealStageHistory, Pipeline, Stage, StageKind
from .selectors import deals_for, default_pipeline

PERIODS: list[tuple[str, Any]] = [
    ("this_quarter", gettext_lazy("This quarter")),
    ("last_quarter", gettext_lazy("Last quarter")),
    ("this_year", gettext_lazy("This year")),
    ("last_12_months", gettext_lazy("Last 12 months")),
    ("custom", gettext_lazy("Custom dates")),
]
DEFAULT_PERIOD = "this_quarter"
PAST_MONTHS = 3
DEFAULT_MONTHS_AHEAD = 6
MAX_MONTHS_AHEAD = 24
DEFAULT_STUCK_DAYS = 14
MAX_STUCK_DAYS = 3650
MAX_CUSTOM_DAYS = 3660
STUCK_PAGE_SIZE = 50
ZERO = Decimal(0)


# --- input ------------------------------------------------------------------------------------------------------

class Errors(dict[str, list[str]]):
    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        first = formats.date_format(self.start, "SHORT_DATE_FORMAT")
        last = formats.date_format(self.end, "SHORT_DATE_FORMAT")
        return f"{first} – {last}"

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes [start, end) in the current (the user's) time zone."""
        return _local_midnight(self.start), _local_midnight(self.end + dt.timedelta(days=1))


@dataclass(frozen=True)
class ReportFilters:
    pipeline: Pipeline | None = None
    owner: User | None = None
    unassigned: bool = False
    period: Period | None = None
    months_ahead: int = DEFAULT_MONTHS_AHEAD
    days: int = DEFAULT_STUCK_DAYS

    def scope(self, qs: QuerySet[Deal]) -> QuerySet[Deal]:
        if self.pipeline is not None:
            qs = qs.filter(pipeline=self.pipeline)
        if self.owner is not None:
            qs = qs.filter(owner=self.owner)
        elif self.unassigned:
            qs = qs.filter(owner__isnull=True)
        return qs


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _parse_date(errors: Errors, name: str, raw: Any) -> dt.date | None:
    raw = str(raw or "").strip()
    if not raw:
        errors.add(name, _("Enter a date for custom dates."))
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.add(name, _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": raw})
        return None


def parse_period(params: Mapping[str, Any], errors: Errors, today: dt.date | None = None) -> Period | None:
    today = today or timezone.localdate()
    key = str(params.get("period") or DEFAULT_PERIOD)
    if key not in dict(PERIODS):
        errors.add("period", _("“%(value)s” is not a period; use one of: %(choices)s.")
                   % {"value": key, "choices": ", ".join(k for k, _label in PERIODS)})
        return None
    if key == "this_quarter":
        start = _quarter_start(today)
        return Period(key, start, add_months(start, 3) - dt.timedelta(days=1))
    if key == "last_quarter":
        start = add_months(_quarter_start(today), -3)
        return Period(key, start, add_months(start, 3) - dt.timedelta(days=1))
    if key == "this_year":
        return Period(key, dt.date(today.year, 1, 1), dt.date(today.year, 12, 31))
    if key == "last_12_months":
        return Period(key, add_months(today, -11), today)
    start = _parse_date(errors, "from", params.get("from"))  # type: ignore[assignment]
    end = _parse_date(errors, "to", params.get("to"))
    if start and end:
        if end < start:
            errors.add("to", _("The end date is before the start date."))
        elif (end - start).days > MAX_CUSTOM_DAYS:
            errors.add("to", _("Choose at most ten years."))
        else:
            return Period(key, start, end)
    return None


def _parse_int(errors: Errors, params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError
    except ValueError:
        errors.add(name, _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return default
    return value


def parse_filters(user: Any, params: Mapping[str, Any], *, period: bool = False, today: dt.date | None = None
                  ) -> ReportFilters:
    """The query string of a report page, checked; every bad value is a ValidationError keyed by its field."""
    errors = Errors()
    pipeline = None
    raw_pipeline = str(params.get("pipeline") or "").strip()
    if raw_pipeline:
        try:
            pipeline = Pipeline.objects.filter(uuid=raw_pipeline).first()
        except ValidationError:
            pipeline = None
        if pipeline is None:
            errors.add("pipeline", _("There is no such pipeline."))
    owner, unassigned = None, False
    raw_owner = str(params.get("owner") or "").strip()
    if raw_owner == "me":
        owner = user
    elif raw_owner == "none":
        unassigned = True
    elif raw_owner:
        owner = user_by_uuid(raw_owner)
        if owner is None:
            errors.add("owner", _("There is no such user."))
    months = _parse_int(errors, params, "months", DEFAULT_MONTHS_AHEAD, 1, MAX_MONTHS_AHEAD)
    days = _parse_int(errors, params, "days", DEFAULT_STUCK_DAYS, 1, MAX_STUCK_DAYS)
    chosen = parse_period(params, errors, today) if period else None
    if errors:
        raise ValidationError(dict(errors))
    return ReportFilters(pipeline=pipeline, owner=owner, unassigned=unassigned, period=chosen,
                         months_ahead=months, days=days)


def _stage_ids(kind: str, pipeline: Pipeline | None = None) -> list[int]:
    """Stage ids of one kind: the deal query then filters ``stage_id IN (…)`` on its own indexes, no join."""
    qs = Stage.objects.filter(kind=kind)
    if pipeline is not None:
        qs = qs.filter(pipeline=pipeline)
    return list(qs.order_by().values_list("id", flat=True))


def _bucket(field_name: str, edges: list[Any]) -> Case:
    """0 for values in [edges[0], edges[1]), 1 for the next range… (the caller filters to [edges[0], edges[-1]))."""
    return Case(*[When(**{f"{field_name}__lt": edge}, then=Value(i)) for i, edge in enumerate(edges[1:])],
                default=Value(None), output_field=IntegerField())


def _owners(ids: set[int | None]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=[i for i in ids if i is not None]).only("id", "full_name",
                                                                                                   "email", "uuid")}


# --- forecast ---------------------------------------------------------------------------------------------------

@dataclass
class OwnerForecast:
    owner: User | None
    weighted: list[Decimal]
    won: list[Decimal]

    @property
    def name(self) -> str:
        return str(self.owner) if self.owner else _("Unassigned")

    @property
    def weighted_total(self) -> Decimal:
        return sum(self.weighted, ZERO)

    @property
    def won_total(self) -> Decimal:
        return sum(self.won, ZERO)

    @property
    def cells(self) -> list[tuple[Decimal, Decimal]]:
        return list(zip(self.weighted, self.won, strict=True))


@dataclass
class Forecast:
    months: list[dt.date]
    weighted: list[Decimal]
    won: list[Decimal]
    owners: list[OwnerForecast]
    currency: str
    filters: ReportFilters
    current_month: dt.date

    @property
    def month_labels(self) -> list[str]:
        return [formats.date_format(m, "M Y") for m in self.months]

    @property
    def weighted_total(self) -> Decimal:
        return sum(self.weighted, ZERO)

    @property
    def won_total(self) -> Decimal:
        return sum(self.won, ZERO)

    @property
    def this_month(self) -> dict[str, Decimal]:
        i = self.months.index(self.current_month)
        return {"weighted": self.weighted[i], "won": self.won[i]}

    @property
    def this_month_expected(self) -> Decimal:
        """Won so far this month plus what is still open for it, weighted: the month's likely landing."""
        return self.this_month["weighted"] + self.this_month["won"]

    @property
    def columns(self) -> list[dict[str, Any]]:
        return [{"month": m, "label": label, "weighted": w, "won": won, "current": m == self.current_month,
                 "past": m < self.current_month}
                for m, label, w, won in zip(self.months, self.month_labels, self.weighted, self.won, strict=True)]


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def forecast(*, user: Any, filters: ReportFilters, today: dt.date | None = None) -> Forecast:
    """Weighted open pipeline by expected close month against closed-won by close month, per owner.

    The last ``PAST_MONTHS`` months, this month and the months ahead; two GROUP BY queries (bucket, owner)."""
    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    months = [add_months(this_month, i) for i in range(-PAST_MONTHS, filters.months_ahead)]
    edges = [*months, add_months(months[-1], 1)]
    deals = filters.scope(deals_for(user)).order_by()
    open_ids = _stage_ids(StageKind.OPEN, filters.pipeline)
    won_ids = _stage_ids(StageKind.WON, filters.pipeline)

    weighted_rows = (
        deals.filter(stage_id__in=open_ids, expected_close_date__gte=edges[0], expected_close_date__lt=edges[-1])
        .annotate(bucket=_bucket("expected_close_date", edges))
        .values("bucket", "owner_id")
        .annotate(total=Sum(F("amount_base") * F("probability"), output_field=DecimalField(max_digits=20,
                                                                                            decimal_places=2)))
    )
    moments = [_local_midnight(m) for m in edges]
    won_rows = (
        deals.filter(stage_id__in=won_ids, closed_at__gte=moments[0], closed_at__lt=moments[-1])
        .annotate(bucket=_bucket("closed_at", moments))
        .values("bucket", "owner_id")
        .annotate(total=Sum("amount_base"))
    )
    n = len(months)
    per_owner: dict[int | None, OwnerForecast] = {}

    def row_for(owner_id: int | None) -> OwnerForecast:
        if owner_id not in per_owner:
            per_owner[owner_id] = OwnerForecast(owner=None, weighted=[ZERO] * n, won=[ZERO] * n)
        return per_owner[owner_id]

    weighted, won = [ZERO] * n, [ZERO] * n
    for row in weighted_rows:
        value = _money(Decimal(row["total"] or 0) / 100)
        row_for(row["owner_id"]).weighted[row["bucket"]] += value
        weighted[row["bucket"]] += value
    for row in won_rows:
        value = _money(row["total"])
        row_for(row["owner_id"]).won[row["bucket"]] += value
        won[row["bucket"]] += value
    names = _owners(set(per_owner))
    for owner_id, entry in per_owner.items():
        entry.owner = names.get(owner_id) if owner_id is not None else None
    owners = sorted(per_owner.values(), key=lambda o: (-(o.weighted_total + o.won_total), o.name.lower()))
    return Forecast(months=months, weighted=weighted, won=won, owners=owners, currency=base_currency(),
                    filters=filters, current_month=this_month)


# --- win rate, deal size, cycle length ----------------------------------------------------------------------------

@dataclass
class Performance:
    """Closed deals of one group (a pipeline, an owner, or everything) in the period."""

    label: str
    won: int = 0
    lost: int = 0
    won_total: Decimal = ZERO
    cycle_total: dt.timedelta = dt.timedelta(0)  # summed over won deals, so groups add up exactly

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> Decimal | None:
        return (Decimal(self.won * 100) / self.closed).quantize(Decimal("0.1")) if self.closed else None

    @property
    def average_size(self) -> Decimal | None:
        return (self.won_total / self.won).quantize(CENT) if self.won else None

    @property
    def cycle(self) -> dt.timedelta | None:
        return self.cycle_total / self.won if self.won else None

    @property
    def cycle_days(self) -> Decimal | None:
        if not self.won:
            return None
        return (Decimal(self.cycle_total.total_seconds()) / 86400 / self.won).quantize(Decimal("0.1"))

    def add(self, row: Mapping[str, Any]) -> None:
        self.won += row["won"]
        self.lost += row["lost"]
        self.won_total += _money(row["won_total"])
        cycle = row["cycle"]
        if cycle is not None and not isinstance(cycle, dt.timedelta):  # some backends hand back microseconds
            cycle = dt.timedelta(microseconds=float(cycle))
        self.cycle_total += cycle or dt.timedelta(0)


@dataclass
class FunnelStage:
    stage: Stage
    reached: int
    conversion: Decimal | None = None  # % of this stage's deals that reached the next one
    of_first: Decimal | None = None


@dataclass
class SalesReport:
    by_pipeline: list[Performance]
    by_owner: list[Performance]
    overall: Performance
    funnel: list[FunnelStage]
    funnel_pipeline: Pipeline | None
    currency: str
    filters: ReportFilters


def _performance_rows(deals: QuerySet[Deal], won_ids: list[int], lost_ids: list[int]) -> list[dict]:
    """One GROUP BY (pipeline, owner) over the deals closed in the period; both tables are sums of its rows."""
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    won = Q(stage_id__in=won_ids)
    return list(
        deals.filter(stage_id__in=won_ids + lost_ids).values("pipeline_id", "owner_id").annotate(  # type: ignore[arg-type]
            won=Count("id", filter=won),
            lost=Count("id", filter=Q(stage_id__in=lost_ids)),
            won_total=Sum("amount_base", filter=won),
            cycle=Sum(cycle, filter=won, output_field=DurationField()),
        )
    )


def _grouped(rows: list[dict], key: str, label: Callable[[Any], str]) -> list[Performance]:
    groups: dict[Any, Performance] = {}
    for row in rows:
        if row[key] not in groups:
            groups[row[key]] = Performance(label=label(row[key]))
        groups[row[key]].add(row)
    return list(groups.values())


def funnel(*, deals: QuerySet[Deal], pipeline: Pipeline) -> list[FunnelStage]:
    """How many deals reached each open stage and the won stage (that stage or a later one), in pipeline order.

    A deal's furthest stage comes from its stage history (a skipped stage counts as passed); one GROUP BY."""
    stages = [s for s in pipeline.stages.all() if s.kind != StageKind.LOST]
    stages.sort(key=lambda s: (s.kind == StageKind.WON, s.position, s.pk))
    if not stages:
        return []
    rank = Case(*[When(stage_id=s.pk, then=Value(i)) for i, s in enumerate(stages)], output_field=IntegerField())
    furthest = (DealStageHistory.objects.filter(deal_id=OuterRef("pk"), stage_id__in=[s.pk for s in stages])
                .order_by().values("deal_id").annotate(top=Max(rank)).values("top")[:1])
    rows = (deals.filter(pipeline=pipeline).order_by()
            .annotate(furthest=Coalesce(Subquery(furthest, output_field=IntegerField()), rank))
            .values("furthest").annotate(n=Count("id")))
    at = defaultdict(int, {r["furthest"]: r["n"] for r in rows if r["furthest"] is not None})
    result: list[FunnelStage] = []
    running = 0
    for i in range(len(stages) - 1, -1, -1):
        running += at[i]
        result.append(FunnelStage(stage=stages[i], reached=running))
    result.reverse()
    first = result[0].reached
    for i, item in enumerate(result):
        if i + 1 < len(result) and item.reached:
            item.conversion = (Decimal(result[i + 1].reached * 100) / item.reached).quantize(Decimal("0.1"))
        if first:
            item.of_first = (Decimal(item.reached * 100) / first).quantize(Decimal("0.1"))
    return result


def sales_report(*, user: Any, filters: ReportFilters) -> SalesReport:
    """Win rate, average won deal and sales-cycle length of deals closed in the period, by pipeline and by owner,
    and the stage funnel of the deals created in the period (the chosen pipeline, else the default one)."""
    assert filters.period is not None
    start, end = filters.period.bounds()
    deals = filters.scope(deals_for(user)).order_by()
    closed = deals.filter(closed_at__gte=start, closed_at__lt=end)
    won_ids = _stage_ids(StageKind.WON, filters.pipeline)
    lost_ids = _stage_ids(StageKind.LOST, filters.pipeline)
    rows = _performance_rows(closed, won_ids, lost_ids)
    names = {p.pk: p.name for p in Pipeline.objects.filter(pk__in={r["pipeline_id"] for r in rows})}
    by_pipeline = sorted(_grouped(rows, "pipeline_id", lambda pk: names.get(pk, "?")), key=lambda p: p.label.lower())
    owners = _owners({r["owner_id"] for r in rows})
    by_owner = sorted(
        _grouped(rows, "owner_id", lambda pk: str(owners[pk]) if pk in owners else _("Unassigned")),
        key=lambda p: (-p.won_total, p.label.lower()))
    overall = Performance(label=_("All deals"))
    for row in rows:
        overall.add(row)
    funnel_pipeline = filters.pipeline or default_pipeline()
    stages: list[FunnelStage] = []
    if funnel_pipeline is not None:
        if filters.pipeline is None:  # default_pipeline() does not prefetch
            funnel_pipeline = Pipeline.objects.prefetch_related("stages").get(pk=funnel_pipeline.pk)
        stages = funnel(deals=deals.filter(created_at__gte=start, created_at__lt=end), pipeline=funnel_pipeline)
    return SalesReport(by_pipeline=by_pipeline, by_owner=by_owner, overall=overall, funnel=stages,
                       funnel_pipeline=funnel_pipeline, currency=base_currency(), filters=filters)


# --- stuck deals ------------------------------------------------------------------------------------------------

STUCK_ORDER = Ordering("last_activity_at", descending=False, nullable=True)


@dataclass
class StuckDeals:
    page: Page[Deal]
    days: int
    since: dt.datetime
    currency: str
    filters: ReportFilters
    extra: dict[str, Any] = field(default_factory=dict)


def stuck_deals(*, user: Any, filters: ReportFilters, cursor: str | None = None, limit: int = STUCK_PAGE_SIZE,
                now: dt.datetime | None = None) -> StuckDeals:
    """Open deals with no activity for ``filters.days`` days, longest silent first, a keyset page at a time."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=filters.days)
    qs = (filters.scope(deals_for(user))
          .filter(stage_id__in=_stage_ids(StageKind.OPEN, filters.pipeline))
          .filter(Q(last_activity_at__lt=since) | Q(last_activity_at__isnull=True))
          .select_related("owner", "stage", "pipeline", "company"))
    page = keyset_page(qs, STUCK_ORDER, cursor, limit)
    for deal in page.items:
        deal.days_stuck = (now - (deal.last_activity_at or deal.created_at)).days  # type: ignore[attr-defined]
    return StuckDeals(page=page, days=filters.days, since=since, currency=base_currency(), filters=filters)
