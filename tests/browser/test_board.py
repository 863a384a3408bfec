"""The deal board in real Chromium: drag a deal from one stage to another and see both columns' totals change;
the keyboard/phone "Move to…" dialog; phone-width screenshots of the board and of My day."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from amity.sales import services
from amity.sales.models import Deal, Pipeline
from amity.testing import PASSWORD, make_company, make_team, make_user
from amity.timeline.services import create_task

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def seller():
    return make_user("sales", team=make_team("North"), email="sam@example.com", full_name="Sam Seller")


@pytest.fixture
def deals(seller):
    pipeline = Pipeline.objects.get(is_default=True)
    company = make_company(owner=seller, name="Acme")
    made = {}
    for name, amount in [("Acme renewal", "1200"), ("Acme pilot", "800"), ("Acme expansion", "5000")]:
        made[name] = services.create_deal(actor=seller, data={
            "name": name, "pipeline": pipeline, "amount": amount, "currency": "USD", "company": company,
            "expected_close_date": (dt.date.today() + dt.timedelta(days=20)).isoformat()})
    services.move_deal(actor=seller, deal=made["Acme expansion"], stage=pipeline.stages.get(name="Proposal"))
    return pipeline, made


def col(page, pipeline, name):
    return page.locator(f'.board-col[data-stage="{pipeline.stages.get(name=name).uuid}"]')


def test_board_drag_and_drop_and_phone(page, phone_page, live_server, seller, deals, artifacts):
    """One test: the live server's transactional flush would drop the seeded roles and pipeline between two."""
    pipeline, made = deals
    log_in(page, live_server, "sam@example.com", PASSWORD)
    page.goto(f"{live_server.url}/deals/board/")
    qualified, proposal = col(page, pipeline, "Qualified"), col(page, pipeline, "Proposal")
    expect(qualified.locator("[data-total]")).to_have_text("USD 2,000")
    expect(proposal.locator("[data-total]")).to_have_text("USD 5,000")
    expect(qualified.locator("[data-count]")).to_have_text("2")

    card = qualified.locator(f'.deal-card[data-deal="{made["Acme renewal"].uuid}"]')
    card.drag_to(proposal.locator(".board-cards"))

    # The server's columns replace the board: both totals and counts change.
    expect(col(page, pipeline, "Qualified").locator("[data-total]")).to_have_text("USD 800")
    expect(col(page, pipeline, "Proposal").locator("[data-total]")).to_have_text("USD 6,200")
    expect(col(page, pipeline, "Proposal").locator("[data-count]")).to_have_text("2")
    expect(col(page, pipeline, "Proposal").locator(".deal-card", has_text="Acme renewal")).to_be_visible()
    assert Deal.objects.get(pk=made["Acme renewal"].pk).stage.name == "Proposal"

    # Into a lost stage: the dialog asks why; the reason is kept. (Collapse the won column so source and
    # target are on screen together: Playwright's drag does not scroll the board mid-drag.)
    page.set_viewport_size({"width": 1920, "height": 900})
    col(page, pipeline, "Won").locator("[data-collapse]").click()
    expect(col(page, pipeline, "Won")).to_have_class(re.compile("is-collapsed"))
    lost = col(page, pipeline, "Lost")
    col(page, pipeline, "Qualified").locator(".deal-card").first.drag_to(lost.locator(".board-cards"))
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=lost_reason]").select_option(label="Price")
    dialog.get_by_role("button", name="Move").click()
    expect(col(page, pipeline, "Lost").locator("[data-count]")).to_have_text("1")
    pilot = Deal.objects.get(pk=made["Acme pilot"].pk)
    assert pilot.stage.kind == "lost" and pilot.lost_reason.name == "Price"

    # Reopen it for the phone part.
    services.move_deal(actor=seller, deal=pilot, stage=pipeline.stages.get(name="Qualified"))
    _phone_move_and_screenshots(phone_page, live_server, seller, deals, artifacts)


def _phone_move_and_screenshots(phone_page, live_server, seller, deals, artifacts):
    pipeline, made = deals
    create_task(actor=seller, title="Call Acme about the renewal", assignee=seller, deal=made["Acme renewal"],
                due_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    page = phone_page
    log_in(page, live_server, "sam@example.com", PASSWORD)
    page.goto(f"{live_server.url}/deals/board/")
    expect(col(page, pipeline, "Qualified").locator("[data-total]")).to_have_text("USD 800")
    page.screenshot(path=str(artifacts / "board-phone.png"))

    # Columns scroll sideways with snap points.
    board = page.locator("#board-columns")
    assert board.evaluate("el => getComputedStyle(el).scrollSnapType").startswith("x")
    assert board.evaluate("el => el.scrollWidth > el.clientWidth")

    card = col(page, pipeline, "Qualified").locator(f'.deal-card[data-deal="{made["Acme pilot"].uuid}"]')
    card.get_by_role("button", name="Move to…").click()
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=stage]").select_option(label="Won (Won)")
    dialog.get_by_role("button", name="Move").click()
    expect(col(page, pipeline, "Won").locator("[data-count]")).to_have_text("1")
    expect(col(page, pipeline, "Qualified").locator("[data-total]")).to_have_text("USD 0")
    assert Deal.objects.get(pk=made["Acme pilot"].pk).stage.kind == "won"

    page.goto(f"{live_server.url}/my-day/")
    expect(page.get_by_role("link", name="Call Acme about the renewal")).to_be_visible()
    page.screenshot(path=str(artifacts / "my-day-phone.png"), full_page=True)
