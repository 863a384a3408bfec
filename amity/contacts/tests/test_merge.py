"""Merging two contacts: field choices, every related row moving to the kept contact, redirects, audit, access."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amity import testing
from amity.commerce.models import (
    BehaviourEvent,
    Cart,
    CustomerProductStat,
    Order,
    OrderLine,
    ProductViewSummary,
    Visitor,
)
from amity.contacts import dedupe, merge, selectors
from amity.contacts.models import (
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicatePair,
    DuplicateStatus,
    SpecialDate,
)
from amity.core.models import AuditEntry, CustomFieldDefinition, Event, SearchDocument
from amity.sales import quote_services
from amity.sales import services as sales_services
from amity.sales.models import Deal, Pipeline, Product
from amity.timeline import services as timeline_services
from amity.timeline.models import Interaction, Task

pytestmark = pytest.mark.django_db

# Every foreign key to Contact. A new one fails ``test_every_foreign_key_to_contact_is_covered``: give the loser a
# row of the new table in ``rich_pair`` below so the merge test proves it moves.
KNOWN_RELATIONS = {
    "contacts.contact.merged_into", "contacts.contact_tags.contact", "contacts.contactemail.contact",
    "contacts.contactphone.contact", "contacts.specialdate.contact", "contacts.preference.contact",
    "contacts.duplicatepair.contact_a", "contacts.duplicatepair.contact_b",
    "timeline.interaction.contact", "timeline.interaction_attendees.contact", "timeline.task.contact",
    "sales.deal_contacts.contact", "sales.quote.contact",
    "commerce.order.contact", "commerce.cart.contact", "commerce.behaviourevent.contact",
    "commerce.visitor.contact", "commerce.productviewsummary.contact", "commerce.customerproductstat.contact",
}


def _order(contact, product, quantity, total, placed, external_id):
    order = Order.objects.create(source="api", external_id=external_id, contact=contact, currency="USD",
                                 total=Decimal(total), total_base=Decimal(total), placed_at=placed, status="paid")
    OrderLine.objects.create(order=order, product=product, sku=product.sku, name=product.name,
                             quantity=Decimal(quantity), unit_price=Decimal(total) / quantity, total=Decimal(total))
    return order


@pytest.fixture
def rich_pair(admin_user):
    """A kept contact and a duplicate with a row in every table that points at a contact."""
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="text")
    acme = testing.make_company(name="Acme")
    winner = testing.make_contact(first_name="Ada", last_name="Lovelace", emails=["ada@acme.example"],
                                  phones=["+14155550123"], company=acme, job_title="CTO", tags=["vip"],
                                  birthday="1980-05-17", custom={"tier": "gold"})
    loser = testing.make_contact(first_name="Ada", last_name="King-Lovelace", emails=["ada.king@gmail.com",
                                 "ada@home.example"], phones=["+14155550123", "+14155550999"], tags=["vip", "beta"],
                                 birthday="1981-01-02", custom={"tier": "silver"}, street="1 Analytical Way",
                                 city="London", country="GB",
                                 special_dates=[{"kind": "anniversary", "label": "Wedding", "date": "2001-06-01"}])
    other = testing.make_contact(first_name="Someone", last_name="Else")
    from amity.contacts import services as contact_services

    contact_services.add_preference(actor=admin_user, contact=loser, text="oat milk")
    timeline_services.log_interaction(actor=admin_user, kind="call", contact=loser, outcome="connected",
                                      occurred_at=timezone.now() - dt.timedelta(days=2))
    timeline_services.log_interaction(actor=admin_user, kind="meeting", contact=winner, subject="Kick-off",
                                      attendees=[loser, other], occurred_at=timezone.now() - dt.timedelta(days=1))
    timeline_services.create_task(actor=admin_user, title="Send the notes", contact=loser)
    pipeline = Pipeline.objects.get(is_default=True)
    shared = sales_services.create_deal(actor=None, data={"name": "Shared", "pipeline": pipeline, "currency": "USD",
                                                          "contacts": [winner, loser]})
    own = sales_services.create_deal(actor=None, data={"name": "Loser's deal", "pipeline": pipeline,
                                                       "currency": "USD", "contacts": [loser]})
    sales_services.set_line_items(actor=None, deal=own, items=[{"name": "Onboarding", "quantity": "1",
                                                                 "unit_price": "250"}])
    quote_services.create_quote(actor=None, deal=own, contact=loser, valid_until=timezone.localdate())
    boots = Product.objects.create(sku="BOOT", name="Hiking boots")
    now = timezone.now()
    _order(winner, boots, 1, "100.00", now - dt.timedelta(days=30), "w1")
    _order(loser, boots, 2, "150.00", now - dt.timedelta(days=60), "l1")
    _order(loser, boots, 1, "50.00", now - dt.timedelta(days=3), "l2")
    from amity.commerce import facts

    facts.recompute(winner.pk)
    facts.recompute(loser.pk)
    Cart.objects.create(contact=loser, currency="USD", last_activity_at=now)
    BehaviourEvent.objects.create(contact=loser, kind="page_view", occurred_at=now)
    Visitor.objects.create(visitor_id="v-loser", contact=loser, first_seen_at=now, last_seen_at=now)
    week = dt.date(2026, 11, 16)
    ProductViewSummary.objects.create(contact=winner, product=boots, week_start=week, views=2, last_viewed_at=now)
    ProductViewSummary.objects.create(contact=loser, product=boots, week_start=week, views=3,
                                      last_viewed_at=now + dt.timedelta(hours=1))
    ProductViewSummary.objects.create(contact=loser, product=boots, week_start=week - dt.timedelta(days=7), views=1,
                                      last_viewed_at=now - dt.timedelta(days=7))
    dedupe.scan()  # the pair itself, and pairs with the third contact
    lo, hi = sorted((winner.pk, loser.pk))
    DuplicatePair.objects.update_or_create(contact_a_id=lo, contact_b_id=hi,
                                           defaults={"score": 90, "reasons": [], "detected_at": now})
    lo, hi = sorted((loser.pk, other.pk))
    DuplicatePair.objects.create(contact_a_id=lo, contact_b_id=hi, score=70, reasons=[{"code": "phone"}],
                                 detected_at=now)
    return {"winner": winner, "loser": loser, "other": other, "shared": shared, "own": own, "boots": boots,
            "acme": acme}


def test_every_foreign_key_to_contact_is_covered():
    found = {f"{model._meta.label_lower}.{field.name}" for model, field in merge._relations()}
    assert found == KNOWN_RELATIONS, (
        "A table points at Contact that the merge test does not cover: add a row of it to rich_pair and "
        "KNOWN_RELATIONS (the merge moves it generically; unique constraints may need a COMBINERS entry).")


def test_merge_moves_everything_and_applies_the_choices(rich_pair, admin_user):
    winner, loser, other = rich_pair["winner"], rich_pair["loser"], rich_pair["other"]
    loser_events = Event.objects.filter(contact_id=loser.pk).count()
    winner_events = Event.objects.filter(contact_id=winner.pk).count()
    assert loser_events >= 4

    kept = merge.merge_contacts(user=admin_user, winner=winner, loser=loser, field_choices={
        "name": "loser", "custom.tier": "loser", "birthday": "loser", "email": "loser", "address": "loser",
    })

    kept.refresh_from_db()
    loser.refresh_from_db()
    assert kept.pk == winner.pk and loser.merged_into_id == winner.pk
    # Field choices.
    assert (kept.first_name, kept.last_name, kept.display_name) == ("Ada", "King-Lovelace", "Ada King-Lovelace")
    assert kept.custom == {"tier": "silver"}
    assert (kept.street, kept.city, kept.country) == ("1 Analytical Way", "London", "GB")
    assert kept.job_title == "CTO" and kept.company == rich_pair["acme"]  # the loser had none: winner's kept
    birthday = SpecialDate.objects.get(contact=kept, kind="birthday")
    assert (birthday.year, birthday.month, birthday.day) == (1981, 1, 2)
    assert SpecialDate.objects.filter(contact=kept, kind="anniversary", label="Wedding").exists()
    # Emails: all kept, the chosen primary first.
    assert kept.email == "ada.king@gmail.com"
    assert list(ContactEmail.objects.filter(contact=kept).values_list("email", "is_primary")) == [
        ("ada.king@gmail.com", True), ("ada@acme.example", False), ("ada@home.example", False)]
    # Phones deduplicated by value.
    assert sorted(ContactPhone.objects.filter(contact=kept).values_list("number", flat=True)) == [
        "+14155550123", "+14155550999"]
    assert sorted(kept.tags.values_list("name", flat=True)) == ["beta", "vip"]
    # Activity, sales and commerce.
    assert kept.preferences.count() == 1 and Task.objects.filter(contact=kept).count() == 1
    assert Interaction.objects.filter(contact=kept).count() == 2
    meeting = Interaction.objects.get(kind="meeting")
    assert set(meeting.attendees.all()) == {kept, other}
    assert set(Deal.objects.filter(contacts=kept)) == {rich_pair["shared"], rich_pair["own"]}
    assert rich_pair["shared"].contacts.count() == 1
    assert kept.quotes.count() == 1
    assert Order.objects.filter(contact=kept).count() == 3
    assert Cart.objects.filter(contact=kept).count() == 1
    assert BehaviourEvent.objects.filter(contact=kept).count() == 1
    assert Visitor.objects.get(visitor_id="v-loser").contact == kept
    views = {s.week_start: s.views for s in ProductViewSummary.objects.filter(contact=kept)}
    assert views == {dt.date(2026, 11, 16): 5, dt.date(2026, 11, 9): 1}
    assert ProductViewSummary.objects.get(contact=kept, views=5).last_viewed_at > timezone.now()
    stat = CustomerProductStat.objects.get(contact=kept, product=rich_pair["boots"])
    assert (stat.quantity, stat.orders) == (Decimal(4), 3)
    assert (kept.order_count, kept.lifetime_value) == (3, Decimal("300.00"))
    assert kept.first_order_at < kept.last_order_at
    # Nothing is left pointing at the merged contact, except the birthday not chosen, a duplicate phone and the
    # (now merged) pair of the two.
    for model, field in merge._relations():
        left = model._base_manager.filter(**{field.name: loser}).count()
        expected = {("contacts.specialdate", "contact"): 1, ("contacts.contactphone", "contact"): 1,
                    ("contacts.duplicatepair", "contact_b"): 1}.get(
            (model._meta.label_lower, field.name), 0)
        assert left == expected, f"{model._meta.label_lower}.{field.name}: {left} rows left on the merged contact"
    # Timeline: both histories, plus the merge entry.
    assert Event.objects.filter(contact_id=loser.pk).count() == 0
    merged = Event.objects.get(type="contact.merged")
    assert merged.contact_id == kept.pk and merged.payload["name"] == "Ada King-Lovelace"
    assert Event.objects.filter(contact_id=kept.pk).count() == loser_events + winner_events + 1
    # Search: one document, the winner's, with the loser's addresses.
    assert not SearchDocument.objects.filter(kind="contact", obj_id=loser.pk).exists()
    assert "ada@home.example" in SearchDocument.objects.get(kind="contact", obj_id=kept.pk).body
    # Pairs: this one merged; the loser's pair with the third contact moved to the winner.
    lo, hi = sorted((winner.pk, loser.pk))
    pair = DuplicatePair.objects.get(contact_a_id=lo, contact_b_id=hi)
    assert pair.status == DuplicateStatus.MERGED and pair.resolved_by == admin_user
    lo, hi = sorted((winner.pk, other.pk))
    assert DuplicatePair.objects.filter(contact_a_id=lo, contact_b_id=hi, status="open").exists()
    assert not DuplicatePair.objects.filter(status="open", contact_a=loser).exists()
    assert not DuplicatePair.objects.filter(status="open", contact_b=loser).exists()
    # Audit: the loser's snapshot and the choices.
    entry = AuditEntry.objects.get(action="merge")
    assert entry.object_id == kept.pk and entry.actor == admin_user
    assert entry.changes["merged"]["snapshot"]["emails"] == ["ada.king@gmail.com", "ada@home.example"]
    assert entry.changes["fields"]["name"] == "loser" and entry.changes["fields"]["job_title"] == "winner"
    assert entry.changes["moved"]["commerce.order"] == 2


def test_defaults_take_the_non_empty_then_the_newer_value(admin_user):
    winner = testing.make_contact(first_name="Ada", last_name="Lovelace", job_title="")
    loser = testing.make_contact(first_name="Ada", last_name="Lovelace", job_title="Countess", source="Web")
    Contact.objects.filter(pk=winner.pk).update(source="Referral", updated_at=timezone.now() - dt.timedelta(days=1))
    winner.refresh_from_db()
    choices = merge.default_choices(winner, loser)
    assert choices["job_title"] == "loser"  # only the loser has one
    assert choices["source"] == "loser"  # both have one: the more recently updated contact's
    assert choices["name"] == "winner"  # the same on both
    merge.merge_contacts(user=admin_user, winner=winner, loser=loser, field_choices={})
    winner.refresh_from_db()
    assert (winner.job_title, winner.source) == ("Countess", "Web")


@pytest.mark.parametrize("case", ["itself", "into-merged", "from-merged", "unknown-field", "bad-choice"])
def test_bad_merges_are_refused_with_a_reason_and_change_nothing(case, admin_user):
    a = testing.make_contact(first_name="Ada")
    b = testing.make_contact(first_name="Bea")
    c = testing.make_contact(first_name="Cy")
    if case == "into-merged":
        merge.merge_contacts(user=admin_user, winner=c, loser=a)
    if case == "from-merged":
        merge.merge_contacts(user=admin_user, winner=c, loser=b)
    a.refresh_from_db()
    b.refresh_from_db()
    before = AuditEntry.objects.count()
    kwargs = {
        "itself": {"winner": a, "loser": a},
        "into-merged": {"winner": a, "loser": b},
        "from-merged": {"winner": a, "loser": b},
        "unknown-field": {"winner": a, "loser": b, "field_choices": {"shoe_size": "loser"}},
        "bad-choice": {"winner": a, "loser": b, "field_choices": {"name": "both"}},
    }[case]
    with pytest.raises(ValidationError) as caught:
        merge.merge_contacts(user=admin_user, **kwargs)
    field = "fields" if case in {"unknown-field", "bad-choice"} else "other"
    assert list(caught.value.message_dict) == [field]
    assert {"itself": "into itself", "into-merged": "already merged into another contact; merge into that one",
            "from-merged": "already merged", "unknown-field": "is not a field you can choose",
            "bad-choice": "Choose “winner” or “loser”"}[case] in caught.value.message_dict[field][0]
    assert AuditEntry.objects.count() == before
    assert Contact.objects.filter(merged_into__isnull=False).count() == (0 if case in {
        "itself", "unknown-field", "bad-choice"} else 1)


def test_merged_contacts_point_at_the_final_winner(admin_user):
    a, b, c = (testing.make_contact(first_name=n) for n in ("Ann", "Ben", "Cat"))
    merge.merge_contacts(user=admin_user, winner=b, loser=a)
    merge.merge_contacts(user=admin_user, winner=c, loser=b)
    a.refresh_from_db()
    assert a.merged_into_id == c.pk  # re-pointed: no chains
    assert selectors.merged_target(user=admin_user, uuid=a.uuid).pk == c.pk


# --- access --------------------------------------------------------------------------------------------------------

@pytest.fixture
def teams(team, other_team):
    rep = testing.make_user("sales", team=team)
    rival = testing.make_user("sales", team=other_team)
    reader = testing.make_user("readonly", team=team)
    mine = [testing.make_contact(owner=rep, first_name="Ada", last_name="Lovelace"),
            testing.make_contact(owner=rep, first_name="Ada", last_name="Lovelace")]
    theirs = testing.make_contact(owner=rival, first_name="Ada", last_name="Lovelace")
    return {"rep": rep, "reader": reader, "mine": mine, "theirs": theirs}


def test_service_refuses_roles_without_edit_and_hidden_contacts(teams):
    a, b = teams["mine"]
    with pytest.raises(PermissionDenied):
        merge.merge_contacts(user=teams["reader"], winner=a, loser=b)
    with pytest.raises(Http404):
        merge.merge_contacts(user=teams["rep"], winner=a, loser=teams["theirs"])
    assert not Contact.objects.filter(merged_into__isnull=False).exists()


def test_merge_page_access(teams):
    a, b = teams["mine"]
    rep, reader = Client(), Client()
    rep.force_login(teams["rep"])
    reader.force_login(teams["reader"])
    url = reverse("duplicates:merge", args=[a.uuid, b.uuid])
    assert rep.get(url).status_code == 200
    assert reader.get(url).status_code == 403
    assert reader.post(url).status_code == 403
    for hidden in (reverse("duplicates:merge", args=[a.uuid, teams["theirs"].uuid]),
                   reverse("duplicates:merge", args=[teams["theirs"].uuid, a.uuid])):
        assert rep.get(hidden).status_code == 404
        assert rep.post(hidden).status_code == 404
    assert not Contact.objects.filter(merged_into__isnull=False).exists()


def test_merge_page_shows_choices_and_what_moves_then_merges(rich_pair, admin_client):
    winner, loser = rich_pair["winner"], rich_pair["loser"]
    url = reverse("duplicates:merge", args=[winner.uuid, loser.uuid])
    html = admin_client.get(url).content.decode()
    assert 'name="field-name" value="loser"' in html and 'name="field-custom.tier" value="winner"' in html
    assert "Ada King-Lovelace" in html and "silver" in html
    for moved in ("Timeline entries: ", "Orders: 2", "Deals: 2", "Carts: 1", "Emails: 2"):
        assert moved in html, moved
    response = admin_client.post(url, {"field-name": "loser", "field-custom.tier": "winner"})
    assert response.status_code == 302 and response["Location"] == reverse("contacts:detail", args=[winner.uuid])
    winner.refresh_from_db()
    assert winner.last_name == "King-Lovelace" and winner.custom == {"tier": "gold"}
    # The old URL redirects for good; the merged contact is gone from lists and search.
    old = admin_client.get(reverse("contacts:detail", args=[loser.uuid]))
    assert old.status_code == 301 and old["Location"] == reverse("contacts:detail", args=[winner.uuid])
    assert admin_client.get(reverse("contacts:edit", args=[loser.uuid])).status_code == 404
    listing = admin_client.get(reverse("contacts:list")).context["page"].items
    assert loser.pk not in {c.pk for c in listing} and winner.pk in {c.pk for c in listing}
    assert loser.pk not in {c.pk for c in selectors.contacts_for(rich_pair["winner"].owner or _admin())}


def _admin():
    return testing.make_user("admin")


def test_merge_page_explains_a_merge_that_cannot_be(admin_client, admin_user):
    a, b = testing.make_contact(first_name="Ann"), testing.make_contact(first_name="Ben")
    merge.merge_contacts(user=admin_user, winner=b, loser=a)
    html = admin_client.get(reverse("duplicates:merge", args=[b.uuid, a.uuid])).content.decode()
    assert "already merged into another contact" in html and 'type="radio"' not in html
    same = admin_client.post(reverse("duplicates:merge", args=[b.uuid, b.uuid]))
    assert same.status_code == 422 and "cannot be merged into itself" in same.content.decode()


def test_old_url_of_a_contact_merged_into_a_hidden_one_is_404(teams, admin_user):
    a = teams["mine"][0]
    merge.merge_contacts(user=admin_user, winner=teams["theirs"], loser=a)
    rep = Client()
    rep.force_login(teams["rep"])
    assert rep.get(reverse("contacts:detail", args=[a.uuid])).status_code == 404
    token = testing.make_token(teams["rep"])
    assert Client().get(f"/api/contacts/{a.uuid}", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404


# --- API -----------------------------------------------------------------------------------------------------------

def test_api_merge_and_redirect(teams):
    a, b = teams["mine"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {testing.make_token(teams['rep'])}")
    response = api.post(f"/api/contacts/{a.uuid}/merge", {"other": str(b.uuid), "fields": {"name": "loser"}},
                        content_type="application/json")
    assert response.status_code == 200 and response.json()["id"] == str(a.uuid)
    old = api.get(f"/api/contacts/{b.uuid}")
    assert old.status_code == 308 and old["Location"] == f"/api/contacts/{a.uuid}"
    assert old.json()["merged_into"] == str(a.uuid)
    assert str(b.uuid) not in {c["id"] for c in api.get("/api/contacts").json()["items"]}
    again = api.post(f"/api/contacts/{a.uuid}/merge", {"other": str(b.uuid)}, content_type="application/json")
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "other"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "other"),
    ({"other": "not-a-uuid"}, "other"),
    ({"other": None, "fields": {"name": "loser"}}, "other"),
])
def test_api_merge_bad_input(teams, body, field):
    a = teams["mine"][0]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {testing.make_token(teams['rep'])}")
    response = api.post(f"/api/contacts/{a.uuid}/merge", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


def test_api_merge_access(teams):
    a, b = teams["mine"]
    rep = Client(HTTP_AUTHORIZATION=f"Bearer {testing.make_token(teams['rep'])}")
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {testing.make_token(teams['reader'])}")
    body = {"other": str(b.uuid)}
    assert reader.post(f"/api/contacts/{a.uuid}/merge", body, content_type="application/json").status_code == 403
    hidden = teams["theirs"].uuid
    assert rep.post(f"/api/contacts/{hidden}/merge", body, content_type="application/json").status_code == 404
    assert rep.post(f"/api/contacts/{a.uuid}/merge", {"other": str(hidden)},
                    content_type="application/json").status_code == 404
    assert not Contact.objects.filter(merged_into__isnull=False).exists()
