"""The 360 page's quick actions in real Chromium: only the open panel comes with the page; another tab (by mouse
or keyboard) fetches its panel once and keeps it; a call logged from a fetched panel lands on the timeline and
offers a follow-up; an error comes back in its panel; without JavaScript each tab reloads the page with it open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from amity.testing import PASSWORD, make_contact, make_team, make_user
from amity.timeline.models import Interaction

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_quick_action_tabs_load_their_panel_once(browser, page, live_server):
    """One test: the live server's transactional flush would drop the seeded roles between two."""
    seller = make_user("sales", team=make_team("North"), email="sam@example.com", full_name="Sam Seller")
    contact = make_contact(owner=seller, first_name="Mei", last_name="Lin")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/quick/" in r.url else None)
    log_in(page, live_server, "sam@example.com", PASSWORD)
    page.goto(f"{live_server.url}/contacts/{contact.uuid}/")

    card = page.locator("#quick-actions")
    expect(card.locator("form.qa-panel-note textarea")).to_be_visible()
    assert card.locator("form").count() == 1 and fetched == []

    # A click opens the call tab in place: its panel is fetched, the note's is hidden, the URL stays.
    card.get_by_role("tab", name="Log call").click()
    expect(card.locator("form.qa-panel-call select[name=outcome]")).to_be_visible()
    expect(card.locator("form.qa-panel-note")).to_be_hidden()
    expect(card.get_by_role("tab", name="Log call")).to_have_attribute("aria-selected", "true")
    assert page.url == f"{live_server.url}/contacts/{contact.uuid}/"

    # Keyboard: arrows move between tabs like a radio group; a panel already fetched is not fetched again.
    card.get_by_role("tab", name="Log call").press("ArrowLeft")
    expect(card.locator("form.qa-panel-note")).to_be_visible()
    expect(card.get_by_role("tab", name="Note")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(card.locator("form.qa-panel-call")).to_be_visible()
    page.keyboard.press("End")
    expect(card.locator("form.qa-panel-task input[name=title]")).to_be_visible()
    card.get_by_role("tab", name="Log call").click()
    assert sum("/quick/call/" in u for u in fetched) == 1

    # An error comes back in the open panel; a good call lands on the timeline and offers a follow-up.
    card.locator("form.qa-panel-call input[name=occurred_at]").fill("2099-01-01T10:00")
    card.locator("form.qa-panel-call button[type=submit]").click()
    expect(page.locator("#quick-actions form.qa-panel-call .errorlist")).to_contain_text("cannot be in the future")
    expect(page.locator("#quick-actions").get_by_role("tab", name="Log call")).to_have_attribute("aria-selected",
                                                                                                   "true")
    page.locator("#quick-actions form.qa-panel-call input[name=occurred_at]").fill("")
    page.locator("#quick-actions form.qa-panel-call input[name=duration_minutes]").fill("12")
    page.locator("#quick-actions form.qa-panel-call select[name=outcome]").select_option("connected")
    page.locator("#quick-actions form.qa-panel-call button[type=submit]").click()
    expect(page.locator("#quick-actions [data-followup]")).to_contain_text("Follow up?")
    expect(page.locator(".timeline-item").first).to_contain_text("12 min")
    assert Interaction.objects.get(contact=contact).duration_seconds == 720
    # The refreshed card's other tabs still fetch their panels.
    page.locator("#quick-actions").get_by_role("tab", name="Email").click()
    expect(page.locator("#quick-actions form.qa-panel-email select[name=direction]")).to_be_visible()

    # Without JavaScript the tab is a link: the page reloads with that panel open.
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    plain = context.new_page()
    plain.set_default_timeout(15_000)
    plain.goto(f"{live_server.url}/login/")
    plain.fill("input[name=username]", "sam@example.com")
    plain.fill("input[name=password]", PASSWORD)
    plain.click("button[type=submit]")
    plain.goto(f"{live_server.url}/contacts/{contact.uuid}/")
    plain.locator("#quick-actions").get_by_role("tab", name="Meeting").click()
    plain.wait_for_url(re.compile(r"\?panel=meeting#quick-actions$"))
    expect(plain.locator("#quick-actions form.qa-panel-meeting input[name=subject]")).to_be_visible()
    expect(plain.locator("#quick-actions form.qa-panel-note")).to_have_count(0)
    context.close()
