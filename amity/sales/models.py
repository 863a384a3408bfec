"""Pipelines, stages and deals with line items and stage history; products and quotes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from amity.core.models import OwnedModel, PublicIdModel, Tag


class Pipeline(PublicIdModel):
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(PublicIdModel):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("default probability (%)"), default=10)
    kind = models.CharField(_("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN)

    class Meta:
        ordering = ["pipeline", "position", "id"]

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Deal(OwnedModel):
    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3)
    # The amount in the workspace's base currency at the deal's rate date, kept current by the services so
    # boards and reports add up without converting per row.
    amount_base = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    company = models.ForeignKey("contacts.Company", verbose_name=_("company"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="deals")
    contacts = models.ManyToManyField("contacts.Contact", blank=True, related_name="deals", verbose_name=_("contacts"))
    tags = models.ManyToManyField(Tag, blank=True, related_name="deals", verbose_name=_("tags"))
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=128, blank=True, db_index=True)
    lost_reason = models.ForeignKey(LostReason, verbose_name=_("lost reason"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="deals")
    lost_note = models.CharField(_("lost note"), max_length=300, blank=True)
    stage_entered_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["stage", "-amount_base", "-id"], name="deal_board_column"),
            models.Index(fields=["pipeline", "-updated_at", "-id"], name="deal_pipeline_recent"),
            models.Index(fields=["owner", "stage"], name="deal_owner_stage"),
            # Covering indexes for board totals and the forecast: per stage, a range of close dates, answered from
            # the index alone (1M deals: board totals ~900 ms -> ~15 ms, forecast ~800 ms -> ~50 ms of SQL).
            models.Index(fields=["stage", "expected_close_date", "owner", "amount_base", "probability"],
                         name="deal_stage_close_totals"),
            models.Index(fields=["stage", "closed_at", "owner", "amount_base", "probability"],
                         name="deal_stage_closed_totals"),
            models.Index(fields=["pipeline", "created_at"], name="deal_pipeline_created"),
            models.Index(fields=["-updated_at", "-id"], name="deal_recent"),
            models.Index(fields=["last_activity_at"], name="deal_last_activity"),
            models.Index(fields=["company", "-updated_at"], name="deal_company"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage.kind == StageKind.OPEN

    @property
    def weighted_base(self):
        return self.amount_base * self.probability / 100


class DealStageHistory(models.Model):
    """One row per stay of a deal in a stage: time in each stage, and the path through the pipeline."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        ordering = ["entered_at", "id"]
        indexes = [models.Index(fields=["stage", "entered_at"], name="stagehistory_stage")]

    def __str__(self) -> str:
        return f"{self.deal_id} in {self.stage_id}"


class Product(PublicIdModel):
    """The catalogue, shared with commerce: SKU, name, description, prices per currency."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)
    product_url = models.URLField(_("product page URL"), max_length=500, blank=True)
    # Created by commerce ingest for an unknown SKU; flagged so someone completes it in the catalogue.
    is_placeholder = models.BooleanField(_("placeholder"), default=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["active", "name"], name="product_active_name"),
            # Orders, carts and events name products by SKU whatever its case (commerce.services).
            models.Index(Lower("sku"), name="product_sku_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class ProductPrice(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "currency"], name="productprice_unique")]

    def __str__(self) -> str:
        return f"{self.unit_price} {self.currency}"


class DealLineItem(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("item"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Quote(PublicIdModel):
    """A numbered offer made from a deal's line items; lines are copied so the quote never changes after sending."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="quotes")
    contact = models.ForeignKey("contacts.Contact", verbose_name=_("recipient"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="quotes")
    status = models.CharField(_("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    currency = models.CharField(_("currency"), max_length=3)
    valid_until = models.DateField(_("valid until"))
    terms = models.TextField(_("terms"), blank=True)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deal", "-created_at"], name="quote_deal")]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
