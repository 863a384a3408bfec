"""Quotes made from a deal's line items: numbering, sending by email with the PDF, acceptance.

Numbers are gap-free per year (Q-2026-0001…): the year's ``Counter`` row is locked and incremented inside the
transaction that writes the quote, so a failed create gives its number back and two writers never share one.
Lines are copied from the deal when the quote is made, so later edits to the deal never change a quote.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from amity.contacts.models import Contact
from amity.contacts.services import Errors
from amity.core import audit
from amity.core.events import emit
from amity.core.models import AuditAction, Counter
from amity.core.money import CENT
from amity.core.permissions import can_delete, can_edit, require

from . import services as deal_services
from .models import Deal, LostReason, Quote, QuoteLine, QuoteStatus, StageKind

QUOTE_AUDITED = ["number", "status", "currency", "valid_until", "terms", "contact", "subtotal", "discount_total",
                 "total", "sent_at", "decided_at"]


def company_name() -> str:
    return getattr(settings, "AMITY_COMPANY_NAME", "") or "Amity"


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _timelines(quote: Quote) -> dict[str, Any]:
    return {"deal_id": quote.deal_id, "company_id": quote.deal.company_id, "contact_id": quote.contact_id}


def _payload(quote: Quote, **extra: Any) -> dict[str, Any]:
    return {"quote": str(quote.uuid), "number": quote.number, "deal": str(quote.deal.uuid), "deal_name": quote.deal.name,
            "total": str(quote.total), "currency": quote.currency, **extra}


def _next_number(year: int) -> str:
    """Take the next number of ``year``; call inside the quote's transaction (the row stays locked until commit)."""
    key = f"quote-{year}"
    Counter.objects.get_or_create(key=key)
    Counter.objects.select_for_update().filter(key=key).update(value=F("value") + 1)
    value = Counter.objects.filter(key=key).values_list("value", flat=True).get()
    return f"Q-{year}-{value:04d}"


def _clean_valid_until(errors: Errors, value: Any) -> dt.date | None:
    if value in (None, ""):
        errors.add("valid_until", _("Say until when the quote is valid."))
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            errors.add("valid_until", _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": value})
            return None
    if value < timezone.localdate():
        errors.add("valid_until", _("The validity date is in the past; choose today or a later day."))
        return None
    return value


def _check_recipient(errors: Errors, deal: Deal, contact: Contact | None) -> None:
    """The recipient is one of the deal's contacts or a person at the deal's company."""
    if contact is None:
        return
    if deal.contacts.filter(pk=contact.pk).exists():
        return
    if deal.company_id and contact.company_id == deal.company_id:
        return
    errors.add("contact", _("%(name)s is not a contact of this deal or its company.") % {"name": contact})


def totals(lines: list[QuoteLine]) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal before discounts, discount total, total) of the lines."""
    subtotal = sum(((line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP) for line in lines),
                   Decimal(0))
    total = sum((line.amount for line in lines), Decimal(0))
    return subtotal, subtotal - total, total


@transaction.atomic
def create_quote(*, actor: Any, deal: Deal, valid_until: Any, terms: str = "", contact: Contact | None = None) -> Quote:
    """A draft quote with the deal's line items copied, numbered Q-<year>-<nnnn>."""
    require(actor is None or can_edit(actor))
    errors = Errors()
    day = _clean_valid_until(errors, valid_until)
    items = list(deal.line_items.select_related("product").order_by("position", "id"))
    if not items:
        errors.add("line_items", _("This deal has no line items yet; add products or items to the deal first, "
                                   "then make the quote."))
    _check_recipient(errors, deal, contact)
    errors.raise_if_any()
    lines = [QuoteLine(name=item.name, sku=item.product.sku if item.product else "", quantity=item.quantity,
                       unit_price=item.unit_price, discount_percent=item.discount_percent, amount=item.amount,
                       position=n) for n, item in enumerate(items)]
    subtotal, discount_total, total = totals(lines)
    quote = Quote.objects.create(  # type: ignore[misc]
        number=_next_number(timezone.localdate().year), deal=deal, contact=contact, currency=deal.currency,
        valid_until=day, terms=str(terms or "").strip()[:10000], subtotal=subtotal,
        discount_total=discount_total, total=total, created_by=_user(actor),
    )
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)
    audit.record(AuditAction.CREATE, actor=actor, obj=quote, changes={
        **audit.snapshot(quote, QUOTE_AUDITED), "deal": deal.name, "lines": len(lines)})
    emit("quote.created", subject=quote, actor=actor, payload=_payload(quote), **_timelines(quote))
    return quote


@transaction.atomic
def delete_quote(*, actor: Any, quote: Quote) -> None:
    """Delete a draft. A sent or decided quote is a record of what the customer saw, so it stays.

    When the draft holds its year's latest number, the number is given back so the sequence stays gap-free."""
    require(actor is None or can_edit(actor) or can_delete(actor))
    if quote.status != QuoteStatus.DRAFT:
        raise ValidationError({"status": [_("Only a draft can be deleted; this quote was already sent.")]})
    year = quote.number.split("-")[1] if quote.number.count("-") == 2 else ""
    key = f"quote-{year}"
    counter = Counter.objects.select_for_update().filter(key=key).first()
    if counter is not None and quote.number == f"Q-{year}-{counter.value:04d}":
        Counter.objects.filter(pk=counter.pk).update(value=F("value") - 1)
    audit.record(AuditAction.DELETE, actor=actor, obj=quote, changes=audit.snapshot(quote, QUOTE_AUDITED))
    emit("quote.deleted", subject=quote, actor=actor, payload=_payload(quote), **_timelines(quote))
    quote.delete()


def _email_body(quote: Quote, contact: Contact, message: str) -> str:
    greeting = _("Hello %(name)s,") % {"name": contact.first_name or contact}
    intro = message.strip() or _(
        "Please find attached our quote %(number)s for %(deal)s, valid until %(day)s.") % {
        "number": quote.number, "deal": quote.deal.name, "day": quote.valid_until.isoformat()}
    total = _("Total: %(total)s %(currency)s") % {"total": f"{quote.total:,.2f}", "currency": quote.currency}
    return f"{greeting}\n\n{intro}\n\n{total}\n\n{company_name()}\n"


def send_quote(*, actor: Any, quote: Quote, contact: Contact | None = None, message: str = "") -> Quote:
    """Email the quote's PDF to ``contact`` (or its recipient) over SMTP; the quote becomes sent.

    The mail goes out before the status changes: if the server refuses it, nothing is recorded as sent."""
    from .pdf import render_quote_pdf

    require(actor is None or can_edit(actor))
    errors = Errors()
    contact = contact or quote.contact
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
        errors.add("status", _("This quote was already %(status)s; it cannot be sent again.")
                   % {"status": quote.get_status_display().lower()})
    if contact is None:
        errors.add("contact", _("Choose who receives the quote."))
    else:
        _check_recipient(errors, quote.deal, contact)
        if not contact.email:
            errors.add("contact", _("%(name)s has no email address.") % {"name": contact})
        elif contact.do_not_contact:
            errors.add("contact", _("%(name)s asked not to be contacted.") % {"name": contact})
    if quote.valid_until < timezone.localdate():
        errors.add("valid_until", _("This quote expired on %(day)s; make a new one from the deal.")
                   % {"day": quote.valid_until.isoformat()})
    errors.raise_if_any()
    assert contact is not None
    if contact.pk != quote.contact_id:
        quote.contact = contact
    pdf = render_quote_pdf(quote)
    email = EmailMessage(
        subject=_("Quote %(number)s from %(company)s") % {"number": quote.number, "company": company_name()},
        body=_email_body(quote, contact, message),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
        reply_to=[actor.email] if getattr(actor, "email", "") else None,
    )
    email.attach(f"{quote.number}.pdf", pdf, "application/pdf")
    try:
        email.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise ValidationError({"email": [_("The mail server did not accept the message (%(error)s); the quote "
                                           "was not sent.") % {"error": exc}]}) from exc
    return _mark_sent(actor, quote, contact)


@transaction.atomic
def _mark_sent(actor: Any, quote: Quote, contact: Contact) -> Quote:
    before = audit.snapshot(quote, QUOTE_AUDITED)
    quote.contact = contact
    quote.status = QuoteStatus.SENT
    quote.sent_at = timezone.now()
    quote.save(update_fields=["contact", "status", "sent_at", "updated_at"])
    audit.record(AuditAction.UPDATE, actor=actor, obj=quote, changes=audit.diff(before, audit.snapshot(
        quote, QUOTE_AUDITED)))
    emit("quote.sent", subject=quote, actor=actor, payload=_payload(quote, to=contact.email, contact=str(contact)),
         **_timelines(quote))
    deal_services.touch_deal(quote.deal)
    return quote


@transaction.atomic
def decide_quote(*, actor: Any, quote: Quote, decision: str, move_deal: bool = False,
                 lost_reason: LostReason | None = None) -> Quote:
    """Mark the quote accepted or declined; optionally move its deal to the pipeline's won / lost stage."""
    require(actor is None or can_edit(actor))
    errors = Errors()
    if decision not in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        errors.add("decision", _("“%(value)s” is not a decision; use accepted or declined.") % {"value": decision})
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        errors.add("status", _("This quote was already %(status)s.") % {"status": quote.get_status_display().lower()})
    stage = None
    if move_deal and decision in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        kind = StageKind.WON if decision == QuoteStatus.ACCEPTED else StageKind.LOST
        stage = quote.deal.pipeline.stages.filter(kind=kind).order_by("position", "id").first()
        if stage is None:
            errors.add("move_deal", _("The pipeline %(pipeline)s has no %(kind)s stage.")
                       % {"pipeline": quote.deal.pipeline, "kind": StageKind(kind).label.lower()})
    errors.raise_if_any()
    before = audit.snapshot(quote, QUOTE_AUDITED)
    quote.status = decision
    quote.decided_at = timezone.now()
    quote.save(update_fields=["status", "decided_at", "updated_at"])
    audit.record(AuditAction.UPDATE, actor=actor, obj=quote, changes=audit.diff(before, audit.snapshot(
        quote, QUOTE_AUDITED)))
    emit(f"quote.{decision}", subject=quote, actor=actor, payload=_payload(quote), **_timelines(quote))
    if stage is not None:
        deal_services.move_deal(actor=actor, deal=quote.deal, stage=stage,
                                lost_reason=lost_reason if stage.kind == StageKind.LOST else None)
    return quote
