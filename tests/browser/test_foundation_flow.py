"""The day-one flow in real Chromium: log in, create a contact with a custom field, find it with the palette,
note with a mention, see it on the timeline, the mentioned user is notified; a phone-width 360 screenshot."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from amity.contacts.models import Contact
from amity.core.customfield_services import create_definition
from amity.testing import PASSWORD, make_team, make_user

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def people():
    team = make_team("North")
    admin = make_user("admin", team=team, email="ada@example.com", full_name="Ada Admin")
    colleague = make_user("sales", team=team, email="sam@example.com", full_name="Sam Sales")
    create_definition(actor=admin, data={"object_type": "contact", "label": "Loyalty tier", "field_type": "choice",
                                         "choices": ["Gold", "Silver"]})
    return admin, colleague


def test_day_one_flow(page, phone_page, live_server, people, artifacts):
    admin, colleague = people
    log_in(page, live_server, "ADA@example.com", PASSWORD)

    # Create a contact with a custom field.
    page.goto(f"{live_server.url}/contacts/new/")
    page.fill("input[name=first_name]", "Margaret")
    page.fill("input[name=last_name]", "Hamilton")
    page.fill("input[name=email_0]", "Margaret@Apollo.example")
    page.select_option("select[name=cf_loyalty_tier]", "Gold")
    page.get_by_role("button", name=re.compile("Create|Save")).first.click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]{36}/$"))
    contact = Contact.objects.get(email="margaret@apollo.example")
    assert contact.custom == {"loyalty_tier": "Gold"}
    expect(page.locator("h1")).to_contain_text("Margaret Hamilton")

    # Find it with the command palette (Ctrl-K) and open it.
    page.goto(f"{live_server.url}/")
    page.keyboard.press("Control+k")
    palette_input = page.locator("#palette-input")
    expect(palette_input).to_be_visible()
    palette_input.fill("marg ham")
    result = page.locator(f"#palette-contact-{contact.uuid}")
    expect(result).to_be_visible()
    palette_input.press("ArrowDown")
    palette_input.press("Enter")
    page.wait_for_url(f"{live_server.url}/contacts/{contact.uuid}/")

    # A note with a mention appears on the timeline.
    note = page.locator("form.qa-panel-note textarea")
    note.fill("Asked about the Gold renewal, @sam please call her back")
    page.locator("form.qa-panel-note button[type=submit]").click()
    expect(page.locator(".timeline-item").first).to_contain_text("Asked about the Gold renewal")
    expect(page.locator(".timeline-item").first).to_contain_text("@sam")

    # The mentioned colleague sees the notification.
    colleague_context = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    colleague_page = colleague_context.new_page()
    log_in(colleague_page, live_server, "sam@example.com", PASSWORD)
    expect(colleague_page.locator("[data-unread]")).to_have_text("1")
    colleague_page.goto(f"{live_server.url}/notifications/")
    expect(colleague_page.locator(".notification-list")).to_contain_text("mentioned you")
    expect(colleague_page.locator(".notification-list")).to_contain_text("Margaret Hamilton")
    colleague_context.close()

    # The 360 page at phone width: navigation collapsed, no sideways scrolling.
    log_in(phone_page, live_server, "ada@example.com", PASSWORD)
    phone_page.goto(f"{live_server.url}/contacts/{contact.uuid}/")
    expect(phone_page.locator("h1")).to_contain_text("Margaret Hamilton")
    expect(phone_page.locator("#sidenav")).not_to_be_in_viewport()
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the 360 page scrolls sideways by {overflow}px on a phone"
    phone_page.screenshot(path=str(artifacts / "contact-360-phone.png"), full_page=True)
    assert (artifacts / "contact-360-phone.png").stat().st_size > 10_000
