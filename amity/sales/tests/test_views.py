"""Deal pages: the board (totals, moves, permissions), the list and export, the deal page, the form and the
pipeline and currency settings."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amity.accounts.models import Role
from amity.core.models import AuditEntry, ExchangeRate
from amity.sales import services
from amity.sales.models import Deal, LostReason, Pipeline
from amity.testing import make_company, make_contact, make_user

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pipeline():
    return Pipeline.objects.get(is_default=True)


def stage(pipeline, name):
    return pipeline.stages.get(name=name)


def deal(actor, pipeline, name="Deal", amount="1000", stage_name=None, **data):
    created = services.create_deal(actor=actor, data={"name": name, "pipeline": pipeline, "amount": amount,
                                                      "currency": "USD", **data})
    if stage_name:
        services.move_deal(actor=actor, deal=created, stage=stage(pipeline, stage_name))
    return created


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def column(response, stage_name):
    columns = response.context["open_columns"] + response.context["closed_columns"]
    return next(c for c in columns if c.stage.name == stage_name)


@pytest.fixture
def outsider(other_team):
    return make_user("sales", team=other_team, full_name="Olga Other")


@pytest.fixture
def hidden_deal(outsider, pipeline):
    """A deal owned by someone in another team: the sales user must not learn it exists."""
    return deal(outsider, pipeline, name="Other team's deal", amount="777")


# --- board -----------------------------------------------------------------------------------------------------

def test_board_shows_each_stage_with_count_total_and_weighted_total(admin_client, admin_user, pipeline):
    deal(admin_user, pipeline, name="Small", amount="1000")
    deal(admin_user, pipeline, name="Big", amount="2500.50")
    deal(admin_user, pipeline, name="Late", amount="4000", stage_name="Proposal")
    response = admin_client.get(reverse("sales:board"))
    assert response.status_code == 200
    qualified = column(response, "Qualified")
    assert (qualified.count, qualified.total, qualified.weighted) == (2, Decimal("3500.50"), Decimal("350.05"))
    assert [d.name for d in qualified.deals] == ["Big", "Small"]  # by value
    assert column(response, "Proposal").count == 1
    assert [c.stage.name for c in response.context["open_columns"]] == [
        "Qualified", "Needs analysis", "Proposal", "Negotiation"]
    assert [c.stage.name for c in response.context["closed_columns"]] == ["Won", "Lost"]
    html = response.content.decode()
    assert "USD 3,501" in html and "Big" in html and 'draggable="true"' in html


def test_board_query_count_does_not_grow_with_deals(admin_client, admin_user, pipeline):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(reverse("sales:board")).status_code == 200
        return len(ctx.captured_queries)

    company = make_company(name="Acme")
    for i in range(5):
        deal(admin_user, pipeline, name=f"D{i}", company=company, expected_close_date="2026-01-01")
    few = queries()
    for i in range(35):
        deal(admin_user, pipeline, name=f"E{i}", company=company, expected_close_date="2026-01-01")
    assert queries() == few


def test_board_shows_the_first_50_and_links_the_rest(admin_client, admin_user, pipeline):
    stage_uuid = stage(pipeline, "Qualified").uuid
    Deal.objects.bulk_create([Deal(name=f"Bulk {i}", pipeline=pipeline, stage_id=stage(pipeline, "Qualified").pk,
                                   amount=i, amount_base=i, currency="USD", probability=10,
                                   stage_entered_at="2026-01-01T00:00Z") for i in range(53)])
    response = admin_client.get(reverse("sales:board"))
    qualified = column(response, "Qualified")
    assert len(qualified.deals) == 50 and qualified.more == 3
    assert f"stage={stage_uuid}" in qualified.more_url
    assert "+3 more" in response.content.decode()


def test_board_filters_by_owner_me_month_and_tag(sales_client, sales_user, admin_user, pipeline):
    deal(sales_user, pipeline, name="Mine in March", expected_close_date="2026-03-10", tags="vip")
    deal(sales_user, pipeline, name="Mine in April", expected_close_date="2026-04-10")
    deal(admin_user, pipeline, name="Unassigned", owner=None, expected_close_date="2026-03-11", tags="vip")

    def names(**params):
        response = sales_client.get(reverse("sales:board"), params)
        return sorted(d.name for c in response.context["open_columns"] for d in c.deals)

    assert names(owner="me") == ["Mine in April", "Mine in March"]
    assert names(close_month="2026-03") == ["Mine in March", "Unassigned"]
    assert names(tag="VIP") == ["Mine in March", "Unassigned"]
    response = sales_client.get(reverse("sales:board"), {"close_month": "March"})
    assert response.status_code == 200 and "is not a month" in response.content.decode()


def test_board_of_another_pipeline(admin_client, admin_user):
    other = services.create_pipeline(actor=admin_user, name="Partners", stages=[
        {"name": "Intro", "probability": 20}, {"name": "Signed", "probability": 100, "kind": "won"},
        {"name": "Dropped", "probability": 0, "kind": "lost"}])
    deal(admin_user, other, name="Partner deal")
    response = admin_client.get(reverse("sales:board_pipeline", args=[other.uuid]))
    assert [c.stage.name for c in response.context["open_columns"]] == ["Intro"]
    assert column(response, "Intro").count == 1
    assert "Partners" in response.content.decode()


# --- moving ----------------------------------------------------------------------------------------------------

def test_moving_returns_the_columns_with_updated_totals(admin_client, admin_user, pipeline):
    moved = deal(admin_user, pipeline, name="Moving", amount="1000")
    deal(admin_user, pipeline, name="Staying", amount="300")
    response = admin_client.post(reverse("sales:move"), {
        "deal": moved.uuid, "stage": stage(pipeline, "Proposal").uuid, "filters": ""}, **HTMX)
    assert response.status_code == 200
    assert response.templates[0].name == "sales/_board_columns.html"
    assert column(response, "Qualified").total == Decimal("300")
    assert column(response, "Proposal").total == Decimal("1000")
    assert column(response, "Proposal").weighted == Decimal("500.00")
    moved.refresh_from_db()
    assert moved.stage.name == "Proposal" and moved.probability == 50


def test_moving_keeps_the_boards_filters(admin_client, admin_user, pipeline):
    mine = deal(admin_user, pipeline, name="Mine")
    deal(make_user("sales"), pipeline, name="Theirs")
    response = admin_client.post(reverse("sales:move"), {
        "deal": mine.uuid, "stage": stage(pipeline, "Proposal").uuid, "filters": "owner=me"}, **HTMX)
    assert column(response, "Qualified").count == 0 and column(response, "Proposal").count == 1


def test_moving_into_lost_records_the_reason(admin_client, admin_user, pipeline):
    lost = deal(admin_user, pipeline, name="Gone")
    reason = LostReason.objects.get(name="Price")
    response = admin_client.post(reverse("sales:move"), {
        "deal": lost.uuid, "stage": stage(pipeline, "Lost").uuid, "lost_reason": reason.pk}, **HTMX)
    assert response.status_code == 200
    lost.refresh_from_db()
    assert lost.stage.kind == "lost" and lost.lost_reason == reason


def test_a_plain_form_move_redirects_back_with_a_message(admin_client, admin_user, pipeline):
    moved = deal(admin_user, pipeline)
    detail = reverse("sales:detail", args=[moved.uuid])
    response = admin_client.post(reverse("sales:move"), {
        "deal": moved.uuid, "stage": stage(pipeline, "Won").uuid, "next": detail}, follow=True)
    assert response.redirect_chain[-1][0] == detail
    assert "Moved" in response.content.decode()
    moved.refresh_from_db()
    assert moved.stage.kind == "won"


def test_moving_to_a_stage_of_another_pipeline_is_refused_and_changes_nothing(admin_client, admin_user, pipeline):
    other = services.create_pipeline(actor=admin_user, name="Partners", stages=[
        {"name": "Intro", "probability": 20}, {"name": "Signed", "probability": 100, "kind": "won"},
        {"name": "Dropped", "probability": 0, "kind": "lost"}])
    stuck = deal(admin_user, pipeline, name="Stuck")
    before = AuditEntry.objects.count()
    response = admin_client.post(reverse("sales:move"), {
        "deal": stuck.uuid, "stage": other.stages.get(name="Intro").uuid}, **HTMX)
    assert response.status_code == 400
    assert "stage of another pipeline" in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.stage.name == "Qualified" and stuck.stage_history.count() == 1
    assert AuditEntry.objects.count() == before


def test_readonly_cannot_move(admin_user, pipeline):
    target = deal(admin_user, pipeline)
    reader = client_for(make_user("readonly"))
    response = reader.post(reverse("sales:move"), {"deal": target.uuid, "stage": stage(pipeline, "Won").uuid},
                           **HTMX)
    assert response.status_code == 403
    assert reader.post(reverse("sales:move"), {"deal": target.uuid,
                                               "stage": stage(pipeline, "Won").uuid}).status_code == 403
    target.refresh_from_db()
    assert target.stage.name == "Qualified"
    board = reader.get(reverse("sales:board"))
    assert board.status_code == 200 and 'draggable="true"' not in board.content.decode()


def test_sales_user_sees_and_moves_only_their_teams_deals(sales_client, sales_user, pipeline, hidden_deal):
    own = deal(sales_user, pipeline, name="Team deal")
    response = sales_client.get(reverse("sales:board"))
    names = [d.name for c in response.context["open_columns"] for d in c.deals]
    assert names == ["Team deal"] and "Other team" not in response.content.decode()
    assert column(response, "Qualified").total == own.amount_base

    won = stage(pipeline, "Won").uuid
    assert sales_client.post(reverse("sales:move"), {"deal": hidden_deal.uuid, "stage": won},
                             **HTMX).status_code == 404
    assert sales_client.post(reverse("sales:move"), {"deal": own.uuid, "stage": won}, **HTMX).status_code == 200
    hidden_deal.refresh_from_db()
    assert hidden_deal.stage.name == "Qualified"


@pytest.mark.parametrize("method,name", [
    ("get", "sales:detail"), ("get", "sales:edit"), ("post", "sales:edit"), ("get", "sales:delete"),
    ("post", "sales:delete"), ("post", "sales:line_items"),
])
def test_another_teams_deal_answers_404(sales_client, hidden_deal, method, name):
    response = getattr(sales_client, method)(reverse(name, args=[hidden_deal.uuid]), {"name": "x"})
    assert response.status_code == 404
    assert Deal.objects.filter(pk=hidden_deal.pk, name="Other team's deal").exists()


def test_sales_role_cannot_delete(sales_client, sales_user, pipeline):
    own = deal(sales_user, pipeline)
    assert sales_client.post(reverse("sales:delete", args=[own.uuid])).status_code == 403
    assert Deal.objects.filter(pk=own.pk).exists()


def test_admin_deletes_after_confirming(admin_client, admin_user, pipeline):
    doomed = deal(admin_user, pipeline, name="Doomed")
    assert "Delete Doomed?" in admin_client.get(reverse("sales:delete", args=[doomed.uuid])).content.decode()
    response = admin_client.post(reverse("sales:delete", args=[doomed.uuid]))
    assert response.status_code == 302 and not Deal.objects.filter(pk=doomed.pk).exists()


# --- list and export -------------------------------------------------------------------------------------------

def test_list_filters_by_status_stage_owner_and_tag(sales_client, sales_user, admin_user, pipeline, hidden_deal):
    deal(sales_user, pipeline, name="Won one", stage_name="Won", tags="vip")
    deal(sales_user, pipeline, name="Open one")
    deal(admin_user, pipeline, name="Admin's", owner=None)

    def names(**params):
        response = sales_client.get(reverse("sales:list"), params)
        assert response.status_code == 200
        return sorted(d.name for d in response.context["deals"])

    assert names() == ["Admin's", "Open one", "Won one"]  # never the other team's
    assert names(status="won") == ["Won one"]
    assert names(stage=str(stage(pipeline, "Qualified").uuid)) == ["Admin's", "Open one"]
    assert names(owner="me") == ["Open one", "Won one"]
    assert names(owner="none") == ["Admin's"]
    assert names(tag="vip") == ["Won one"]
    assert names(sort="name") == ["Admin's", "Open one", "Won one"]
    bad = sales_client.get(reverse("sales:list"), {"status": "maybe", "sort": "nonsense"})
    assert bad.status_code == 200 and "not one of the choices" in bad.content.decode()


def test_list_pages_with_a_cursor(admin_client, admin_user, pipeline):
    for i in range(4):
        deal(admin_user, pipeline, name=f"Deal {i}")
    first = admin_client.get(reverse("sales:list"), {"sort": "name", "limit": 2})
    assert first.context["next_query"]
    # the page size is the selector's default; walk with the cursor it gave
    response = admin_client.get(reverse("sales:list") + "?" + first.context["next_query"])
    assert response.status_code == 200


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_export_is_formula_safe_audited_and_only_visible_deals(admin_user, sales_user, pipeline, hidden_deal):
    exporter_role = Role.objects.create(key="team-export", name="Team exporter", visibility="team",
                                        can_edit=True, can_export=True)
    sales_user.role = exporter_role
    sales_user.save()
    deal(sales_user, pipeline, name="=HYPERLINK(\"http://evil\")", amount="12.50")
    response = client_for(sales_user).get(reverse("sales:export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _rows(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["uuid", "name", "pipeline", "stage"]
    assert [r[1] for r in body] == ["'=HYPERLINK(\"http://evil\")"]
    assert body[0][header.index("amount")] == "12.50"
    entry = AuditEntry.objects.filter(action="export", object_type="deal").latest("at")
    assert entry.changes["rows"] == 1


def test_export_needs_the_export_right(sales_client):
    assert sales_client.get(reverse("sales:export")).status_code == 403


def test_export_with_a_bad_filter_explains_and_exports_nothing(admin_client):
    response = admin_client.get(reverse("sales:export"), {"close_month": "soon"}, follow=True)
    assert "Nothing was exported" in response.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


# --- deal page -------------------------------------------------------------------------------------------------

def test_deal_page_shows_header_stage_bar_time_in_stage_and_timeline(admin_client, admin_user, pipeline):
    company = make_company(name="Acme")
    buyer = make_contact(first_name="Bea", last_name="Buyer", company=company)
    shown = deal(admin_user, pipeline, name="Acme renewal", amount="1200", company=company, contacts=[buyer],
                 stage_name="Proposal", tags="vip")
    response = admin_client.get(reverse("sales:detail", args=[shown.uuid]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme renewal" in html and "Bea Buyer" in html and "vip" in html
    steps = {s["stage"].name: s["state"] for s in response.context["progress"]}
    assert steps["Qualified"] == "done" and steps["Proposal"] == "current" and steps["Negotiation"] == "ahead"
    assert [r["stage"].name for r in response.context["stage_times"]] == ["Qualified", "Proposal"]
    assert "Deal moved" in html and "Deal created" in html


def test_deal_page_escapes_user_text(admin_client, admin_user, pipeline):
    shown = deal(admin_user, pipeline, name="<script>alert(1)</script>")
    html = admin_client.get(reverse("sales:detail", args=[shown.uuid])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_line_items_set_the_amount(admin_client, admin_user, pipeline):
    target = deal(admin_user, pipeline, amount="0")
    response = admin_client.post(reverse("sales:line_items", args=[target.uuid]), {
        "li_product": ["", "", ""], "li_name": ["Licences", "Setup", ""], "li_quantity": ["10", "1", ""],
        "li_unit_price": ["100", "500", ""], "li_discount": ["10", "", ""]})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.amount == Decimal("1400.00")
    assert [li.name for li in target.line_items.all()] == ["Licences", "Setup"]


def test_a_negative_quantity_is_shown_on_its_row_and_nothing_is_saved(admin_client, admin_user, pipeline):
    target = deal(admin_user, pipeline, amount="50")
    response = admin_client.post(reverse("sales:line_items", args=[target.uuid]), {
        "li_product": ["", "", ""], "li_name": ["", "Good", "Bad"], "li_quantity": ["", "1", "-2"],
        "li_unit_price": ["", "10", "10"], "li_discount": ["", "", ""]})
    assert response.status_code == 400
    rows = response.context["line_rows"]
    assert rows[2]["errors"] == {"quantity": "This cannot be negative."} and rows[1]["errors"] == {}
    assert "This cannot be negative." in response.content.decode()
    target.refresh_from_db()
    assert target.amount == Decimal("50") and not target.line_items.exists()


def test_readonly_cannot_change_line_items(admin_user, pipeline):
    target = deal(admin_user, pipeline)
    response = client_for(make_user("readonly")).post(reverse("sales:line_items", args=[target.uuid]), {
        "li_name": ["X"], "li_quantity": ["1"], "li_unit_price": ["1"]})
    assert response.status_code == 403 and not target.line_items.exists()


# --- form ------------------------------------------------------------------------------------------------------

def test_new_deal_prefilled_from_a_contact_and_created(admin_client, admin_user, pipeline):
    company = make_company(name="Globex")
    buyer = make_contact(first_name="Hank", last_name="Scorpio", company=company,
                         emails=["hank@globex.example", "h@scorpio.example"])
    form_page = admin_client.get(reverse("sales:create"), {"contact": buyer.uuid})
    form = form_page.context["form"]
    assert form.initial["contact_emails"] == "hank@globex.example" and form.initial["company_name"] == "Globex"
    response = admin_client.post(reverse("sales:create"), {
        "name": "Globex expansion", "pipeline": pipeline.uuid, "stage": "", "amount": "5,000", "currency": "USD",
        "expected_close_date": "2026-06-30", "probability": "", "owner": admin_user.uuid,
        "company_name": "Globex", "contact_emails": "H@Scorpio.example", "tags": "vip, q2"})
    created = Deal.objects.get(name="Globex expansion")
    assert response.status_code == 302 and response["Location"] == reverse("sales:detail", args=[created.uuid])
    assert created.amount == Decimal("5000.00") and created.company == company
    assert list(created.contacts.all()) == [buyer] and created.probability == 10
    assert sorted(t.name for t in created.tags.all()) == ["q2", "vip"]


def test_form_shows_the_services_errors(admin_client, admin_user, pipeline):
    other = services.create_pipeline(actor=admin_user, name="Partners", stages=[
        {"name": "Intro", "probability": 20}, {"name": "Signed", "probability": 100, "kind": "won"},
        {"name": "Dropped", "probability": 0, "kind": "lost"}])
    unknown = admin_client.post(reverse("sales:create"), {"name": "X", "pipeline": pipeline.uuid, "currency": "XYZ"})
    assert unknown.status_code == 400 and "currency" in unknown.context["form"].errors
    response = admin_client.post(reverse("sales:create"), {
        "name": "", "pipeline": pipeline.uuid, "stage": other.stages.get(name="Intro").uuid, "amount": "-5",
        "currency": "USD", "owner": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "stage of another pipeline" in " ".join(errors["stage"])
    assert "name" in errors and "cannot be negative" in " ".join(errors["amount"])
    assert not Deal.objects.exists()


def test_contacts_are_found_by_email_among_visible_ones(sales_client, pipeline, outsider):
    make_contact(owner=outsider, first_name="Secret", emails=["secret@example.com"])
    response = sales_client.post(reverse("sales:create"), {
        "name": "Hidden buyer", "pipeline": pipeline.uuid, "currency": "USD",
        "contact_emails": "secret@example.com, not-an-email"})
    assert response.status_code == 400
    message = " ".join(response.context["form"].errors["contact_emails"])
    assert "secret@example.com" in message and "not-an-email" in message
    assert not Deal.objects.exists()


def test_form_reports_bad_dates_amounts_and_probabilities(admin_client, pipeline):
    response = admin_client.post(reverse("sales:create"), {
        "name": "Odd", "pipeline": pipeline.uuid, "amount": "lots", "currency": "USD",
        "expected_close_date": "31/12/2026", "probability": "150", "owner": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"amount", "expected_close_date", "probability"}


def test_edit_keeps_the_pipeline_and_moves_within_it(admin_client, admin_user, pipeline):
    target = deal(admin_user, pipeline, name="Editable")
    page = admin_client.get(reverse("sales:edit", args=[target.uuid]))
    assert page.context["form"].initial["name"] == "Editable"
    response = admin_client.post(reverse("sales:edit", args=[target.uuid]), {
        "name": "Edited", "pipeline": pipeline.uuid, "stage": stage(pipeline, "Negotiation").uuid,
        "amount": "10", "currency": "USD", "owner": admin_user.uuid, "probability": "80"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.name == "Edited" and target.stage.name == "Negotiation"


def test_readonly_cannot_open_the_form(admin_user, pipeline):
    reader = client_for(make_user("readonly"))
    assert reader.get(reverse("sales:create")).status_code == 403
    target = deal(admin_user, pipeline)
    assert reader.get(reverse("sales:edit", args=[target.uuid])).status_code == 403


def test_contact_and_company_pages_show_their_deals(admin_client, admin_user, pipeline):
    company = make_company(name="Initech")
    buyer = make_contact(first_name="Bill", last_name="Lumbergh", company=company)
    deal(admin_user, pipeline, name="TPS reports", company=company, contacts=[buyer])
    for url in (reverse("contacts:detail", args=[buyer.uuid]),
                reverse("contacts:company_detail", args=[company.uuid])):
        html = admin_client.get(url).content.decode()
        assert "TPS reports" in html and reverse("sales:create") in html


# --- settings --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sales:pipelines", "sales:rates"])
def test_settings_are_for_admins(sales_client, name):
    assert sales_client.get(reverse(name)).status_code == 403
    assert sales_client.post(reverse(name), {"name": "X", "currency": "EUR", "rate": "1"}).status_code == 403


def test_admin_creates_a_pipeline_with_stages(admin_client):
    response = admin_client.post(reverse("sales:pipelines"), {
        "name": "Renewals", "stages": "Due, 30\nAgreed, 100, won\nChurned, 0, lost"})
    assert response.status_code == 302
    created = Pipeline.objects.get(name="Renewals")
    assert [(s.name, s.probability, s.kind) for s in created.stages.all()] == [
        ("Due", 30, "open"), ("Agreed", 100, "won"), ("Churned", 0, "lost")]
    bad = admin_client.post(reverse("sales:pipelines"), {"name": "", "stages": "Only, 10"})
    assert bad.status_code == 400 and "needs at least one open stage" in bad.content.decode()


def test_admin_renames_reorders_and_adds_stages(admin_client, admin_user, pipeline):
    proposal = stage(pipeline, "Proposal")
    admin_client.post(reverse("sales:stage_update", args=[proposal.uuid]), {"name": "Offer", "probability": "55"})
    proposal.refresh_from_db()
    assert (proposal.name, proposal.probability) == ("Offer", 55)
    admin_client.post(reverse("sales:stage_update", args=[proposal.uuid]), {"move": "up"})
    assert [s.name for s in pipeline.stages.order_by("position")][:3] == ["Qualified", "Offer", "Needs analysis"]
    admin_client.post(reverse("sales:stage_add", args=[pipeline.uuid]), {"name": "Legal review", "probability": "85"})
    names = [s.name for s in pipeline.stages.order_by("position")]
    assert names[-3:] == ["Legal review", "Won", "Lost"]
    response = admin_client.post(reverse("sales:stage_update", args=[proposal.uuid]),
                                 {"name": "", "probability": "300"}, follow=True)
    assert "was not changed" in response.content.decode()
    assert AuditEntry.objects.filter(object_type="stage").count() >= 3
    assert sales_cannot_edit_stages(proposal)


def sales_cannot_edit_stages(some_stage) -> bool:
    client = client_for(make_user("sales"))
    return client.post(reverse("sales:stage_update", args=[some_stage.uuid]), {"name": "Hacked"}).status_code == 403


def test_admin_adds_a_dated_rate_and_bad_rates_are_explained(admin_client):
    response = admin_client.post(reverse("sales:rates"), {"currency": "eur", "rate": "1.0825",
                                                           "valid_from": "2026-01-01"})
    assert response.status_code == 302
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("1.0825")
    assert AuditEntry.objects.filter(object_type="exchangerate").exists()
    bad = admin_client.post(reverse("sales:rates"), {"currency": "USD", "rate": "-1", "valid_from": "soon"})
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert "base currency" in errors["currency"][0] and errors["rate"] and errors["valid_from"]
    unknown = admin_client.post(reverse("sales:rates"), {"currency": "XYZ", "rate": "2"})
    assert unknown.status_code == 400 and "ISO 4217" in unknown.content.decode()
    assert ExchangeRate.objects.count() == 1


def test_the_deal_page_has_the_quick_actions_and_a_note_lands_on_its_timeline(admin_client, admin_user, pipeline):
    target = deal(admin_user, pipeline, name="Noted")
    page = admin_client.get(reverse("sales:detail", args=[target.uuid]))
    assert page.context["has_deal_actions"] and 'id="quick-actions"' in page.content.decode()
    response = admin_client.post(reverse("timeline:add_note", args=["deal", target.uuid]),
                                 {"body": "Budget approved"}, follow=True)
    assert response.status_code == 200
    assert "Budget approved" in admin_client.get(reverse("sales:detail", args=[target.uuid])).content.decode()
