"""Store settings: services (admin-only, validated, audited without the secret) and the settings pages."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from amity.commerce import stores
from amity.commerce.models import Store
from amity.core.models import AuditEntry
from amity.testing import make_team, make_user

pytestmark = pytest.mark.django_db


def snippet_store(admin, **data):
    return stores.create_store(actor=admin, data={"name": "Web shop", "kind": "snippet", **data})


# --- services ----------------------------------------------------------------------------------------------

def test_create_snippet_store_has_a_public_key_and_no_secret(admin_user):
    store = snippet_store(admin_user, allowed_origins="https://Shop.Example.com/\nhttp://localhost:8000")
    assert store.public_key.startswith("pk_") and len(store.public_key) == 27
    assert store.secret == ""
    assert store.allowed_origins == "https://shop.example.com\nhttp://localhost:8000"
    assert store.require_consent is True
    entry = AuditEntry.objects.get(object_type="store", object_id=store.pk)
    assert entry.action == "create" and entry.changes["name"] == "Web shop"


def test_create_webhook_store_generates_a_secret_that_never_reaches_the_audit(admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "Shopify", "kind": "shopify"})
    assert store.secret.startswith("whsec_") and len(store.secret) > 40
    old = store.secret
    stores.regenerate_secret(actor=admin_user, store=store)
    store.refresh_from_db()
    assert store.secret != old and store.secret.startswith("whsec_")
    stores.update_store(actor=admin_user, store=store, data={"secret": "shpss_0123456789abcdef"})
    store.refresh_from_db()
    assert store.secret == "shpss_0123456789abcdef"
    dumped = json.dumps([e.changes for e in AuditEntry.objects.filter(object_type="store")])
    assert old not in dumped and "shpss_0123456789abcdef" not in dumped
    assert AuditEntry.objects.filter(object_type="store").count() == 3


@pytest.mark.parametrize(("data", "field"), [
    ({"name": "", "kind": "snippet"}, "name"),
    ({"name": "x" * 101, "kind": "snippet"}, "name"),
    ({"name": "A", "kind": "magento"}, "kind"),
    ({"name": "A", "kind": "snippet", "allowed_origins": "shop.example.com"}, "allowed_origins"),
    ({"name": "A", "kind": "snippet", "allowed_origins": "https://shop.example.com/path"}, "allowed_origins"),
    ({"name": "A", "kind": "snippet", "secret": "0123456789abcdefgh"}, "secret"),
    ({"name": "A", "kind": "shopify", "secret": "short"}, "secret"),
    ({"name": "A", "kind": "generic", "mapping": {"kind": "order", "fields": {"total": "amount"}}}, "mapping"),
    ({"name": "A", "kind": "snippet", "mapping": {"kind": "order"}}, "mapping"),
], ids=["no-name", "long-name", "bad-kind", "origin-no-scheme", "origin-path", "secret-on-snippet", "short-secret",
        "mapping-no-external-id", "mapping-on-snippet"])
def test_bad_input_names_the_field_and_writes_nothing(admin_user, data, field):
    with pytest.raises(ValidationError) as exc:
        stores.create_store(actor=admin_user, data=data)
    assert field in exc.value.message_dict
    assert not Store.objects.exists()
    assert not AuditEntry.objects.filter(object_type="store").exists()


def test_only_admins_manage_stores(admin_user):
    store = snippet_store(admin_user)
    rep = make_user("sales", team=make_team())
    with pytest.raises(PermissionDenied):
        stores.create_store(actor=rep, data={"name": "Mine", "kind": "snippet"})
    with pytest.raises(PermissionDenied):
        stores.update_store(actor=rep, store=store, data={"name": "Taken"})
    with pytest.raises(PermissionDenied):
        stores.set_store_active(actor=rep, store=store, active=False)
    store.refresh_from_db()
    assert store.name == "Web shop" and store.active


def test_deactivate_and_reactivate_are_audited(admin_user):
    store = snippet_store(admin_user)
    stores.set_store_active(actor=admin_user, store=store, active=False)
    stores.set_store_active(actor=admin_user, store=store, active=False)  # no change, no entry
    stores.set_store_active(actor=admin_user, store=store, active=True)
    changes = [e.changes for e in AuditEntry.objects.filter(object_type="store", action="update").order_by("id")]
    assert changes == [{"active": [True, False]}, {"active": [False, True]}]


def test_origin_allowed():
    store = Store(allowed_origins="https://shop.example.com")
    assert stores.origin_allowed(store, "https://shop.example.com")
    assert stores.origin_allowed(store, "https://SHOP.example.com/")
    assert not stores.origin_allowed(store, "https://evil.example.com")
    assert stores.origin_allowed(store, None)  # server-to-server
    assert stores.origin_allowed(Store(allowed_origins=""), "https://anything.example")


def test_generic_mapping_is_validated_with_each_problem(admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "ERP", "kind": "generic"})
    with pytest.raises(ValidationError) as exc:
        stores.update_store(actor=admin_user, store=store, data={"mapping": {
            "kind": "order", "fields": {"external_id": "id", "colour": "c", "lines": "items",
                                        "lines.weight": "w", "total": "a..b"}}})
    messages = " | ".join(exc.value.message_dict["mapping"])
    assert "fields.colour: unknown field" in messages
    assert "fields.lines: a list path ends in [*]" in messages
    assert "fields.lines.weight: unknown field" in messages
    assert "fields.total: “a..b” is not a path" in messages
    store.refresh_from_db()
    assert store.mapping == {}


# --- pages -----------------------------------------------------------------------------------------------------

def test_non_admins_get_403_on_every_store_page(admin_user):
    store = snippet_store(admin_user)
    for role in ("sales", "readonly"):
        client = Client()
        client.force_login(make_user(role, team=make_team()))
        for url in ("/settings/stores/", f"/settings/stores/{store.uuid}/", "/demo-store/"):
            assert client.get(url).status_code == 403, url
        for url in ("/settings/stores/", f"/settings/stores/{store.uuid}/", f"/settings/stores/{store.uuid}/secret/",
                    f"/settings/stores/{store.uuid}/active/", "/demo-store/"):
            assert client.post(url, {"name": "Hacked", "kind": "snippet", "active": "0"}).status_code == 403, url
    store.refresh_from_db()
    assert store.name == "Web shop" and store.active
    assert Store.objects.count() == 1


def test_anonymous_is_sent_to_login():
    response = Client().get("/settings/stores/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_unknown_store_is_404(admin_client):
    assert admin_client.get("/settings/stores/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_create_from_the_list_page(admin_client):
    response = admin_client.post("/settings/stores/", {"name": "My shop", "kind": "shopify"})
    store = Store.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/stores/{store.uuid}/"
    page = admin_client.get(response["Location"])
    body = page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert f"http://testserver/hooks/{store.uuid}/shopify" in body
    assert store.secret in body
    assert "orders/create" in body and "refunds/create" in body
    assert "My shop" in admin_client.get("/settings/stores/").content.decode()


def test_create_with_errors_shows_the_field(admin_client):
    response = admin_client.post("/settings/stores/", {"name": "", "kind": "snippet"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Store.objects.exists()


def test_snippet_store_page_shows_the_copy_paste_snippet(admin_client, admin_user, settings):
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    store = snippet_store(admin_user)
    body = admin_client.get(f"/settings/stores/{store.uuid}/", HTTP_HOST="crm.example.com").content.decode()
    assert (f'&lt;script src=&quot;http://crm.example.com/t/amity.js&quot; data-key=&quot;{store.public_key}&quot; '
            "data-require-consent async&gt;&lt;/script&gt;") in body
    assert "amity.push([&quot;consent&quot;, true]);" in body
    assert "http://crm.example.com/t/collect" in body


def test_edit_snippet_store(admin_client, admin_user):
    store = snippet_store(admin_user)
    response = admin_client.post(f"/settings/stores/{store.uuid}/", {
        "name": "Web shop EU", "allowed_origins": "https://shop.example.eu", "require_consent": ""})
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.name, store.allowed_origins, store.require_consent) == ("Web shop EU", "https://shop.example.eu",
                                                                         False)
    bad = admin_client.post(f"/settings/stores/{store.uuid}/", {"name": "X", "allowed_origins": "ftp://x"})
    assert bad.status_code == 200 and "is not an origin" in bad.content.decode()


def test_mapping_editor_validates_json_and_mapping(admin_client, admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "ERP", "kind": "generic"})
    page = admin_client.get(f"/settings/stores/{store.uuid}/").content.decode()
    assert "lines.unit_price" in page  # the example mapping prefilled
    bad_json = admin_client.post(f"/settings/stores/{store.uuid}/", {"name": "ERP", "mapping": "{oops"})
    assert "This is not valid JSON" in bad_json.content.decode()
    bad_map = admin_client.post(f"/settings/stores/{store.uuid}/", {"name": "ERP", "mapping": '{"kind": "refund"}'})
    assert "“kind” must be one of: order, cart, event." in bad_map.content.decode()
    mapping = {"kind": "cart", "fields": {"external_id": "id", "email": "who", "items": "lines[*]",
                                          "items.sku": "sku"}}
    good = admin_client.post(f"/settings/stores/{store.uuid}/", {"name": "ERP", "mapping": json.dumps(mapping)})
    assert good.status_code == 302
    store.refresh_from_db()
    assert store.mapping == mapping


def test_regenerate_and_deactivate_from_the_page(admin_client, admin_user):
    store = stores.create_store(actor=admin_user, data={"name": "Woo", "kind": "woocommerce"})
    old = store.secret
    assert admin_client.get(f"/settings/stores/{store.uuid}/secret/").status_code == 405
    assert admin_client.post(f"/settings/stores/{store.uuid}/secret/").status_code == 302
    store.refresh_from_db()
    assert store.secret != old
    assert admin_client.post(f"/settings/stores/{store.uuid}/active/", {"active": "0"}).status_code == 302
    store.refresh_from_db()
    assert not store.active
    assert "This store is deactivated" in admin_client.get(f"/settings/stores/{store.uuid}/").content.decode()


def test_store_list_query_count(admin_client, admin_user, django_assert_max_num_queries):
    for n in range(5):
        snippet_store(admin_user, name=f"Shop {n}")
    with django_assert_max_num_queries(12):
        response = admin_client.get("/settings/stores/")
    assert response.content.decode().count("/settings/stores/") >= 5


def test_demo_store_page_creates_and_uses_the_demo_snippet_store(admin_client):
    page = admin_client.get("/demo-store/").content.decode()
    assert "Create the demo store" in page
    assert admin_client.post("/demo-store/").status_code == 302
    store = Store.objects.get(name="Demo store")
    page = admin_client.get("/demo-store/").content.decode()
    assert f'data-key="{store.public_key}"' in page and "data-require-consent" in page
    assert "DEMO-BOOTS" in page and "Add to cart" in page
