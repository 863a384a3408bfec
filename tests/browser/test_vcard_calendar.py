"""In real Chromium: upload a vCard file, preview, import, read the report; create a calendar feed URL.
Screenshots at 1280 and 390 px wide go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from amity.contacts.models import Contact
from amity.testing import PASSWORD, make_user

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SAMPLE = Path(__file__).resolve().parents[2] / "amity" / "integrations" / "tests" / "samples" / "vcard" / "broken-and-good.vcf"


def test_import_report_and_calendar_settings_at_1280_and_390(page, phone_page, live_server, artifacts):
    make_user("admin", email="ada@example.com")
    for browser_page, width in [(page, 1280), (phone_page, 390)]:
        browser_page.set_default_timeout(60_000)  # the shared CI machine can be slow; no timing is asserted
        log_in(browser_page, live_server, "ada@example.com", PASSWORD)
        browser_page.goto(f"{live_server.url}/contacts/import/vcard/")
        browser_page.set_input_files("input[type=file]", str(SAMPLE))
        browser_page.get_by_role("button", name="Preview").click()
        browser_page.get_by_text("These cards will be reported and not imported:").wait_for()
        browser_page.get_by_role("button", name="Import 6 cards").click()
        browser_page.get_by_role("heading", name="vCard import report").wait_for()
        assert browser_page.get_by_text("The card has no END:VCARD line.").is_visible()
        assert browser_page.locator("script", has_text="alert('x')").count() == 0  # card content stayed text
        browser_page.screenshot(path=str(artifacts / f"vcard-report-{width}.png"), full_page=True)
        assert browser_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        browser_page.goto(f"{live_server.url}/settings/calendar/")
        browser_page.locator("form button[type=submit]").first.click()  # Create feed URL / Regenerate URL
        url = browser_page.locator("#feed-url").input_value()
        assert url.startswith(f"{live_server.url}/calendar/feed/cal_")
        browser_page.screenshot(path=str(artifacts / f"calendar-settings-{width}.png"), full_page=True)
        feed = browser_page.request.get(url)
        assert feed.status == 200 and feed.text().startswith("BEGIN:VCALENDAR")
    # the second import matched the first one's contacts by email and updated them
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "first.good@example.com", "html@example.com", "last.good@example.com"]
