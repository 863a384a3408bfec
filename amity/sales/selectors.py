"""Permission-scoped reads of pipelines and deals: the board, the list, one deal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.core.pagination import Ordering, Page, keyset_page, page_size
from amity.core.permissions import get_visible_or_404, visible_to

from .filters import DEAL_SORTS, DealFilterSet
from .models import Deal, LostReason, Pipeline, Stage, StageKind

COLUMN_SIZE = 50
CLOSED_WINDOW_DAYS = 30
# What a board card shows; loading only these keeps 300 cards cheap to build.
BOARD_CARD_FIELDS = ("id", "uuid", "name", "amount", "currency", "amount_base", "probability", "expected_close_date",
                     "stage_id", "owner__id", "owner__full_name", "owner__email", "company__id", "company__name")


def deals_for(user: Any) -> QuerySet[Deal]:
    return visible_to(user, Deal.objects.all())


def pipelines() -> QuerySet[Pipeline]:
    return Pipeline.objects.filter(archived=False).prefetch_related("stages")


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.filter(archived=False).order_by("-is_default", "position", "id").first()


def get_pipeline(uuid: Any) -> Pipeline:
    try:
        return Pipeline.objects.prefetch_related("stages").get(uuid=uuid)
    except (Pipeline.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def get_stage(uuid: Any) -> Stage:
    try:
        return Stage.objects.select_related("pipeline").get(uuid=uuid)
    except (Stage.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def lost_reasons() -> QuerySet[LostReason]:
    return LostReason.objects.all()


def get_deal(*, user: Any, uuid: Any) -> Deal:
    return get_visible_or_404(
        user,
        Deal.objects.select_related("pipeline", "stage", "owner", "company", "lost_reason").prefetch_related(
            "contacts", "tags", "line_items__product"),
        uuid=uuid,
    )


def filtered_deals(*, user: Any, params: Mapping[str, Any]) -> QuerySet[Deal]:
    filterset = DealFilterSet(params)
    qs = deals_for(user).filter(filterset.validate())
    if "tag" in filterset.active:
        qs = qs.distinct()
    return qs


@dataclass
class Column:
    stage: Stage
    deals: list[Deal]
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    more: int = field(default=0)
    closed_since: Any = None  # won/lost columns: only deals closed since then


def board(*, user: Any, pipeline: Pipeline, params: Mapping[str, Any], cards_only: bool = True) -> list[Column]:
    """Each stage with its count, total and weighted total (base currency), and its first 50 deals (open stages:
    the largest; won and lost: the latest closed).

    Won and lost columns cover the deals closed in the last ``CLOSED_WINDOW_DAYS`` days: a board is for work in
    progress, and all-time closed deals would make every board read the whole pipeline's history (the reports
    cover that). Totals come from covering indexes on (stage, close date, owner, amount, probability)."""
    stages = list(pipeline.stages.all())
    since = timezone.now() - dt.timedelta(days=CLOSED_WINDOW_DAYS)
    qs = filtered_deals(user=user, params=params)
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    closed_ids = [s.pk for s in stages if s.kind != StageKind.OPEN]
    totals: dict[int, Any] = {}
    for scope in (qs.filter(stage_id__in=open_ids), qs.filter(stage_id__in=closed_ids, closed_at__gte=since)):
        for row in scope.order_by().values("stage_id").annotate(
                n=Count("id"), total=Sum("amount_base"), weighted=Sum(F("amount_base") * F("probability") / 100)):
            totals[row["stage_id"]] = row
    columns = []
    for stage in stages:
        in_stage = qs.filter(stage=stage) if stage.kind == StageKind.OPEN else qs.filter(stage=stage,
                                                                                          closed_at__gte=since)
        in_stage = in_stage.select_related("owner", "company")
        if cards_only:  # the page's cards; the API serialises whole deals
            in_stage = in_stage.only(*BOARD_CARD_FIELDS)
        # Open columns lead with the largest deals; won/lost with the latest closes (the index order of each).
        order = ("-amount_base", "-id") if stage.kind == StageKind.OPEN else ("-closed_at", "-id")
        deals = list(in_stage.order_by(*order)[:COLUMN_SIZE])
        row = totals.get(stage.pk, {})
        count = row.get("n", 0)
        columns.append(Column(stage=stage, deals=deals, count=count, total=row.get("total") or Decimal(0),
                              weighted=Decimal(row.get("weighted") or 0).quantize(Decimal("0.01")),
                              more=max(0, count - len(deals)),
                              closed_since=since if stage.kind != StageKind.OPEN else None))
    return columns


def deal_list(*, user: Any, params: Mapping[str, Any]) -> Page[Deal]:
    qs = filtered_deals(user=user, params=params)
    sort = params.get("sort") or "-updated"
    if sort not in DEAL_SORTS:
        raise ValidationError({"sort": [_("“%(value)s” is not a sort; use one of: %(choices)s.")
                                        % {"value": sort, "choices": ", ".join(DEAL_SORTS)}]})
    ordering: Ordering = DEAL_SORTS[sort][1]
    return keyset_page(qs.select_related("pipeline", "stage", "owner", "company"), ordering,
                       params.get("cursor") or None, page_size(params))


def deals_of_contact(*, user: Any, contact: Any) -> list[Deal]:
    return list(deals_for(user).filter(contacts=contact).select_related("stage").order_by("-updated_at")[:20])


def deals_of_company(*, user: Any, company: Any) -> list[Deal]:
    return list(deals_for(user).filter(company=company).select_related("stage").order_by("-updated_at")[:20])


def open_deals_q() -> Q:
    return Q(stage__kind="open")
