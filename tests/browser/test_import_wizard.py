"""The import wizard in real Chromium: upload a CSV, see the escaped preview, map a column, check (dry run), run,
read the report, download the rejected rows and undo; the same pages at phone width."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from amity.contacts.models import Contact
from amity.integrations.models import ImportJob
from amity.testing import PASSWORD, make_contact, make_user

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CSV = (
    "Given name,Surname,E-mail,Mobile,Whatever\n"
    "Ada,Lovelace,ada@example.com,+44 20 7946 0018,<img src=x onerror=alert(1)>\n"
    "Grace,Hopper,GRACE@example.com,,=HYPERLINK(\"http://evil\")\n"
    "Bob,Broken,not-an-email,,\n"
    "Alan,Turing,alan@example.com,12,\n"
    "王,小明,xm@example.cn,,\n"
)


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_whole_wizard(page, live_server, artifacts, tmp_path):
    user = make_user("admin", email="importer@example.com")
    make_contact(first_name="Grace", last_name="Old", emails=["grace@example.com"])
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, live_server, user.email, PASSWORD)

    page.goto(f"{live_server.url}/imports/")
    page.get_by_role("link", name="New import").first.click()
    page.set_input_files("input[name=file]", str(source))
    page.select_option("select[name=object_type]", "contact")
    page.get_by_role("button", name="Upload and preview").click()

    # preview: cell content shown as text, never as HTML
    preview = page.locator("table.import-preview")
    expect(preview).to_contain_text("<img src=x onerror=alert(1)>")
    assert preview.locator("img").count() == 0
    # suggested mapping; "Whatever" is not imported; "Given name" maps to first name
    expect(page.locator("select[name=col_0]")).to_have_value("first_name")
    expect(page.locator("select[name=col_2]")).to_have_value("email")
    expect(page.locator("select[name=col_4]")).to_have_value("")
    page.select_option("select[name=col_1]", "last_name")
    page.select_option("select[name=match_on]", "email")
    page.select_option("select[name=on_match]", "update")
    page.screenshot(path=str(artifacts / "import-mapping.png"), full_page=True)
    page.get_by_role("button", name="Check the file").click()

    dry = page.locator("#dry-run")
    expect(dry.locator("[data-count=created]")).to_have_text("2")
    expect(dry.locator("[data-count=updated]")).to_have_text("1")
    expect(dry.locator("[data-count=errors]")).to_have_text("2")
    expect(dry).to_contain_text("not-an-email")
    expect(dry).to_contain_text("Old → Hopper")
    assert Contact.objects.count() == 1
    page.screenshot(path=str(artifacts / "import-dry-run.png"), full_page=True)

    page.get_by_role("button", name="Run the import").click()
    # the test settings run the task at once; in production the page polls the worker's progress
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")
    expect(page.locator("[data-count=created]")).to_have_text("2")
    expect(page.locator("[data-count=errors]")).to_have_text("2")
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ada@example.com", "grace@example.com", "xm@example.cn"]
    page.screenshot(path=str(artifacts / "import-report.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Given name", "Surname", "E-mail", "Mobile", "Whatever", "Row", "Reason"]
    assert [r[5] for r in rows[1:]] == ["4", "5"]
    assert rows[1][6].startswith("E-mail: ")

    page.get_by_role("link", name="Undo import").click()
    page.get_by_role("button", name="Undo import").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "undone")
    assert Contact.objects.count() == 1
    assert Contact.objects.get().last_name == "Old"
    assert dialogs == []
    assert ImportJob.objects.get().status == "undone"


def test_wizard_at_phone_width(phone_page, live_server, artifacts, tmp_path):
    user = make_user("admin", email="phone@example.com")
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    log_in(phone_page, live_server, user.email, PASSWORD)
    phone_page.goto(f"{live_server.url}/imports/new/")
    phone_page.set_input_files("input[name=file]", str(source))
    phone_page.get_by_role("button", name="Upload and preview").click()
    expect(phone_page.locator("select[name=col_0]")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    phone_page.screenshot(path=str(artifacts / "import-mapping-phone.png"), full_page=True)
