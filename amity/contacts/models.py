"""Contacts and companies, their emails, phones, preferences and special dates."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amity.core.models import OwnedModel, Tag


class CompanySize(models.TextChoices):
    S1 = "1-10", "1–10"
    S2 = "11-50", "11–50"
    S3 = "51-200", "51–200"
    S4 = "201-1000", "201–1,000"
    S5 = "1001+", "1,001+"


class AddressFields(models.Model):
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. US, CN"))

    class Meta:
        abstract = True


class Company(OwnedModel, AddressFields):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=16, choices=CompanySize.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    description = models.TextField(_("description"), blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    custom = models.JSONField(default=dict, blank=True)
    # The id this record has in the system it was imported from (matching on re-import).
    external_id = models.CharField(_("external id"), max_length=128, blank=True, db_index=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="company_recent"),
            models.Index(fields=["name", "id"], name="company_name"),
            models.Index(fields=["domain"], name="company_domain"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="company_owner_recent"),
            models.Index(fields=["industry", "-updated_at"], name="company_industry"),
        ]

    def __str__(self) -> str:
        return self.name


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing-qualified lead")
    SQL = "sql", _("Sales-qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    ADVOCATE = "advocate", _("Advocate")
    CHURNED = "churned", _("Churned")


class Contact(OwnedModel, AddressFields):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    # Stored so lists sort and search by the name as people read it ("王小明", "Ada Lovelace").
    display_name = models.CharField(_("name"), max_length=210, editable=False)
    # The primary email and phone, denormalised from ContactEmail/ContactPhone for lists and sorting.
    email = models.CharField(_("email"), max_length=254, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=32, blank=True, editable=False)
    company = models.ForeignKey(
        Company, verbose_name=_("company"), null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    source = models.CharField(_("source"), max_length=64, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    custom = models.JSONField(default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=128, blank=True, db_index=True)
    # A small portrait (from a vCard or an upload) as a data: URI, at most 256 KB; shown as the avatar.
    photo = models.TextField(_("photo"), blank=True, editable=False)
    # Maintained by services that record purchases and interactions (not recomputed per read).
    lifetime_value = models.DecimalField(_("value so far"), max_digits=14, decimal_places=2, default=0)
    last_contacted_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # Customer facts kept current incrementally by commerce services (never recomputed per read).
    # ``lifetime_value`` above is the total spent, net of refunds, in the base currency.
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    average_order_value = models.DecimalField(_("average order value"), max_digits=14, decimal_places=2, default=0)
    # Last sign of life: an order, a behaviour event, an interaction.
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # Set when this contact was merged into another; its URLs redirect there and lists hide it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="contact_recent"),
            models.Index(fields=["-created_at", "-id"], name="contact_created"),
            models.Index(fields=["display_name", "id"], name="contact_name"),
            models.Index(fields=["lifecycle_stage", "-updated_at", "-id"], name="contact_stage_recent"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="contact_owner_recent"),
            models.Index(fields=["company", "display_name"], name="contact_company"),
            models.Index(fields=["email"], name="contact_email"),
            models.Index(fields=["phone"], name="contact_phone"),
            models.Index(fields=["source", "-updated_at"], name="contact_source"),
            models.Index(fields=["country", "-updated_at"], name="contact_country"),
            models.Index(fields=["-last_contacted_at", "-id"], name="contact_last_contacted"),
            models.Index(fields=["-lifetime_value", "-id"], name="contact_value"),
            models.Index(fields=["-last_order_at", "-id"], name="contact_last_order"),
            models.Index(fields=["-order_count", "-id"], name="contact_order_count"),
            models.Index(fields=["-last_activity_at", "-id"], name="contact_last_activity"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email or str(self.uuid)


class ContactEmail(models.Model):
    KINDS = [("work", _("Work")), ("home", _("Home")), ("other", _("Other"))]
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    # Case-folded; unique across all contacts so a customer exists once.
    email = models.CharField(_("email"), max_length=254, unique=True)
    kind = models.CharField(max_length=8, choices=KINDS, default="work")
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    KINDS = [("mobile", _("Mobile")), ("work", _("Work")), ("home", _("Home")), ("other", _("Other"))]
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("phone"), max_length=32, db_index=True)  # E.164
    kind = models.CharField(max_length=8, choices=KINDS, default="mobile")
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.number


class SpecialDateKind(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    ANNIVERSARY = "anniversary", _("Anniversary")
    CUSTOMER_SINCE = "customer_since", _("Customer since")
    OTHER = "other", _("Other")


class SpecialDate(models.Model):
    """A yearly date. Month and day are columns so "whose birthday is today" is an index lookup."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="special_dates")
    kind = models.CharField(_("kind"), max_length=16, choices=SpecialDateKind.choices)
    label = models.CharField(_("label"), max_length=100, blank=True)
    month = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["month", "day"]
        indexes = [models.Index(fields=["month", "day", "kind"], name="specialdate_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=models.Q(kind="birthday"), name="specialdate_one_birthday"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:02d}-{self.day:02d}"


class Preference(models.Model):
    """A free-form preference ("oat milk, no sugar") with when and by whom it was recorded."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="preferences")
    text = models.CharField(_("preference"), max_length=300)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self) -> str:
        return self.text


class SavedView(models.Model):
    """A named list filter + sort, private to its owner or shared with everyone."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    object_type = models.CharField(max_length=32)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(max_length=2000, help_text=_("the list's query string"))
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Not a duplicate")
    MERGED = "merged", _("Merged")


class DuplicatePair(models.Model):
    """Two contacts that may be the same person, found by the duplicate scan (``contacts.dedupe``).

    ``contact_a`` has the lower id, so a pair is stored once; ``reasons`` lists why they matched
    (``[{"code": "email", "detail": "ada@example.com"}, {"code": "name_company", "score": 93}]``)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))  # 0–100
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN)
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_a", "contact_b"], name="duplicatepair_unique"),
            models.CheckConstraint(condition=models.Q(contact_a__lt=models.F("contact_b")), name="duplicatepair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="duplicatepair_queue"),
            models.Index(fields=["contact_b"], name="duplicatepair_b"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_a_id} ~ {self.contact_b_id} ({self.score})"
