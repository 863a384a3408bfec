"""Quotes: gap-free numbering per year, totals, the PDF, sending by SMTP, accept/decline moving the deal,
bad input, and permissions on every URL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amity.core.models import AuditEntry, Counter, Event
from amity.sales import product_services, quote_selectors, quote_services, services
from amity.sales.models import LostReason, Pipeline, Quote, QuoteStatus
from amity.sales.pdf import has_cjk, render_quote_pdf
from amity.testing import make_company, make_contact, make_user

pytestmark = pytest.mark.django_db

def today():
    return timezone.localdate()


def in_days(n):
    return today() + dt.timedelta(days=n)


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def buyer():
    company = make_company(name="Acme")
    return make_contact(first_name="Bea", last_name="Buyer", company=company, emails=["bea@acme.example"])


def make_deal(owner, contact, items=True, **data):
    pipeline = Pipeline.objects.get(is_default=True)
    deal = services.create_deal(actor=None, data={
        "name": "Acme renewal", "pipeline": pipeline, "currency": "USD", "company": contact.company,
        "contacts": [contact], "owner": owner, **data})
    if items:
        seat = product_services.create_product(actor=None, data={"sku": f"SEAT-{deal.pk}", "name": "Seat licence",
                                                                 "prices": {"USD": "100"}})
        services.set_line_items(actor=None, deal=deal, items=[
            {"product": seat, "name": "Seat licence", "quantity": "3", "unit_price": "100", "discount_percent": "10"},
            {"name": "Onboarding", "quantity": "1", "unit_price": "250.50"},
        ])
    return deal


@pytest.fixture
def deal(sales_user, buyer):
    return make_deal(sales_user, buyer)


def quote_for(deal, contact=None, **kwargs):
    kwargs.setdefault("valid_until", in_days(30))
    return quote_services.create_quote(actor=None, deal=deal, contact=contact, terms=kwargs.pop("terms", "Net 30"),
                                       **kwargs)


# --- numbering and totals -----------------------------------------------------------------------------------------

def test_numbers_are_sequential_per_year_and_a_failed_create_leaves_no_gap(deal, buyer, sales_user):
    year = today().year
    first = quote_for(deal, buyer)
    empty = make_deal(sales_user, buyer, items=False)
    with pytest.raises(ValidationError):
        quote_for(empty, buyer)
    second = quote_for(deal, buyer)
    assert (first.number, second.number) == (f"Q-{year}-0001", f"Q-{year}-0002")
    assert Counter.objects.get(key=f"quote-{year}").value == 2


def test_a_new_year_starts_again_at_one(deal, buyer, monkeypatch):
    this_year = quote_for(deal, buyer)
    next_new_year = dt.date(today().year + 1, 1, 2)
    monkeypatch.setattr(quote_services.timezone, "localdate", lambda *a, **k: next_new_year)
    next_year = quote_for(deal, buyer, valid_until=next_new_year + dt.timedelta(days=10))
    assert this_year.number.endswith("-0001")
    assert next_year.number == f"Q-{next_new_year.year}-0001"


def test_deleting_the_latest_draft_gives_its_number_back(deal, buyer):
    quote_for(deal, buyer)
    draft = quote_for(deal, buyer)
    quote_services.delete_quote(actor=None, quote=draft)
    again = quote_for(deal, buyer)
    assert again.number == draft.number
    assert AuditEntry.objects.filter(object_type="quote", action="delete", object_repr=draft.number).exists()


def test_lines_are_copied_with_totals_and_the_deal_currency(deal, buyer, admin_user):
    quote = quote_services.create_quote(actor=admin_user, deal=deal, contact=buyer, valid_until=in_days(14),
                                        terms="Net 30")
    lines = list(quote.lines.all())
    assert [(line.name, line.sku, line.amount) for line in lines] == [
        ("Seat licence", f"SEAT-{deal.pk}", Decimal("270.00")), ("Onboarding", "", Decimal("250.50"))]
    assert quote.subtotal == Decimal("550.50")
    assert quote.discount_total == Decimal("30.00")
    assert quote.total == Decimal("520.50")
    assert quote.currency == "USD" and quote.status == QuoteStatus.DRAFT and quote.created_by == admin_user
    # Later edits to the deal never change the quote.
    services.set_line_items(actor=None, deal=deal, items=[{"name": "Other", "quantity": "1", "unit_price": "1"}])
    quote.refresh_from_db()
    assert quote.total == Decimal("520.50") and quote.lines.count() == 2
    assert Event.objects.filter(type="quote.created", deal_id=deal.pk).exists()


@pytest.mark.parametrize(("kwargs", "field", "reason"), [
    ({"valid_until": dt.date(2020, 1, 1)}, "valid_until", "in the past"),
    ({"valid_until": "31/12/2030"}, "valid_until", "not a date"),
    ({"valid_until": ""}, "valid_until", "until when"),
])
def test_bad_validity_dates_are_refused_by_field(deal, buyer, kwargs, field, reason):
    with pytest.raises(ValidationError) as exc:
        quote_services.create_quote(actor=None, deal=deal, contact=buyer, terms="", **kwargs)
    assert reason in exc.value.message_dict[field][0]
    assert not Quote.objects.exists() and not Counter.objects.exists()


def test_a_deal_without_line_items_is_refused_with_a_clear_message(sales_user, buyer):
    empty = make_deal(sales_user, buyer, items=False)
    with pytest.raises(ValidationError) as exc:
        quote_for(empty, buyer)
    assert "no line items" in exc.value.message_dict["line_items"][0]


def test_the_recipient_must_belong_to_the_deal(deal):
    stranger = make_contact(first_name="Stranger")
    with pytest.raises(ValidationError) as exc:
        quote_for(deal, stranger)
    assert "not a contact of this deal" in exc.value.message_dict["contact"][0]


# --- PDF -------------------------------------------------------------------------------------------------------------

def test_the_pdf_is_a_pdf_with_the_number_totals_and_terms(deal, buyer):
    quote = quote_for(deal, buyer, terms="Payment within 30 days")
    data = render_quote_pdf(quote, compress=False)
    assert data.startswith(b"%PDF-")
    assert f"({quote.number}) Tj".encode() in data  # drawn as text in an uncompressed content stream
    assert b"520.50 USD" in data and b"Payment within 30 days" in data
    compressed = render_quote_pdf(quote)
    assert compressed.startswith(b"%PDF-") and len(compressed) < len(data)


def test_the_pdf_renders_chinese_names_with_the_cid_font(sales_user):
    company = make_company(name="上海示例有限公司")
    contact = make_contact(first_name="小明", last_name="王", company=company, emails=["wang@example.cn"])
    deal = make_deal(sales_user, contact, name="年度续约")
    quote = quote_for(deal, contact, terms="付款期限：30天")
    assert has_cjk(str(contact)) and not has_cjk("Seat licence")
    data = render_quote_pdf(quote, compress=False)
    assert data.startswith(b"%PDF-") and b"/STSong-Light" in data


def test_the_pdf_url_serves_inline_for_preview_and_as_a_download(deal, buyer, sales_client):
    quote = quote_for(deal, buyer)
    response = sales_client.get(reverse("quotes:pdf", args=[quote.uuid]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{quote.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    # The quote page frames it, so this one response may be framed by the same origin.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    download = sales_client.get(reverse("quotes:pdf", args=[quote.uuid]), {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment;")


# --- the quote page ------------------------------------------------------------------------------------------------

def test_create_from_the_deal_then_the_page_shows_lines_status_and_the_preview(deal, buyer, sales_client):
    response = sales_client.post(reverse("quotes:create", args=[deal.uuid]), {
        "valid_until": in_days(20).isoformat(), "terms": "<script>alert(1)</script>", "contact": str(buyer.uuid)})
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("quotes:detail", args=[quote.uuid])
    page = sales_client.get(response["Location"]).content.decode()
    assert quote.number in page and "Onboarding" in page and "520.50" in page
    assert f'data="{reverse("quotes:pdf", args=[quote.uuid])}' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_the_create_form_explains_bad_input_by_field(deal, buyer, sales_client):
    response = sales_client.post(reverse("quotes:create", args=[deal.uuid]), {
        "valid_until": "2020-01-01", "contact": str(buyer.uuid)})
    assert response.status_code == 400
    assert "The validity date is in the past" in response.content.decode()
    assert not Quote.objects.exists()
    assert sales_client.get(reverse("quotes:create", args=[deal.uuid])).status_code == 200


def test_quotes_of_deal_lists_newest_first(deal, buyer, sales_user):
    first, second = quote_for(deal, buyer), quote_for(deal, buyer)
    assert quote_selectors.quotes_of_deal(user=sales_user, deal=deal) == [second, first]


# --- sending -------------------------------------------------------------------------------------------------------

def test_send_emails_the_pdf_over_smtp_and_marks_the_quote_sent(deal, buyer, sales_client, sales_user, smtp_server):
    quote = quote_for(deal)
    response = sales_client.post(reverse("quotes:send", args=[quote.uuid]),
                                 {"contact": str(buyer.uuid), "message": "Here it is."})
    assert response.status_code == 302
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "bea@acme.example" and quote.number in message["Subject"]
    attachments = [part for part in message.walk() if part.get_filename()]
    assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
        ("application/pdf", f"{quote.number}.pdf")]
    assert attachments[0].get_payload(decode=True).startswith(b"%PDF")
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"Here it is." in body
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None and quote.contact == buyer
    event = Event.objects.get(type="quote.sent")
    assert (event.deal_id, event.company_id, event.contact_id) == (deal.pk, deal.company_id, buyer.pk)
    assert AuditEntry.objects.filter(object_type="quote", action="update", actor=sales_user).exists()


def test_a_failed_send_changes_nothing(deal, buyer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    quote = quote_for(deal, buyer)
    with pytest.raises(ValidationError) as exc:
        quote_services.send_quote(actor=None, quote=quote)
    assert "was not sent" in exc.value.message_dict["email"][0]
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT and not Event.objects.filter(type="quote.sent").exists()


def test_a_contact_without_email_cannot_receive_it(deal, sales_user):
    nobody = make_contact(first_name="No", last_name="Mail", company=deal.company)
    quote = quote_for(deal)
    with pytest.raises(ValidationError) as exc:
        quote_services.send_quote(actor=sales_user, quote=quote, contact=nobody)
    assert "no email address" in exc.value.message_dict["contact"][0]


def test_a_sent_quote_cannot_be_deleted(deal, buyer, smtp_server, sales_client):
    quote = quote_for(deal, buyer)
    quote_services.send_quote(actor=None, quote=quote)
    response = sales_client.post(reverse("quotes:delete", args=[quote.uuid]))
    assert response.status_code == 302
    assert Quote.objects.filter(pk=quote.pk).exists()
    with pytest.raises(ValidationError) as exc:
        quote_services.delete_quote(actor=None, quote=quote)
    assert "Only a draft" in exc.value.message_dict["status"][0]


def test_a_draft_can_be_deleted_from_its_page(deal, buyer, sales_client):
    quote = quote_for(deal, buyer)
    response = sales_client.post(reverse("quotes:delete", args=[quote.uuid]))
    assert response.status_code == 302 and not Quote.objects.exists()


# --- accept / decline ----------------------------------------------------------------------------------------------

def test_accept_moves_the_deal_to_won_when_asked(deal, buyer, sales_client, smtp_server):
    quote = quote_for(deal, buyer)
    quote_services.send_quote(actor=None, quote=quote)
    sales_client.post(reverse("quotes:decide", args=[quote.uuid]), {"decision": "accepted", "move_deal": "on"})
    quote.refresh_from_db()
    deal.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED and quote.decided_at is not None
    assert deal.stage.kind == "won" and deal.stage.name == "Won"
    assert Event.objects.filter(type="quote.accepted", deal_id=deal.pk, contact_id=buyer.pk).exists()
    assert Event.objects.filter(type="deal.won", deal_id=deal.pk).exists()


def test_accept_without_moving_leaves_the_deal_where_it_is(deal, buyer, sales_user):
    quote = quote_for(deal, buyer)
    quote_services.decide_quote(actor=sales_user, quote=quote, decision="accepted")
    deal.refresh_from_db()
    assert deal.stage.name == "Qualified"


def test_decline_moves_the_deal_to_lost_with_an_optional_reason(deal, buyer, sales_client, sales_user):
    quote = quote_for(deal, buyer)
    reason = LostReason.objects.get(name="Price")
    sales_client.post(reverse("quotes:decide", args=[quote.uuid]),
                      {"decision": "declined", "move_deal": "on", "lost_reason": str(reason.pk)})
    deal.refresh_from_db()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DECLINED
    assert deal.stage.kind == "lost" and deal.lost_reason == reason
    assert Event.objects.filter(type="quote.declined", deal_id=deal.pk).exists()
    other = make_deal(sales_user, buyer, name="No reason")
    quote_services.decide_quote(actor=sales_user, quote=quote_for(other, buyer), decision="declined", move_deal=True)
    other.refresh_from_db()
    assert other.stage.kind == "lost" and other.lost_reason is None


def test_a_decided_quote_cannot_be_decided_again_or_sent(deal, buyer):
    quote = quote_for(deal, buyer)
    quote_services.decide_quote(actor=None, quote=quote, decision="accepted")
    with pytest.raises(ValidationError) as exc:
        quote_services.decide_quote(actor=None, quote=quote, decision="declined")
    assert "already accepted" in exc.value.message_dict["status"][0]
    with pytest.raises(ValidationError) as exc:
        quote_services.send_quote(actor=None, quote=quote)
    assert "cannot be sent" in exc.value.message_dict["status"][0]
    with pytest.raises(ValidationError) as exc:
        quote_services.decide_quote(actor=None, quote=quote_for(deal, buyer), decision="maybe")
    assert "not a decision" in exc.value.message_dict["decision"][0]


# --- permissions -----------------------------------------------------------------------------------------------------

def test_another_teams_deal_and_quote_answer_404_on_every_url(buyer, other_team, sales_client, sales_user):
    stranger = make_user("sales", team=other_team)
    theirs = make_deal(stranger, buyer, name="Their deal")
    quote = quote_for(theirs, buyer)
    assert sales_client.get(reverse("quotes:create", args=[theirs.uuid])).status_code == 404
    assert sales_client.post(reverse("quotes:create", args=[theirs.uuid]),
                             {"valid_until": in_days(5).isoformat()}).status_code == 404
    for name in ("detail", "pdf"):
        assert sales_client.get(reverse(f"quotes:{name}", args=[quote.uuid])).status_code == 404
    for name, data in (("send", {"contact": str(buyer.uuid)}), ("decide", {"decision": "accepted"}),
                       ("delete", {})):
        assert sales_client.post(reverse(f"quotes:{name}", args=[quote.uuid]), data).status_code == 404
    assert quote_selectors.quotes_of_deal(user=sales_user, deal=theirs) == []
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT and Quote.objects.count() == 1


def test_readonly_sees_quotes_but_every_write_is_403(deal, buyer):
    quote = quote_for(deal, buyer)
    client = Client()
    client.force_login(make_user("readonly"))
    assert client.get(reverse("quotes:detail", args=[quote.uuid])).status_code == 200
    assert client.get(reverse("quotes:pdf", args=[quote.uuid])).status_code == 200
    assert client.post(reverse("quotes:create", args=[deal.uuid]),
                       {"valid_until": in_days(5).isoformat()}).status_code == 403
    for name, data in (("send", {"contact": str(buyer.uuid)}), ("decide", {"decision": "accepted"}),
                       ("delete", {})):
        assert client.post(reverse(f"quotes:{name}", args=[quote.uuid]), data).status_code == 403
    assert Quote.objects.count() == 1 and Quote.objects.get().status == QuoteStatus.DRAFT


def test_the_quote_page_costs_a_fixed_number_of_queries(deal, buyer, sales_client, django_assert_max_num_queries):
    quote = quote_for(deal, buyer)
    with django_assert_max_num_queries(14):
        assert sales_client.get(reverse("quotes:detail", args=[quote.uuid])).status_code == 200


def test_the_deal_card_lists_quotes_and_offers_a_new_one(deal, buyer, sales_user, rf):
    from django.template.loader import render_to_string

    from amity.sales.selectors import get_deal

    quote = quote_for(deal, buyer)
    visible = get_deal(user=sales_user, uuid=deal.uuid)
    html = render_to_string("sales/quotes/_deal_quotes.html", {
        "deal": visible, "quotes": quote_selectors.quotes_of_deal(user=sales_user, deal=visible), "can_edit": True})
    assert quote.number in html and "520.50 USD" in html
    assert reverse("quotes:detail", args=[quote.uuid]) in html
    assert reverse("quotes:create", args=[deal.uuid]) in html
