"""Demo deals, products, exchange rates and deal tasks, behind ``amity demo`` (after its contacts and companies)
and the sales benchmark (``bench/sales.py``, a million deals).

Like ``amity.core.demo`` it writes what the services would write (amounts converted to the base currency with the
dated rates, stage history consistent with the current stage, won/lost close dates and lost reasons, timeline
events carrying ``deal_id``/``company_id``, task reminders) as batched multi-row inserts with pre-assigned ids.
Pipelines, products and rates are few, so they go through the ORM. ``random.Random(seed)`` makes it repeatable.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from amity.accounts.models import User
from amity.contacts.models import Company, Contact
from amity.core.demo import DemoBuilder, Flavour, People, Writer, _cumulative, _next_id
from amity.core.models import Event, ExchangeRate
from amity.core.money import base_currency
from amity.timeline.models import Task

from .models import (
    Deal,
    DealLineItem,
    DealStageHistory,
    LostReason,
    Pipeline,
    Product,
    ProductPrice,
    StageKind,
)

CENT = Decimal("0.01")
# The demo's deals: one per five contacts, at most this many (the million-deal data set is the benchmark's own).
MAX_DEMO_DEALS = 20_000
DEAL_CHUNK = 20_000

# --- the catalogue: sku, name, category, USD list price, description ----------------------------------------------

PRODUCTS: list[tuple[str, str, str, int, str]] = [
    ("CRM-SEAT-STD", "Seat licence, Standard", "Licences", 30, "One user, billed monthly."),
    ("CRM-SEAT-PRO", "Seat licence, Professional", "Licences", 55, "One user with automation and reports."),
    ("CRM-SEAT-ENT", "Seat licence, Enterprise", "Licences", 95, "One user with audit, SSO and sandboxes."),
    ("CRM-SEAT-RO", "Read-only seat", "Licences", 8, "View records and reports."),
    ("ADD-API", "API add-on", "Add-ons", 200, "Higher API limits and webhooks."),
    ("ADD-SMS", "SMS bundle (10,000)", "Add-ons", 350, "Outbound text messages."),
    ("ADD-STORAGE", "Extra storage, 100 GB", "Add-ons", 60, "Attachments and documents."),
    ("ADD-SANDBOX", "Sandbox workspace", "Add-ons", 150, "A copy of the workspace for testing."),
    ("ADD-ANALYTICS", "Analytics pack", "Add-ons", 400, "Dashboards and scheduled reports."),
    ("ADD-CHAT", "Live chat widget", "Add-ons", 120, "Website chat into the inbox."),
    ("SRV-ONBOARD", "Onboarding package", "Services", 1500, "Setup, import and two training sessions."),
    ("SRV-TRAIN-DAY", "Training day", "Services", 1200, "On site or remote, up to 12 people."),
    ("SRV-MIGRATE", "Data migration", "Services", 2500, "From spreadsheets or another CRM."),
    ("SRV-CONSULT-H", "Consulting hour", "Services", 180, "Process and workflow design."),
    ("SRV-INTEGR", "Integration project", "Services", 6000, "ERP, shop or accounting integration."),
    ("SRV-HEALTH", "Account health check", "Services", 900, "Review of usage, data quality and automation."),
    ("SUP-PREM", "Premium support, annual", "Support", 3000, "Four-hour response, named engineer."),
    ("SUP-STD", "Standard support, annual", "Support", 900, "Next-business-day response."),
    ("SUP-247", "24/7 support, annual", "Support", 7500, "Round-the-clock phone support."),
    ("HW-SCANNER", "Badge scanner", "Hardware", 240, "For trade shows and events."),
    ("HW-TABLET", "Field sales tablet", "Hardware", 480, "Rugged 10-inch tablet, preconfigured."),
    ("HW-POS", "Point-of-sale terminal", "Hardware", 650, "Card terminal with receipt printer."),
    ("HW-HEADSET", "Call-centre headset", "Hardware", 90, "Noise-cancelling, USB."),
    ("HW-PRINTER", "Label printer", "Hardware", 210, "Shipping and barcode labels."),
    ("TEA-LONGJING", "Longjing green tea, 1 kg", "Tea", 85, "West Lake Dragon Well, spring harvest."),
    ("TEA-PUERH", "Aged pu'er cake, 357 g", "Tea", 120, "Yunnan, pressed 2015."),
    ("TEA-OOLONG", "Tieguanyin oolong, 500 g", "Tea", 60, "Anxi, lightly roasted."),
    ("TEA-SET", "Gongfu tea set", "Tea", 150, "Porcelain gaiwan, pitcher and six cups."),
    ("COF-BEANS", "Single-origin coffee beans, 5 kg", "Coffee", 140, "Ethiopia Yirgacheffe, roasted weekly."),
    ("COF-ESPRESSO", "Espresso machine, commercial", "Coffee", 5200, "Two groups, plumbed in."),
    ("COF-GRINDER", "Coffee grinder", "Coffee", 900, "Flat burrs, on-demand dosing."),
    ("COF-SERVICE", "Machine service plan, annual", "Coffee", 600, "Two visits a year, parts included."),
    ("PKG-BOX-S", "Shipping boxes, small (500)", "Packaging", 180, "Recycled cardboard."),
    ("PKG-BOX-L", "Shipping boxes, large (250)", "Packaging", 260, "Double-walled."),
    ("PKG-TAPE", "Paper tape (36 rolls)", "Packaging", 75, "Water-activated."),
    ("EVT-BOOTH", "Trade-show booth package", "Events", 4800, "3 × 3 m booth, furniture and power."),
    ("EVT-TASTING", "Tasting event", "Events", 2200, "Evening event for up to 40 guests."),
    ("EVT-WORKSHOP", "Customer workshop", "Events", 1800, "Half-day workshop with lunch."),
    ("SUB-NEWS", "Newsletter service, annual", "Marketing", 1100, "Templates, sending and reports."),
    ("SUB-ADS", "Ads management, monthly", "Marketing", 750, "Search and social campaigns."),
]
# The catalogue's other price lists (rounded local list prices, not conversions of today's rate).
PRICE_FACTORS = {"EUR": Decimal("0.93"), "CNY": Decimal("7.2")}

# Units of USD per unit of each currency a year ago; the demo walks them month by month.
USD_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CNY": 0.138, "JPY": 0.0067, "CAD": 0.73, "AUD": 0.66,
             "SGD": 0.74, "HKD": 0.128, "CHF": 1.12}
# Currency of a deal: mostly the base currency.
DEAL_CURRENCIES = [("base", 70), ("EUR", 14), ("CNY", 10), ("GBP", 6)]

PARTNER_STAGES = [
    {"name": "Introduced", "probability": 10},
    {"name": "Evaluating", "probability": 30},
    {"name": "Contract sent", "probability": 60},
    {"name": "Signed", "probability": 100, "kind": "won"},
    {"name": "Dropped", "probability": 0, "kind": "lost"},
]
DEAL_WORDS = ["renewal", "expansion", "pilot", "annual plan", "new stores", "rollout", "upgrade", "framework order",
              "年度采购", "续约", "second site", "seasonal order"]
LOST_WEIGHTS = {"Price": 30, "Timing": 20, "Chose a competitor": 25, "No budget": 12, "No response": 10, "Other": 3}
TASK_TITLES = ["Send revised proposal", "Call about the quote", "Prepare contract", "Book a demo",
               "Follow up on pricing", "Confirm decision date", "Check budget approval", "准备报价单",
               "Send case study", "Introduce the implementation lead"]
REMINDER_MINUTES = [10, 15, 30, 60, 120, 1440]

DEAL_COLUMNS = ["id", "uuid", "created_at", "updated_at", "owner_id", "name", "pipeline_id", "stage_id", "amount",
                "currency", "amount_base", "expected_close_date", "probability", "company_id", "custom",
                "lost_reason_id", "lost_note", "stage_entered_at", "closed_at", "last_activity_at"]
SALES_COLUMNS: dict[str, list[str]] = {
    "deal": DEAL_COLUMNS,
    "deal_history": ["id", "deal_id", "stage_id", "entered_at", "left_at", "actor_id"],
    "deal_item": ["id", "uuid", "deal_id", "product_id", "name", "quantity", "unit_price", "discount_percent",
                  "amount", "position"],
    "deal_contacts": ["id", "deal", "contact"],
    "deal_tags": ["id", "deal", "tag"],
    "deal_event": ["id", "type", "occurred_at", "actor_id", "subject_type", "subject_id", "contact_id",
                   "company_id", "deal_id", "payload", "status", "processed_at"],
    "deal_task": ["id", "uuid", "created_at", "updated_at", "title", "description", "due_at", "assignee_id",
                  "created_by_id", "contact_id", "company_id", "deal_id", "priority", "done_at",
                  "remind_minutes_before", "remind_at", "reminder_sent_at", "recurrence"],
}
SALES_MODELS: dict[str, type[models.Model]] = {"deal": Deal, "deal_history": DealStageHistory, "deal_item": DealLineItem,
                "deal_contacts": Deal.contacts.through, "deal_tags": Deal.tags.through, "deal_event": Event,
                "deal_task": Task}
ID_KEYS: dict[str, type[models.Model]] = {"deal": Deal, "deal_history": DealStageHistory, "deal_item": DealLineItem,
           "deal_contacts": Deal.contacts.through, "deal_tags": Deal.tags.through, "event": Event, "task": Task}


class SalesWriter(Writer):
    """``core.demo.Writer`` with the sales tables."""

    def __init__(self) -> None:
        super().__init__()
        self.models.update(SALES_MODELS)
        self.columns.update(SALES_COLUMNS)


# --- what the workspace holds before the deals: pipelines, products, rates --------------------------------------

@dataclass
class PipelineInfo:
    pk: int
    name: str
    open_stages: list[tuple[int, str, int]]  # id, name, probability, in order
    won: tuple[int, str, int]
    lost: tuple[int, str, int]


def _pipeline_info(pipeline: Pipeline) -> PipelineInfo:
    stages = list(pipeline.stages.order_by("position", "id"))
    row = {s.pk: (s.pk, s.name, s.probability) for s in stages}
    return PipelineInfo(
        pk=pipeline.pk, name=pipeline.name,
        open_stages=[row[s.pk] for s in stages if s.kind == StageKind.OPEN],
        won=next(row[s.pk] for s in stages if s.kind == StageKind.WON),
        lost=next(row[s.pk] for s in stages if s.kind == StageKind.LOST),
    )


def ensure_pipelines(admin: User) -> tuple[PipelineInfo, PipelineInfo]:
    """The default pipeline (made by a migration) and "Partners" (made here, once, through the service)."""
    from . import services

    default = Pipeline.objects.filter(archived=False).order_by("-is_default", "position", "id").first()
    if default is None:
        default = services.create_pipeline(actor=admin, name="Sales", stages=[
            {"name": "Qualified", "probability": 10}, {"name": "Proposal", "probability": 50},
            {"name": "Won", "probability": 100, "kind": "won"}, {"name": "Lost", "probability": 0, "kind": "lost"}])
    partners = Pipeline.objects.filter(name="Partners").first() or services.create_pipeline(
        actor=admin, name="Partners", stages=PARTNER_STAGES)
    return _pipeline_info(default), _pipeline_info(partners)


@dataclass
class CatalogueItem:
    pk: int
    sku: str
    name: str
    prices: dict[str, Decimal]


def ensure_catalogue() -> list[CatalogueItem]:
    """The ~40 demo products with USD, EUR and CNY prices (those missing are created)."""
    have = set(Product.objects.values_list("sku", flat=True))
    new = [Product(sku=sku, name=name, category=category, description=text)
           for sku, name, category, _usd, text in PRODUCTS if sku not in have]
    if new:
        Product.objects.bulk_create(new)
        by_sku = {p.sku: p for p in Product.objects.filter(sku__in=[p.sku for p in new])}
        prices = []
        for sku, _name, _category, usd, _text in PRODUCTS:
            if sku not in by_sku:
                continue
            prices.append(ProductPrice(product=by_sku[sku], currency="USD", unit_price=Decimal(usd)))
            for currency, factor in PRICE_FACTORS.items():
                local = Decimal(usd) * factor
                step = Decimal(10) if currency == "CNY" and local > 100 else Decimal(1)
                prices.append(ProductPrice(product=by_sku[sku], currency=currency,
                                           unit_price=(local / step).quantize(Decimal(1)) * step))
        ProductPrice.objects.bulk_create(prices)
    items = []
    for product in Product.objects.filter(active=True).prefetch_related("prices").order_by("id"):
        items.append(CatalogueItem(pk=product.pk, sku=product.sku, name=product.name,
                                   prices={p.currency: p.unit_price for p in product.prices.all()}))
    return items


class RateTable:
    """Dated rates in memory, looked up the way ``core.money.rate_on`` does (latest not after the day)."""

    def __init__(self, rows: list[tuple[str, dt.date, Decimal]]) -> None:
        self.by_currency: dict[str, tuple[list[dt.date], list[Decimal]]] = {}
        for currency, day, rate in sorted(rows):
            days, rates = self.by_currency.setdefault(currency, ([], []))
            days.append(day)
            rates.append(rate)

    def rate(self, currency: str, on: dt.date) -> Decimal | None:
        if currency == base_currency():
            return Decimal(1)
        days, rates = self.by_currency.get(currency, ([], []))
        n = bisect.bisect_right(days, on)
        return rates[n - 1] if n else None

    def currencies(self) -> set[str]:
        return {base_currency(), *self.by_currency}


def ensure_rates(*, months: int, seed: int) -> RateTable:
    """Monthly rates to the base currency over the last ``months`` months (those missing are added)."""
    rng = random.Random(f"{seed}:rates")
    base = base_currency()
    today = timezone.localdate()
    if base in USD_RATES:
        have = set(ExchangeRate.objects.values_list("currency", "valid_from"))
        walk = dict(USD_RATES)
        new = []
        for back in range(months, -1, -1):
            year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
            day = dt.date(year, month + 1, 1)
            for currency in walk:
                walk[currency] *= 1 + rng.uniform(-0.015, 0.015)
            for currency, usd in walk.items():
                if currency != base and (currency, day) not in have:
                    rate = Decimal(usd / walk[base]).quantize(Decimal("1e-6"))
                    new.append(ExchangeRate(currency=currency, valid_from=day, rate=rate))
        ExchangeRate.objects.bulk_create(new)
    return RateTable([(r.currency, r.valid_from, r.rate) for r in ExchangeRate.objects.all()])


# --- the deals ----------------------------------------------------------------------------------------------------

@dataclass
class Mix:
    """How many deals of each (pipeline, status): drawn without replacement, so the counts are exact."""

    counts: dict[tuple[str, str], int]

    @classmethod
    def for_demo(cls, deals: int) -> Mix:
        shares = {("default", "open"): 0.45, ("default", "won"): 0.18, ("default", "lost"): 0.12,
                  ("partners", "open"): 0.13, ("partners", "won"): 0.07, ("partners", "lost"): 0.05}
        counts = {k: int(deals * v) for k, v in shares.items()}
        counts[("default", "open")] += deals - sum(counts.values())
        return cls(counts)

    def draw(self, rng: random.Random) -> tuple[str, str]:
        left = sum(self.counts.values())
        r = rng.random() * left
        for key, n in self.counts.items():
            if r < n:
                self.counts[key] -= 1
                return key
            r -= n
        key = next(k for k, n in self.counts.items() if n)
        self.counts[key] -= 1
        return key


@dataclass
class SalesResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class SalesBuilder:
    """Generates deal rows chunk by chunk (no database access while generating)."""

    def __init__(self, *, deals: int, mix: Mix, people: People, pipelines: tuple[PipelineInfo, PipelineInfo],
                 catalogue: list[CatalogueItem], rates: RateTable, companies: list[tuple[int, str]],
                 company_contacts: dict[int, list[int]], lost_reasons: dict[str, int], seed: int,
                 lean: bool = False, history_days: int = 365, stuck_share: float = 0.12,
                 task_share: float = 0.25, admin_tasks: int = 16) -> None:
        self.n = deals
        self.mix = mix
        self.people = people
        self.pipelines = {"default": pipelines[0], "partners": pipelines[1]}
        self.catalogue = catalogue
        self.rates = rates
        self.companies = companies
        self.company_contacts = company_contacts
        self.lost_reason_names = list(lost_reasons)
        self.lost_reasons = lost_reasons
        self.lost_cum = _cumulative([LOST_WEIGHTS.get(name, 5) for name in self.lost_reason_names])
        self.lean = lean
        self.history_days = history_days
        self.stuck_share = stuck_share
        self.task_share = task_share
        self.admin_tasks = admin_tasks
        first_ids = {key: _next_id(model) for key, model in ID_KEYS.items()}
        # The row helpers of the contacts generator (uuid, dates, events), on its own random stream.
        self.core = DemoBuilder(contacts=0, companies=0, seed=seed, people=people, flavour=Flavour.current(),
                                first_ids={**{k: 1 for k in ("company", "contact", "email", "phone", "interaction",
                                                              "date", "preference", "search")}, **first_ids})
        self.core.rng = self.rng = random.Random(f"{seed}:deals:{first_ids['deal']}")
        self.now = self.core.now
        self.today = timezone.localdate()
        currencies = [(c if c != "base" else base_currency(), w) for c, w in DEAL_CURRENCIES]
        self.currencies = [c for c, _w in currencies if c in rates.currencies()]
        self.currency_cum = _cumulative([w for c, w in currencies if c in rates.currencies()])
        self.tag_ids = people.tag_ids
        self.empty_json = self.core.json({})
        self.admin_tasks_left = admin_tasks

    # --- helpers ---------------------------------------------------------------------------------------------

    def new_id(self, key: str) -> int:
        return self.core.new_id(key)

    def when(self, value: dt.datetime) -> Any:
        return self.core.when(value)

    def day(self, value: dt.date | None) -> Any:
        return value.isoformat() if value is not None else None

    def base_amount(self, amount: Decimal, currency: str, on: dt.date) -> Decimal:
        rate = self.rates.rate(currency, on) or Decimal(1)
        return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def event(self, events: list[tuple[Any, ...]], event_type: str, when: dt.datetime, actor: int | None,
              deal_id: int, company_id: int | None, payload: dict[str, Any], subject: str = "deal",
              subject_id: int | None = None, contact_id: int | None = None) -> None:
        stamp = self.when(when)
        events.append((self.new_id("event"), event_type, stamp, actor, subject, subject_id or deal_id, contact_id,
                       company_id, deal_id, self.core.json(payload), "done", stamp))

    def line_items(self, deal_id: int, currency: str, items: list[tuple[Any, ...]]) -> Decimal:
        """1–4 catalogue items priced in the deal's currency (or named items for other currencies)."""
        rng = self.rng
        total = Decimal(0)
        for position in range(rng.choice((1, 1, 2, 2, 3, 4))):
            product = rng.choice(self.catalogue)
            price = product.prices.get(currency)
            if price is None:  # no list price in this currency: a hand-priced item
                usd = product.prices.get("USD", Decimal(100))
                price = (usd / (self.rates.rate(currency, self.today) or Decimal(1))).quantize(Decimal(1))
            quantity = Decimal(rng.choice((1, 1, 2, 3, 5, 10, 12, 25, 50)))
            discount = Decimal(rng.choice((0, 0, 0, 5, 10, 15, 20)))
            amount = (quantity * price * (100 - discount) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            total += amount
            items.append((self.new_id("deal_item"), self.core.uuid()[0], deal_id, product.pk, product.name,
                          str(quantity), str(price), str(discount), str(amount), position))
        return total

    # --- generation ------------------------------------------------------------------------------------------

    def generate(self) -> Iterator[tuple[str, list[tuple[str, list[tuple[Any, ...]]]]]]:
        for start in range(0, self.n, DEAL_CHUNK):
            end = min(start + DEAL_CHUNK, self.n)
            yield f"  deals: {end:,}/{self.n:,}", self.chunk(end - start)

    def chunk(self, size: int) -> list[tuple[str, list[tuple[Any, ...]]]]:
        rng, now = self.rng, self.now
        deals: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        contact_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        tasks: list[tuple[Any, ...]] = []
        for _ in range(size):
            pk = self.new_id("deal")
            stored_uuid, text_uuid = self.core.uuid()
            pipeline_key, status = self.mix.draw(rng)
            pipeline = self.pipelines[pipeline_key]
            owner = rng.choice(self.people.owner_pool)
            actor = owner or self.people.admin_id
            company_id, company_name = rng.choice(self.companies) if self.companies and rng.random() < 0.9 \
                else (None, "")
            open_stages = pipeline.open_stages
            # The path through the pipeline: the open stages up to where it is (or where it was lost), then the end.
            stuck = False
            if status == "open":
                reached = min(int(rng.expovariate(0.7)), len(open_stages) - 1)
                path = open_stages[: reached + 1]
                stuck = rng.random() < self.stuck_share
                last_move = now - dt.timedelta(days=rng.uniform(30, 90) if stuck else rng.uniform(0, 25))
                created = last_move - dt.timedelta(days=rng.uniform(0, 20) * len(path) + rng.uniform(0, 3))
                closed = None
            else:
                reached = len(open_stages) - 1 if status == "won" else rng.randrange(len(open_stages))
                path = [*open_stages[: reached + 1], pipeline.won if status == "won" else pipeline.lost]
                closed = now - dt.timedelta(days=rng.uniform(1, self.history_days))
                created = closed - dt.timedelta(days=rng.uniform(7, 120))
                last_move = closed
            # Each stay ends where the next begins; the moves are spread between creation and the last move.
            span = (last_move - created).total_seconds()
            cuts = sorted(rng.random() for _ in range(len(path) - 1))
            entered = [created, *(created + dt.timedelta(seconds=span * c) for c in cuts)]
            if len(path) > 1:
                entered[-1] = last_move
            for n, (stage_id, _name, _p) in enumerate(path):
                left = entered[n + 1] if n + 1 < len(path) else None
                history.append((self.new_id("deal_history"), pk, stage_id, self.when(entered[n]),
                                self.when(left) if left else None, actor))
            stage_id, stage_name, probability = path[-1]
            if status == "open" and rng.random() < 0.15:  # the rep's own judgement
                probability = max(5, min(95, probability + rng.choice((-10, -5, 5, 10, 15))))
            currency = self.currencies[bisect.bisect_right(self.currency_cum, rng.random() * self.currency_cum[-1])]
            if self.lean:
                amount = Decimal(int(rng.lognormvariate(8.5, 1.0))).quantize(CENT)
            else:
                amount = self.line_items(pk, currency, items)
            rate_day = closed.date() if closed else self.today
            amount_base = self.base_amount(amount, currency, rate_day)
            close_date = closed.date() if closed else self.today + dt.timedelta(days=rng.randrange(0, 183))
            lost_reason = None
            if status == "lost":
                name = self.lost_reason_names[bisect.bisect_right(self.lost_cum, rng.random() * self.lost_cum[-1])]
                lost_reason = self.lost_reasons[name]
            activity: dt.datetime = last_move if status != "open" or stuck else min(
                now, last_move + dt.timedelta(days=rng.uniform(0, 10)))
            name = f"{company_name or 'Walk-in'} · {rng.choice(DEAL_WORDS)}"
            deals.append((pk, stored_uuid, self.when(created), self.when(activity), owner, name[:200], pipeline.pk,
                          stage_id, str(amount), currency, str(amount_base), self.day(close_date), probability,
                          company_id, self.empty_json, lost_reason, "", self.when(entered[-1]),
                          self.when(closed) if closed else None, self.when(activity)))
            if self.lean:
                continue
            contacts = self.company_contacts.get(company_id or 0, [])
            if contacts:
                for contact_id in rng.sample(contacts, min(len(contacts), rng.choice((1, 1, 2)))):
                    contact_rows.append((self.new_id("deal_contacts"), pk, contact_id))
            if self.tag_ids and (rng.random() < 0.1 or (stuck and rng.random() < 0.5)):
                tag_rows.append((self.new_id("deal_tags"), pk, self.tag_ids[6 if stuck else 0]))  # at-risk / vip
            # The timeline: what the services emit for the same history.
            base = {"deal": text_uuid, "name": name, "amount": str(amount), "currency": currency}
            self.event(events, "deal.created", created, actor, pk, company_id, {**base, "stage": path[0][1]})
            for n in range(1, len(path)):
                move = {**base, "stage": path[n][1], "from": path[n - 1][1], "to": path[n][1]}
                self.event(events, "deal.stage_changed", entered[n], actor, pk, company_id, move)
                if n == len(path) - 1 and status == "won":
                    self.event(events, "deal.won", entered[n], actor, pk, company_id, move)
                elif n == len(path) - 1 and status == "lost":
                    self.event(events, "deal.lost", entered[n], actor, pk, company_id,
                               {**move, "lost_reason": name_of(self.lost_reasons, lost_reason)})
            if status == "open":
                self.deal_tasks(tasks, events, pk, text_uuid, name, owner, company_id, contacts[:1], stuck)
        return [("deal", deals), ("deal_history", history), ("deal_item", items), ("deal_contacts", contact_rows),
                ("deal_tags", tag_rows), ("deal_task", tasks), ("deal_event", events)]

    def deal_tasks(self, tasks: list[tuple[Any, ...]], events: list[tuple[Any, ...]], deal_id: int, deal_uuid: str,
                   deal_name: str, owner: int | None, company_id: int | None, contacts: list[int],
                   stuck: bool) -> None:
        """Follow-ups on open deals; the admin's first ones show overdue, today and upcoming with reminders."""
        rng, now = self.rng, self.now
        for_admin = self.admin_tasks_left > 0
        if not for_admin and (stuck or rng.random() >= self.task_share):
            return
        assignee = self.people.admin_id if for_admin else (owner or self.people.admin_id)
        state = (self.admin_tasks - self.admin_tasks_left) % 4 if for_admin else rng.randrange(4)
        self.admin_tasks_left -= 1 if for_admin else 0
        if state == 0:  # overdue
            due = now - dt.timedelta(days=rng.randrange(1, 6), hours=rng.randrange(0, 8))
        elif state == 1:  # later today (UTC)
            due = min(now + dt.timedelta(hours=rng.randrange(1, 6)), now.replace(hour=23, minute=30))
        else:  # upcoming
            due = now + dt.timedelta(days=rng.randrange(1, 21), hours=rng.randrange(0, 8))
        due = due.replace(minute=(due.minute // 15) * 15, second=0)
        created = min(now - dt.timedelta(days=rng.uniform(0, 5)), due)
        minutes = rng.choice(REMINDER_MINUTES) if for_admin or rng.random() < 0.5 else None
        remind_at = due - dt.timedelta(minutes=minutes) if minutes else None
        # A reminder already due was delivered (on time): the worker must not send the demo's past reminders.
        sent = remind_at if remind_at is not None and remind_at <= now else None
        task_id = self.new_id("task")
        title = rng.choice(TASK_TITLES)
        contact_id = contacts[0] if contacts else None
        tasks.append((task_id, self.core.uuid()[0], self.when(created), self.when(created), title, "",
                      self.when(due), assignee, assignee, contact_id, company_id, deal_id,
                      rng.choice(("normal", "normal", "high", "low")), None, minutes,
                      self.when(remind_at) if remind_at else None, self.when(sent) if sent else None,
                      "weekly" if for_admin and state == 2 and rng.random() < 0.3 else ""))
        self.event(events, "task.created", created, assignee, deal_id, company_id,
                   {"title": title, "due_at": due.replace(tzinfo=dt.UTC).isoformat(),
                    "assignee": self.people.names.get(assignee), "deal": deal_uuid, "deal_name": deal_name},
                   subject="task", subject_id=task_id, contact_id=contact_id)


def name_of(reasons: dict[str, int], pk: int | None) -> str:
    return next((name for name, value in reasons.items() if value == pk), "")


def default_deals(contacts: int) -> int:
    """One deal per five contacts (400 for the default 2,000), at most MAX_DEMO_DEALS."""
    return min(contacts // 5, MAX_DEMO_DEALS)


def _accounts(limit: int) -> tuple[list[tuple[int, str]], dict[int, list[int]]]:
    """The deals' accounts: companies with some of their contacts, read once in bounded queries (the demo has at
    most 100,000 companies)."""
    contacts: dict[int, list[int]] = {}
    for contact_id, company_id in (Contact.objects.filter(company_id__isnull=False).order_by("id")
                                   .values_list("id", "company_id")[: limit * 3].iterator(chunk_size=10_000)):
        contacts.setdefault(company_id, []).append(contact_id)
    names = dict(Company.objects.order_by("id").values_list("id", "name")[:100_000])
    companies = [(pk, names[pk]) for pk in contacts if pk in names] or list(names.items())[:limit]
    return companies, contacts


def build_sales_demo(*, deals: int, people: People, seed: int = 42, mix: Mix | None = None, lean: bool = False,
                     history_days: int = 365, progress: Callable[[str], None] = lambda _msg: None,
                     admin_tasks: int = 16) -> SalesResult:
    """Products, exchange rates, the "Partners" pipeline and ``deals`` deals with their history, line items,
    events and follow-up tasks (``lean``: deals and stage history only, for the million-deal benchmark)."""
    started = time.monotonic()
    result = SalesResult()
    if deals <= 0:
        return result
    admin = User.objects.get(pk=people.admin_id)
    with transaction.atomic():
        pipelines = ensure_pipelines(admin)
        catalogue = ensure_catalogue()
        rates = ensure_rates(months=history_days // 30 + 2, seed=seed)
    companies, company_contacts = _accounts(min(deals, 20_000))
    builder = SalesBuilder(
        deals=deals, mix=mix or Mix.for_demo(deals), people=people, pipelines=pipelines, catalogue=catalogue,
        rates=rates, companies=companies, company_contacts=company_contacts,
        lost_reasons=dict(LostReason.objects.values_list("name", "id")), seed=seed, lean=lean,
        history_days=history_days, admin_tasks=admin_tasks)
    writer = SalesWriter()
    for message, chunk in builder.generate():
        with transaction.atomic():
            writer.write(chunk)
        progress(f"{message}  [{time.monotonic() - started:.0f} s]")
    writer.finish()
    result.counts = writer.counts
    result.seconds = time.monotonic() - started
    return result

