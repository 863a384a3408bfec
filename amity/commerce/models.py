"""Orders, carts and behaviour events from online and physical stores.

Everything a store sends carries the sender's ``external_id``; (``source``, ``external_id``) is unique, so a
replayed batch or webhook changes nothing. Customer facts derived from these rows live on ``Contact``
(order count, first/last order, total spent, average order value, last activity) and in
``CustomerProductStat`` / ``ProductViewSummary``, all maintained incrementally by ``commerce.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from amity.contacts.models import Contact
from amity.core.models import PublicIdModel
from amity.sales.models import Product


class Channel(models.TextChoices):
    ONLINE = "online", _("Online store")
    IN_STORE = "in_store", _("In store")
    PHONE = "phone", _("Phone")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    PAID = "paid", _("Paid")
    FULFILLED = "fulfilled", _("Fulfilled")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class StoreKind(models.TextChoices):
    SNIPPET = "snippet", _("Website tracking snippet")
    GENERIC = "generic", _("Generic JSON webhook")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")


class Store(PublicIdModel):
    """A store that sends data: a website carrying the snippet (``public_key``) or a platform posting signed
    webhooks (``secret`` is the HMAC key the platform signs with)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=StoreKind.choices)
    public_key = models.CharField(max_length=40, unique=True)  # in the snippet, not a secret
    secret = models.CharField(max_length=128, blank=True)
    # Generic webhooks: {"order.external_id": "$.id", "order.email": "$.customer.email", …}
    mapping = models.JSONField(default=dict, blank=True)
    # Origins allowed to send snippet events (CORS); empty = any.
    allowed_origins = models.TextField(_("allowed origins"), blank=True)
    # The snippet sends nothing until the page sets the consent flag.
    require_consent = models.BooleanField(_("wait for consent"), default=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.name


class CommerceSettings(models.Model):
    """Workspace-wide commerce settings (one row, pk=1)."""

    abandon_after_minutes = models.PositiveIntegerField(_("a cart is abandoned after (minutes)"), default=60)

    def __str__(self) -> str:
        return f"abandon after {self.abandon_after_minutes} min"


class Order(PublicIdModel):
    source = models.CharField(max_length=40, default="api")  # "api", "in_store", "store:<public_key>"
    external_id = models.CharField(_("external id"), max_length=128, blank=True)
    number = models.CharField(_("order number"), max_length=64, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", verbose_name=_("customer")
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices, default=Channel.ONLINE)
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.DecimalField(_("subtotal"), max_digits=14, decimal_places=2, default=0)
    discount_total = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(_("tax"), max_digits=14, decimal_places=2, default=0)
    shipping_total = models.DecimalField(_("shipping"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    total_base = models.DecimalField(max_digits=14, decimal_places=2)  # in the base currency, at the rate of the day it was placed
    # Base units per unit of ``currency`` on the day the order was placed: lines and refunds convert with it, so
    # facts recomputed later equal the ones kept incrementally even if the day's rate is edited afterwards.
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, default=1)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=0)
    placed_at = models.DateTimeField(_("placed"))
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], condition=~Q(external_id=""),
                                    name="order_external_unique"),
        ]
        indexes = [
            models.Index(fields=["contact", "-placed_at"], name="order_contact"),
            models.Index(fields=["-placed_at", "-id"], name="order_recent"),
            models.Index(fields=["status", "-placed_at"], name="order_status"),
            # Anonymous orders attached to a contact once their visitor identifies.
            models.Index(fields=["visitor_id"], name="order_anonymous",
                         condition=Q(contact__isnull=True) & ~Q(visitor_id="")),
        ]

    def __str__(self) -> str:
        return self.number or self.external_id or str(self.uuid)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("item"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class CartStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ABANDONED = "abandoned", _("Abandoned")
    RECOVERED = "recovered", _("Recovered")
    CONVERTED = "converted", _("Converted")


class Cart(PublicIdModel):
    source = models.CharField(max_length=40, default="api")
    external_id = models.CharField(_("external id"), max_length=128, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts", verbose_name=_("customer")
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=CartStatus.choices, default=CartStatus.OPEN)
    currency = models.CharField(_("currency"), max_length=3)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, default=0)
    value_base = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    item_count = models.PositiveIntegerField(default=0)
    cart_url = models.URLField(_("cart link"), max_length=500, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"))
    checkout_started_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(_("abandoned"), null=True, blank=True)
    converted_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recovered_at = models.DateTimeField(_("recovered"), null=True, blank=True)
    recovered_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recovered_value = models.DecimalField(_("recovered value"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], condition=~Q(external_id=""),
                                    name="cart_external_unique"),
        ]
        indexes = [
            # The sweep: open carts whose last activity is older than the delay.
            models.Index(fields=["last_activity_at"], name="cart_open_due", condition=Q(status="open")),
            # Recoverable revenue: abandoned carts by value or age.
            models.Index(fields=["status", "-value_base", "-id"], name="cart_status_value"),
            models.Index(fields=["status", "-abandoned_at", "-id"], name="cart_status_abandoned"),
            models.Index(fields=["contact", "status"], name="cart_contact"),
            models.Index(fields=["visitor_id"], name="cart_visitor", condition=~Q(visitor_id="")),
        ]

    def __str__(self) -> str:
        return self.external_id or str(self.uuid)


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("item"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    image_url = models.URLField(max_length=500, blank=True)
    product_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class BehaviourKind(models.TextChoices):
    PAGE_VIEW = "page_view", _("Page view")
    PRODUCT_VIEW = "product_view", _("Product view")
    SEARCH = "search", _("Search")
    ADD_TO_CART = "add_to_cart", _("Add to cart")
    CHECKOUT_STARTED = "checkout_started", _("Checkout started")
    CUSTOM = "custom", _("Custom")


class BehaviourEvent(models.Model):
    """One thing a visitor did on a store. Kept lean (tens of millions of rows): the timeline shows summaries
    (``ProductViewSummary``), not one line per event."""

    source = models.CharField(max_length=40, default="api")
    external_id = models.CharField(max_length=128, blank=True)
    # No index of its own: "behaviour_contact" (contact, -occurred_at) serves lookups by contact, and each index
    # costs every insert. No database constraint either: its per-row check at commit cost PostgreSQL ~12 µs an
    # event. Ingest checks its batch's contacts once, under a lock that every removal of contacts takes first
    # (``services._require_contacts``, ``core.db.CONTACT_REMOVAL_LOCK``); Django still sets the field to NULL.
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False, db_constraint=False)
    visitor_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=20, choices=BehaviourKind.choices)
    name = models.CharField(max_length=100, blank=True)  # the custom event's name, or the search query
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # Neither a database constraint nor an index: Amity never deletes a product (it archives them), and on this
    # table of tens of millions of rows the constraint's check at each commit and the index cost ingest ~10 µs per
    # event — a tenth of PostgreSQL's share. Product views are read through ``ProductViewSummary``.
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_constraint=False, db_index=False)
    url = models.CharField(max_length=500, blank=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            # external_id first: a batch's replay check (``external_id = ANY(…) AND source = …``) then probes the
            # index once per id whatever the planner's statistics say. Led by source, PostgreSQL scanned every
            # event of a store it had not yet sampled (200,000 events: 2.5 s per batch).
            models.UniqueConstraint(fields=["external_id", "source"], condition=~Q(external_id=""),
                                    name="behaviour_external_unique"),
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="behaviour_contact"),
            models.Index(fields=["visitor_id"], name="behaviour_anonymous",
                         condition=Q(contact__isnull=True) & ~Q(visitor_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


class Visitor(models.Model):
    """An anonymous browser id; ``contact`` is set once the visitor identifies (login, form, email click), and
    their earlier events, carts and orders are attached to the contact then."""

    visitor_id = models.CharField(max_length=64, unique=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.visitor_id


class ProductViewSummary(models.Model):
    """Product views per contact, product and week (Monday), counted as they arrive; ``event_id`` is the one
    timeline event that shows the summary ("viewed Hiking boots 6 times this week")."""

    # No index of its own: "productview_contact" and "productview_unique" lead with it.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField()
    event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "product", "week_start"], name="productview_unique"),
        ]
        indexes = [models.Index(fields=["contact", "-week_start"], name="productview_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.product_id} {self.week_start} ×{self.views}"


class CustomerProductStat(models.Model):
    """What one customer bought of one product (favourite products and categories), updated per order."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    spent_base = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    orders = models.PositiveIntegerField(default=0)
    last_bought_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "product"], name="productstat_unique")]
        indexes = [models.Index(fields=["contact", "-quantity"], name="productstat_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.product_id} ×{self.quantity}"
