"""The tracking snippet in real Chromium, on the demo shop page.

Global Privacy Control and Do-Not-Track: nothing reaches /t/collect and nothing is stored in the browser. Consent:
nothing is sent until the visitor accepts. End to end: accept, view a product, sign in with an email, add to
cart — then the contact's 360 page shows the product views and the cart.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from amity.commerce import stores
from amity.commerce.models import BehaviourEvent, Cart
from amity.contacts.models import ContactEmail
from amity.testing import PASSWORD, make_user

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def watch_collect(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.post_data or "") if "/t/collect" in request.url else None)
    return sent


def storage(page) -> dict:
    return page.evaluate("() => Object.assign({}, window.localStorage)")


def shop_actions(page) -> None:
    """Everything a visitor does; with tracking off none of it may leave the browser."""
    page.evaluate("() => window.amity.push(['consent', true])")
    boots = page.locator('.product[data-sku="DEMO-BOOTS"]')
    boots.get_by_role("button", name="View").click()
    boots.get_by_role("button", name="Add to cart").click()
    page.fill("#demo-email", "nobody@example.com")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.evaluate("() => window.amity.flush()")
    page.wait_for_timeout(1500)  # longer than the snippet's 1 s batching delay


def test_snippet_privacy_and_end_to_end(browser, page, live_server, artifacts):
    """One test: the live server's transactional flush would drop the seeded roles between two."""
    admin = make_user("admin", email="ada@example.com", full_name="Ada Admin")
    stores.create_store(actor=admin, data={"name": "Demo store", "kind": "snippet", "require_consent": True})

    # 1. Global Privacy Control, then Do-Not-Track: the snippet sends and stores nothing, even after "Accept".
    for signal in ("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
                   "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        private = context.new_page()
        private.add_init_script(signal)
        sent = watch_collect(private)
        log_in(private, live_server, "ada@example.com", PASSWORD)
        private.goto(f"{live_server.url}/demo-store/")
        private.wait_for_function("() => window.amity && window.amity.__amity")
        assert private.evaluate("() => window.amity.disabled") is True
        expect(private.locator("#tracking-state")).to_contain_text("asks not to be tracked")
        expect(private.locator("#consent")).to_be_hidden()
        shop_actions(private)
        assert sent == []
        assert not any(key.startswith("amity_") for key in storage(private))
        context.close()
    assert not BehaviourEvent.objects.exists()

    # 2. Consent required: nothing leaves the browser before "Accept".
    sent = watch_collect(page)
    log_in(page, live_server, "ada@example.com", PASSWORD)
    page.goto(f"{live_server.url}/demo-store/")
    page.wait_for_function("() => window.amity && window.amity.__amity")
    expect(page.locator("#consent")).to_be_visible()
    boots = page.locator('.product[data-sku="DEMO-BOOTS"]')
    boots.get_by_role("button", name="View").click()
    page.wait_for_timeout(1500)
    assert sent == [] and "amity_vid" not in storage(page)

    # 3. Accept: the queued page and product views go out; then sign in and add to cart.
    with page.expect_response(lambda r: "/t/collect" in r.url and r.status == 200):
        page.locator("#consent-yes").click()
    assert storage(page)["amity_consent"] == "1" and len(storage(page)["amity_vid"]) == 36
    page.screenshot(path=str(artifacts / "storefront-demo-shop.png"), full_page=True)
    page.fill("#demo-email", "Ana.Shopper@example.com")
    page.fill("#demo-name", "Ana Shopper")
    with page.expect_response(lambda r: "/t/collect" in r.url and r.status == 200):
        page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#identify-state")).to_contain_text("Ana.Shopper@example.com")
    boots.get_by_role("button", name="View").click()
    with page.expect_response(lambda r: "/t/collect" in r.url and r.status == 200):
        boots.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-total")).to_contain_text("89.00")

    contact = ContactEmail.objects.get(email="ana.shopper@example.com").contact
    assert (contact.first_name, contact.last_name) == ("Ana", "Shopper")
    kinds = sorted(BehaviourEvent.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["add_to_cart", "page_view", "product_view", "product_view"]
    cart = Cart.objects.get(contact=contact)
    assert cart.item_count == 1 and cart.value == 89

    # 4. The 360 page: the product-view summary on the timeline, the open cart on the commerce card.
    page.goto(f"{live_server.url}/contacts/{contact.uuid}/")
    expect(page.get_by_text("Viewed Trail hiking boots 2 times", exact=False).first).to_be_visible()
    expect(page.locator(".c360-slot-commerce")).to_contain_text("89.00")  # the open cart (commerce card)
    page.screenshot(path=str(artifacts / "storefront-contact-360.png"), full_page=True)

    # 5. Withdrawing consent forgets the visitor id.
    page.goto(f"{live_server.url}/demo-store/")
    page.wait_for_function("() => window.amity && window.amity.__amity")
    page.evaluate("() => window.amity.push(['consent', false])")
    assert "amity_vid" not in storage(page) and storage(page)["amity_consent"] == "0"
