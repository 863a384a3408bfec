"""The contact and company pages: lists, filters, saved views, bulk actions, forms and access."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from amity import testing
from amity.contacts.models import Company, Contact, SavedView
from amity.core.models import AuditEntry, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_sales(other_team):
    return testing.make_user("sales", team=other_team, full_name="Olga Other")


# --- list ---------------------------------------------------------------------------------------------------------

def _list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("contacts:list"), {"limit": 50})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(admin_client, admin_user, django_assert_max_num_queries):
    company = testing.make_company(owner=admin_user)
    for i in range(5):
        testing.make_contact(owner=admin_user, company=company, tags=["vip", f"t{i}"], phones=["+14155550100"])
    few = _list_queries(admin_client)
    for i in range(25):
        testing.make_contact(owner=admin_user, company=company, tags=["vip", f"u{i}"])
    many = _list_queries(admin_client)
    assert many == few
    with django_assert_max_num_queries(few):
        admin_client.get(reverse("contacts:list"), {"limit": 50})


def test_list_shows_columns_and_total(admin_client, admin_user):
    company = testing.make_company(owner=admin_user, name="Acme Ltd")
    testing.make_contact(owner=admin_user, first_name="Ada", last_name="Lovelace", company=company,
                         emails=["ada@acme.com"], phones=["+442071838750"], tags=["vip"],
                         lifecycle_stage="customer")
    response = admin_client.get(reverse("contacts:list"))
    html = response.content.decode()
    assert "Ada Lovelace" in html
    assert "ada@acme.com" in html
    assert "+44 20 7183 8750" in html  # formatted for people, E.164 in the tel: link
    assert "Acme Ltd" in html
    assert "badge-customer" in html
    assert ">vip<" in html
    assert "1 contact" in html
    assert 'class="table-wrap"' in html


def test_script_in_a_name_is_shown_as_text(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="<script>alert(1)</script>", last_name="X")
    html = admin_client.get(reverse("contacts:list")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_search_uses_full_text_index(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="Grace", last_name="Hopper")
    testing.make_contact(owner=admin_user, first_name="Alan", last_name="Turing")
    html = admin_client.get(reverse("contacts:list"), {"q": "hopp"}).content.decode()
    assert "Grace Hopper" in html
    assert "Alan Turing" not in html


def test_filter_by_stage_and_tag_with_removable_chips(admin_client, admin_user):
    testing.make_contact(owner=admin_user, first_name="Cus", last_name="Tomer", lifecycle_stage="customer",
                         tags=["vip"])
    testing.make_contact(owner=admin_user, first_name="Lea", last_name="Dee", lifecycle_stage="lead", tags=["vip"])
    response = admin_client.get(reverse("contacts:list"), {"stage": "customer", "tag": "vip"})
    html = response.content.decode()
    assert "Cus Tomer" in html
    assert "Lea Dee" not in html
    # Each active filter is a chip linking to the same list without it.
    assert 'href="?tag=vip"' in html
    assert 'href="?stage=customer"' in html


def test_owner_me_and_unassigned_filters(sales_client, sales_user):
    testing.make_contact(owner=sales_user, first_name="Mine", last_name="One")
    testing.make_contact(first_name="Nobodys", last_name="One")
    mine = sales_client.get(reverse("contacts:list"), {"owner": "me"}).content.decode()
    assert "Mine One" in mine and "Nobodys One" not in mine
    unassigned = sales_client.get(reverse("contacts:list"), {"owner": "none"}).content.decode()
    assert "Nobodys One" in unassigned and "Mine One" not in unassigned


def test_custom_field_filter(admin_client, admin_user):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold", "silver"])
    testing.make_contact(owner=admin_user, first_name="Goldie", last_name="G", custom={"tier": "gold"})
    testing.make_contact(owner=admin_user, first_name="Silvia", last_name="S", custom={"tier": "silver"})
    response = admin_client.get(reverse("contacts:list"), {"custom.tier": "gold"})
    html = response.content.decode()
    assert "Goldie G" in html
    assert "Silvia S" not in html
    assert 'name="custom.tier"' in html  # the custom field is in the filter bar


def test_bad_filter_value_is_explained_not_a_crash(admin_client, admin_user):
    testing.make_contact(owner=admin_user)
    response = admin_client.get(reverse("contacts:list"), {"created_from": "yesterday", "stage": "bogus"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "alert-error" in html
    assert "Created from" in html and "“yesterday” is not a date" in html
    assert "Lifecycle stage" in html and "“bogus” is not one of the choices." in html


def test_sort_by_name(admin_client, admin_user):
    for name in ["Charlie", "Alice", "Bob"]:
        testing.make_contact(owner=admin_user, first_name=name, last_name="Z")
    html = admin_client.get(reverse("contacts:list"), {"sort": "name"}).content.decode()
    assert html.index("Alice Z") < html.index("Bob Z") < html.index("Charlie Z")
    html = admin_client.get(reverse("contacts:list"), {"sort": "-name"}).content.decode()
    assert html.index("Charlie Z") < html.index("Bob Z") < html.index("Alice Z")


def test_pagination_next_and_prev_keep_filters(admin_client, admin_user):
    for i in range(5):
        testing.make_contact(owner=admin_user, first_name=f"P{i}", last_name="Paged", tags=["pg"])
    first = admin_client.get(reverse("contacts:list"), {"sort": "name", "limit": 2, "tag": "pg"})
    assert first.context["page"].prev_cursor is None
    next_query = first.context["next_query"]
    assert "tag=pg" in next_query and "sort=name" in next_query
    second = admin_client.get(f"{reverse('contacts:list')}?{next_query}")
    names = [c.first_name for c in second.context["rows"]]
    assert names == ["P2", "P3"]
    back = admin_client.get(f"{reverse('contacts:list')}?{second.context['prev_query']}")
    assert [c.first_name for c in back.context["rows"]] == ["P0", "P1"]


def test_sales_list_shows_only_team_records(sales_client, other_sales):
    testing.make_contact(owner=other_sales, first_name="Hidden", last_name="Person")
    html = sales_client.get(reverse("contacts:list")).content.decode()
    assert "Hidden Person" not in html


# --- saved views ------------------------------------------------------------------------------------------------

def test_save_list_and_delete_own_view(sales_client, sales_user):
    response = sales_client.post(reverse("contacts:saved_view_create"), {
        "object_type": "contact", "name": "My customers", "query": "stage=customer&cursor=abc", "shared": "on"})
    view = SavedView.objects.get(name="My customers")
    assert view.user == sales_user and view.shared and view.query == "stage=customer"
    assert response.url == reverse("contacts:list") + "?stage=customer"
    html = sales_client.get(reverse("contacts:list")).content.decode()
    assert "My customers" in html
    sales_client.post(reverse("contacts:saved_view_delete", args=[view.uuid]))
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_shared_view_is_listed_for_others_but_only_its_owner_deletes_it(admin_user, sales_user, sales_client):
    view = SavedView.objects.create(user=admin_user, object_type="contact", name="Team VIPs", query="tag=vip",
                                    shared=True)
    assert "Team VIPs" in sales_client.get(reverse("contacts:list")).content.decode()
    response = sales_client.post(reverse("contacts:saved_view_delete", args=[view.uuid]))
    assert response.status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_private_view_of_someone_else_is_404(admin_user, sales_client):
    view = SavedView.objects.create(user=admin_user, object_type="contact", name="Secret", query="tag=x")
    assert sales_client.post(reverse("contacts:saved_view_delete", args=[view.uuid])).status_code == 404
    assert "Secret" not in sales_client.get(reverse("contacts:list")).content.decode()


def test_saved_view_needs_a_name(admin_client):
    admin_client.post(reverse("contacts:saved_view_create"), {"object_type": "contact", "name": " ", "query": "a=b"})
    assert not SavedView.objects.exists()


# --- bulk actions ---------------------------------------------------------------------------------------------------

def test_bulk_tag_and_assign(admin_client, admin_user, sales_user):
    a = testing.make_contact(owner=admin_user)
    b = testing.make_contact(owner=admin_user)
    admin_client.post(reverse("contacts:bulk"), {"action": "tag", "tag": "event-2026", "ids": [a.uuid, b.uuid]})
    assert {t.name for t in a.tags.all()} == {"event-2026"}
    assert {t.name for t in b.tags.all()} == {"event-2026"}
    admin_client.post(reverse("contacts:bulk"), {"action": "assign", "owner": sales_user.uuid, "ids": [a.uuid]})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.owner == sales_user and b.owner == admin_user


def test_bulk_delete_asks_for_confirmation_first(admin_client, admin_user):
    a = testing.make_contact(owner=admin_user)
    response = admin_client.post(reverse("contacts:bulk"), {"action": "delete", "ids": [a.uuid]})
    assert response.status_code == 200
    assert "Delete them" in response.content.decode()
    assert Contact.objects.filter(pk=a.pk).exists()
    admin_client.post(reverse("contacts:bulk"), {"action": "delete", "confirm": "yes", "ids": [a.uuid]})
    assert not Contact.objects.filter(pk=a.pk).exists()


def test_sales_cannot_bulk_delete_and_does_not_see_the_option(sales_client, sales_user):
    a = testing.make_contact(owner=sales_user)
    html = sales_client.get(reverse("contacts:list")).content.decode()
    assert 'value="delete"' not in html
    response = sales_client.post(reverse("contacts:bulk"), {"action": "delete", "confirm": "yes", "ids": [a.uuid]})
    assert response.status_code == 403
    assert Contact.objects.filter(pk=a.pk).exists()


def test_bulk_actions_skip_records_the_user_cannot_see(sales_client, sales_user, other_sales):
    theirs = testing.make_contact(owner=other_sales)
    mine = testing.make_contact(owner=sales_user)
    sales_client.post(reverse("contacts:bulk"), {"action": "tag", "tag": "x", "ids": [theirs.uuid, mine.uuid]})
    assert not theirs.tags.exists()
    assert mine.tags.filter(name="x").exists()


def test_readonly_cannot_bulk_tag(db):
    reader = testing.make_user("readonly")
    a = testing.make_contact()
    response = client_for(reader).post(reverse("contacts:bulk"), {"action": "tag", "tag": "x", "ids": [a.uuid]})
    assert response.status_code == 403
    assert not a.tags.exists()


def test_company_bulk_tag(admin_client, admin_user):
    company = testing.make_company(owner=admin_user)
    admin_client.post(reverse("contacts:company_bulk"), {"action": "tag", "tag": "partner", "ids": [company.uuid]})
    assert company.tags.filter(name="partner").exists()


# --- forms ------------------------------------------------------------------------------------------------------

def contact_post(**overrides):
    data = {"first_name": "Lin", "last_name": "Wei", "lifecycle_stage": "lead", "email_0": "lin@example.com",
            "email_kind_0": "work", "phone_0": "+8613812345678", "phone_kind_0": "mobile", "tags": "a, b"}
    data.update(overrides)
    return data


def test_create_contact_with_custom_field_redirects_to_detail(admin_client, admin_user):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold", "silver"], required=True)
    CustomFieldDefinition.objects.create(object_type="contact", key="interests", label="Interests",
                                         field_type="multi_choice", choices=["tea", "coffee"])
    company = testing.make_company(owner=admin_user, name="Acme")
    response = admin_client.post(reverse("contacts:create"), contact_post(
        cf_tier="gold", cf_interests=["tea", "coffee"], company_name="acme", birthday="--05-17",
        special_kind_0="anniversary", special_label_0="Wedding", special_date_0="2015-06-20",
        time_zone="Asia/Shanghai"))
    contact = Contact.objects.get(email="lin@example.com")
    assert response.status_code == 302
    assert response.url == reverse("contacts:detail", args=[contact.uuid])
    assert contact.custom == {"tier": "gold", "interests": ["tea", "coffee"]}
    assert contact.company == company
    assert contact.phone == "+8613812345678"
    assert contact.time_zone == "Asia/Shanghai"
    assert {t.name for t in contact.tags.all()} == {"a", "b"}
    assert contact.special_dates.count() == 2


def test_required_custom_field_missing_is_reported_on_the_field(admin_client):
    CustomFieldDefinition.objects.create(object_type="contact", key="tier", label="Tier", field_type="choice",
                                         choices=["gold"], required=True)
    response = admin_client.post(reverse("contacts:create"), contact_post())
    assert response.status_code == 400
    assert response.context["form"].errors["cf_tier"] == ["This field is required."]
    assert not Contact.objects.exists()


def test_duplicate_email_shows_a_link_to_the_existing_contact(admin_client, admin_user):
    existing = testing.make_contact(owner=admin_user, first_name="First", last_name="Owner",
                                    emails=["dup@example.com"])
    response = admin_client.post(reverse("contacts:create"), contact_post(email_0="DUP@example.com"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "already belongs to First Owner" in html
    assert f'href="{reverse("contacts:detail", args=[existing.uuid])}"' in html
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("field,value,message", [
    ("email_1", "not-an-email", "is not a valid email address"),
    ("phone_1", "12", "is not a"),
    ("country", "ZZ", "is not an ISO 3166 country code"),
], ids=["email", "phone", "country"])
def test_malformed_input_is_refused_and_nothing_saved(admin_client, field, value, message):
    response = admin_client.post(reverse("contacts:create"), contact_post(**{field: value}))
    assert response.status_code == 400
    assert any(message in e for e in response.context["form"].errors[field])
    assert not Contact.objects.exists()


def test_unknown_or_invisible_company_is_refused(sales_client, other_sales):
    testing.make_company(owner=other_sales, name="Their Co")
    response = sales_client.post(reverse("contacts:create"), contact_post(company_name="Their Co"))
    assert response.status_code == 400
    assert "company_name" in response.context["form"].errors
    assert not Contact.objects.exists()


def test_edit_contact_prefills_and_saves(admin_client, admin_user):
    contact = testing.make_contact(owner=admin_user, first_name="Old", last_name="Name",
                                   emails=["old@example.com"], tags=["keep"])
    page = admin_client.get(reverse("contacts:edit", args=[contact.uuid]))
    assert page.context["form"].initial["email_0"] == "old@example.com"
    assert page.context["form"].initial["tags"] == "keep"
    response = admin_client.post(reverse("contacts:edit", args=[contact.uuid]), contact_post(
        first_name="New", email_0="old@example.com", owner=str(admin_user.uuid)))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "New"
    assert AuditEntry.objects.filter(object_type="contact", object_id=contact.pk, action="update").exists()


def test_company_create_and_edit(admin_client):
    response = admin_client.post(reverse("contacts:company_create"), {
        "name": "Globex", "domain": "https://www.Globex.com/about", "phone": "+14155550123", "size": "11-50",
        "tags": "prospect"})
    company = Company.objects.get(name="Globex")
    assert response.url == reverse("contacts:company_detail", args=[company.uuid])
    assert company.domain == "globex.com"
    response = admin_client.post(reverse("contacts:company_edit", args=[company.uuid]), {"name": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["A company needs a name."]


def test_delete_contact_confirm_then_delete(admin_client, admin_user):
    contact = testing.make_contact(owner=admin_user)
    page = admin_client.get(reverse("contacts:delete", args=[contact.uuid]))
    assert page.status_code == 200 and Contact.objects.filter(pk=contact.pk).exists()
    response = admin_client.post(reverse("contacts:delete", args=[contact.uuid]))
    assert response.url == reverse("contacts:list")
    assert not Contact.objects.filter(pk=contact.pk).exists()


# --- access -------------------------------------------------------------------------------------------------------

def test_other_teams_records_are_404(sales_client, other_sales):
    contact = testing.make_contact(owner=other_sales)
    company = testing.make_company(owner=other_sales)
    for url in [reverse("contacts:edit", args=[contact.uuid]), reverse("contacts:delete", args=[contact.uuid]),
                reverse("contacts:company_edit", args=[company.uuid]),
                reverse("contacts:company_delete", args=[company.uuid])]:
        assert sales_client.get(url).status_code == 404, url
        assert sales_client.post(url, contact_post()).status_code == 404, url
    contact.refresh_from_db()
    assert contact.first_name != "Lin"


def test_sales_cannot_delete_own_contact(sales_client, sales_user):
    contact = testing.make_contact(owner=sales_user)
    assert sales_client.post(reverse("contacts:delete", args=[contact.uuid])).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_readonly_cannot_create_or_edit(db):
    reader = client_for(testing.make_user("readonly"))
    contact = testing.make_contact()
    assert reader.get(reverse("contacts:create")).status_code == 403
    assert reader.post(reverse("contacts:create"), contact_post()).status_code == 403
    assert reader.post(reverse("contacts:company_create"), {"name": "X"}).status_code == 403
    assert reader.post(reverse("contacts:edit", args=[contact.uuid]), contact_post()).status_code == 403
    assert Contact.objects.count() == 1
    html = reader.get(reverse("contacts:list")).content.decode()
    assert "New contact" not in html and 'id="bulk-form"' not in html


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 302 and "login" in response.url


# --- custom fields settings ---------------------------------------------------------------------------------------

def test_custom_fields_admin_is_forbidden_to_non_admins(sales_client):
    definition = CustomFieldDefinition.objects.create(object_type="contact", key="k", label="K", field_type="text")
    for url in [reverse("contacts:fields"), reverse("contacts:field_create"),
                reverse("contacts:field_edit", args=[definition.uuid]),
                reverse("contacts:field_delete", args=[definition.uuid])]:
        assert sales_client.get(url).status_code == 403, url
    assert sales_client.post(reverse("contacts:field_create"), {
        "object_type": "contact", "label": "X", "field_type": "text"}).status_code == 403
    assert CustomFieldDefinition.objects.count() == 1


def test_admin_creates_edits_and_deletes_a_field(admin_client):
    response = admin_client.post(reverse("contacts:field_create"), {
        "object_type": "contact", "label": "Favourite drink", "field_type": "choice", "choices": "Tea\nCoffee"})
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get()
    assert definition.key == "favourite_drink" and definition.choices == ["Tea", "Coffee"]
    assert "Favourite drink" in admin_client.get(reverse("contacts:fields")).content.decode()
    admin_client.post(reverse("contacts:field_edit", args=[definition.uuid]), {
        "label": "Drink", "choices": "Tea\nCoffee\nWater", "required": "on"})
    definition.refresh_from_db()
    assert definition.label == "Drink" and definition.required and definition.key == "favourite_drink"
    assert "Water" in definition.choices
    admin_client.post(reverse("contacts:field_delete", args=[definition.uuid]))
    assert not CustomFieldDefinition.objects.exists()


def test_choice_field_without_choices_is_refused(admin_client):
    response = admin_client.post(reverse("contacts:field_create"), {
        "object_type": "company", "label": "Tier", "field_type": "multi_choice", "choices": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["choices"]
    assert not CustomFieldDefinition.objects.exists()


# --- tags -----------------------------------------------------------------------------------------------------------

def test_tag_suggest(admin_client):
    testing.make_contact(tags=["vip", "VIP-east", "partner"])
    data = admin_client.get(reverse("contacts:tag_suggest"), {"q": "vi"}).json()
    assert data["tags"] == ["vip", "VIP-east"]
