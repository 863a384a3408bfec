"""Duplicate detection: scoring rules, the scan's upsert of the queue, the queue page and API, the periodic job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amity import testing
from amity.contacts import dedupe, services
from amity.contacts.dedupe import Signals, canonical_email, name_similarity, prepare_name, score_pair
from amity.contacts.models import Contact, DuplicatePair, DuplicateStatus
from amity.core import periodic
from amity.core.models import AuditEntry, PeriodicJob

pytestmark = pytest.mark.django_db


def _sim(a: tuple[str, str], b: tuple[str, str]) -> float:
    return name_similarity(prepare_name(*a), prepare_name(*b))


def pair_of(a: Contact, b: Contact) -> DuplicatePair | None:
    lo, hi = sorted((a.pk, b.pk))
    return DuplicatePair.objects.filter(contact_a_id=lo, contact_b_id=hi).first()


# --- scoring -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "canonical"), [
    ("Ada.Lovelace+news@gmail.com", "adalovelace@gmail.com"),
    ("ada.lovelace@googlemail.com", "adalovelace@gmail.com"),
    ("ada+crm@acme.example", "ada@acme.example"),
    ("ada.lovelace@acme.example", "ada.lovelace@acme.example"),  # dots matter outside Gmail
])
def test_canonical_email(email, canonical):
    assert canonical_email(email) == canonical


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    (("Ada", "Lovelace"), ("Lovelace", "Ada"), 100, 100),  # transposed
    (("Jon", "Smith"), ("John", "Smith"), 94, 95),
    (("Zoë", "Müller"), ("Zoe", "Muller"), 100, 100),  # accents folded
    (("Ada", "King Lovelace"), ("Ada", "Lovelace"), 98, 98),  # a middle name on one side
    (("John", "Smith"), ("Jane", "Smith"), 0, 87),
    (("Mary", "Johnson"), ("Robert", "Johnson"), 0, 87),
], ids=["transposed", "typo", "accents", "middle-name", "different-first", "different-person"])
def test_name_similarity_latin(a, b, low, high):
    assert low <= _sim(a, b) <= high


@pytest.mark.parametrize(("a", "b", "similar"), [
    (("小明", "王"), ("小明", "王"), True),
    (("王", "小明"), ("小明", "王"), True),  # family and given name swapped: same characters
    (("小明", "王"), ("小红", "王"), False),  # two of three characters: a different person
    (("晓明", "王"), ("小明", "王"), False),
])
def test_chinese_names_compare_by_characters(a, b, similar):
    assert (_sim(a, b) >= dedupe.NAME_THRESHOLD) is similar


@pytest.mark.parametrize(("signals", "score", "codes"), [
    (Signals(email="ada@gmail.com", company=True, name=100), 100, ["name_company", "email"]),
    (Signals(email="ada@gmail.com"), 95, ["email"]),
    (Signals(phone="+4915112345678", name=100), 92, ["phone"]),
    (Signals(phone="+4915112345678", name=30), 55, ["phone"]),  # a household line: below the queue threshold
    (Signals(phone="+4915112345678"), 75, ["phone"]),  # no name to compare
    (Signals(company=True, name=93), 90, ["name_company"]),
    (Signals(domain="acme.example", name=93), 87, ["name_domain"]),
    (Signals(company=True, name=80), 0, []),  # not similar enough
    (Signals(phone="+4915112345678", company=True, name=95), 96, ["phone", "name_company"]),
], ids=["email+name", "email", "phone+same-name", "phone+other-name", "phone-no-name", "company", "domain",
        "company-too-different", "phone+company"])
def test_score_pair(signals, score, codes):
    got, reasons = score_pair(signals)
    assert got == score
    assert [r["code"] for r in reasons] == codes


def test_reason_labels():
    assert dedupe.reason_label({"code": "phone", "detail": "+49"}) == "Same phone"
    assert dedupe.reason_label({"code": "name_company", "score": 93}) == "Similar name, same company 93"


# --- the scan ----------------------------------------------------------------------------------------------------

@pytest.fixture
def acme():
    return testing.make_company(name="Acme", domain="acme.example")


def test_scan_finds_each_rule_and_nothing_else(acme):
    gmail_a = testing.make_contact(first_name="Ada", last_name="Lovelace", emails=["ada.lovelace@gmail.com"])
    gmail_b = testing.make_contact(first_name="A.", last_name="Byron", emails=["adalovelace+crm@googlemail.com"])
    phone_a = testing.make_contact(first_name="Grace", last_name="Hopper", phones=["+14155550123"])
    phone_b = testing.make_contact(first_name="Grace", last_name="Hoper", phones=["+1 415 555 0123"])
    same_co_a = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    same_co_b = testing.make_contact(first_name="Turing", last_name="Alan", company=acme)  # transposed
    domain_a = testing.make_contact(first_name="Katherine", last_name="Johnson", emails=["kj@acme.example"])
    domain_b = testing.make_contact(first_name="Katherine", last_name="Jonson", emails=["katherine@acme.example"])
    # Not duplicates: same company, different people; same name at a freemail domain; a shared family phone.
    testing.make_contact(first_name="Mary", last_name="Smith", company=acme)
    testing.make_contact(first_name="John", last_name="Smith", company=acme)
    testing.make_contact(first_name="Li", last_name="Wei", emails=["li.wei@gmail.com"])
    testing.make_contact(first_name="Li", last_name="Wei", emails=["wei.li@gmail.com"])
    testing.make_contact(first_name="Tom", last_name="Parent", phones=["+14155550199"])
    testing.make_contact(first_name="Sue", last_name="Child", phones=["+14155550199"])

    result = dedupe.scan()

    assert result.pairs == 4 == DuplicatePair.objects.count()
    assert [r["code"] for r in pair_of(gmail_a, gmail_b).reasons] == ["email"]
    assert pair_of(gmail_a, gmail_b).reasons[0]["detail"] == "adalovelace@gmail.com"
    assert pair_of(phone_a, phone_b).reasons == [{"code": "phone", "detail": "+14155550123"}]
    assert pair_of(phone_a, phone_b).score == 92
    assert pair_of(same_co_a, same_co_b).reasons == [{"code": "name_company", "score": 100}]
    assert pair_of(domain_a, domain_b).reasons == [{"code": "name_domain", "score": 97, "detail": "acme.example"}]
    assert all(p.status == DuplicateStatus.OPEN for p in DuplicatePair.objects.all())
    assert all(p.contact_a_id < p.contact_b_id for p in DuplicatePair.objects.all())


def test_an_email_in_another_contacts_custom_field(acme):
    from amity.core.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(object_type="contact", key="alt_email", label="Other email",
                                         field_type="text")
    first = testing.make_contact(first_name="Ann", last_name="Lee", emails=["ann@lee.example"])
    second = testing.make_contact(first_name="Annie", last_name="Lee-Park", custom={"alt_email": "Ann@Lee.example"})
    dedupe.scan()
    assert pair_of(first, second).reasons == [{"code": "email_field", "detail": "ann@lee.example"}]


def test_merged_contacts_are_not_scanned(acme):
    a = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    b = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    Contact.objects.filter(pk=b.pk).update(merged_into=a)
    assert dedupe.scan().pairs == 0


def test_rescan_keeps_dismissed_refreshes_open_and_drops_stale(acme, admin_user):
    a = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    b = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    c = testing.make_contact(first_name="Grace", last_name="Hopper", phones=["+14155550123"])
    d = testing.make_contact(first_name="Grace", last_name="Hopper", phones=["+14155550123"])
    e = testing.make_contact(first_name="Ada", last_name="Lovelace", company=acme)
    f = testing.make_contact(first_name="Ada", last_name="Lovelace", company=acme)
    dedupe.scan()
    dismissed = pair_of(a, b)
    dedupe.dismiss_pair(user=admin_user, pair=dismissed)
    detected = pair_of(c, d).detected_at

    # c and d now also share a company (score changes); f changes name (no longer a duplicate of e).
    services.update_contact(actor=admin_user, contact=c, data={"company": acme})
    services.update_contact(actor=admin_user, contact=d, data={"company": acme})
    services.update_contact(actor=admin_user, contact=f, data={"first_name": "Charles", "last_name": "Babbage"})
    result = dedupe.scan()

    assert pair_of(a, b).status == DuplicateStatus.DISMISSED
    assert pair_of(a, b).resolved_by == admin_user
    refreshed = pair_of(c, d)
    assert refreshed.status == DuplicateStatus.OPEN and refreshed.detected_at == detected
    assert [r["code"] for r in refreshed.reasons] == ["name_company", "phone"]
    assert refreshed.score == 100
    assert pair_of(e, f) is None
    assert (result.created, result.updated, result.removed) == (0, 1, 1)


def test_the_scan_is_a_periodic_job_and_runs_on_demand(acme, admin_user):
    testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    job = periodic.registered()[dedupe.JOB_NAME]
    assert job.at == dt.time(2, 30)
    dedupe.request_scan(user=admin_user)
    assert periodic.run_due(timezone.now() + dt.timedelta(seconds=1)) >= 1
    assert DuplicatePair.objects.count() == 1
    row = PeriodicJob.objects.get(name=dedupe.JOB_NAME)
    assert row.last_finished_at is not None and row.last_error == ""
    assert AuditEntry.objects.filter(object_type="duplicatescan", actor=admin_user).exists()


def test_only_admins_request_a_scan(sales_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        dedupe.request_scan(user=sales_user)
    assert not PeriodicJob.objects.filter(name=dedupe.JOB_NAME, next_run_at__lte=timezone.now()).exists()


# --- the queue page ----------------------------------------------------------------------------------------------

@pytest.fixture
def world(team, other_team):
    rep = testing.make_user("sales", team=team, full_name="Rep North")
    rival = testing.make_user("sales", team=other_team, full_name="Rival South")
    mine = [testing.make_contact(owner=rep, first_name="Alan", last_name="Turing", phones=["+14155550123"]),
            testing.make_contact(owner=rep, first_name="Alan", last_name="Turring", phones=["+14155550123"])]
    theirs = [testing.make_contact(owner=rival, first_name="Ada", last_name="Lovelace", phones=["+14155550188"]),
              testing.make_contact(owner=rival, first_name="Ada", last_name="Lovelace", phones=["+14155550188"])]
    # One of each: a pair the rep can see only half of is hidden from the rep.
    mixed = [testing.make_contact(owner=rep, first_name="Grace", last_name="Hopper", phones=["+14155550177"]),
             testing.make_contact(owner=rival, first_name="Grace", last_name="Hopper", phones=["+14155550177"])]
    dedupe.scan()
    client = Client()
    client.force_login(rep)
    return {"rep": rep, "rival": rival, "client": client, "mine": mine, "theirs": theirs, "mixed": mixed}


def test_queue_shows_only_pairs_whose_two_contacts_the_user_sees(world, admin_client):
    html = world["client"].get(reverse("duplicates:queue")).content.decode()
    assert "Alan Turing" in html and "Alan Turring" in html and "Same phone" in html
    assert "Ada Lovelace" not in html and "Grace Hopper" not in html
    assert html.count('class="card dup-card"') == 1
    admin_html = admin_client.get(reverse("duplicates:queue")).content.decode()
    assert admin_html.count('class="card dup-card"') == 3
    assert "Scan now" in admin_html and "Scan now" not in html


def test_queue_filters_and_bad_values(world, admin_client):
    url = reverse("duplicates:queue")
    assert admin_client.get(url, {"reason": "email"}).content.decode().count('class="card dup-card"') == 0
    assert admin_client.get(url, {"reason": "phone", "min_score": "90"}).content.decode().count(
        'class="card dup-card"') == 3
    assert admin_client.get(url, {"min_score": "99"}).content.decode().count('class="card dup-card"') == 0
    bad = admin_client.get(url, {"min_score": "lots", "reason": "vibes"})
    assert bad.status_code == 200
    assert "is not a whole number" in bad.content.decode()


def test_queue_query_count_does_not_grow_with_pairs(admin_client, django_assert_num_queries):
    for n in range(3):
        testing.make_contact(first_name="Alan", last_name=f"Turing{n}", phones=[f"+1415555010{n}"])
        testing.make_contact(first_name="Alan", last_name=f"Turing{n}", phones=[f"+1415555010{n}"])
    dedupe.scan()
    admin_client.get(reverse("duplicates:queue"))  # warm the session and the job row
    with django_assert_num_queries(8) as small:
        admin_client.get(reverse("duplicates:queue"))
    for n in range(3, 9):
        testing.make_contact(first_name="Grace", last_name=f"Hopper{n}", phones=[f"+1415555010{n}"])
        testing.make_contact(first_name="Grace", last_name=f"Hopper{n}", phones=[f"+1415555010{n}"])
    dedupe.scan()
    with django_assert_num_queries(len(small.captured_queries)):
        response = admin_client.get(reverse("duplicates:queue"))
    assert response.content.decode().count('class="card dup-card"') == 9


def test_queue_is_keyset_paginated(admin_client):
    for n in range(5):
        testing.make_contact(first_name="Alan", last_name="Turing", phones=[f"+1415555010{n}"])
        testing.make_contact(first_name="Alan", last_name="Turing", phones=[f"+1415555010{n}"])
    dedupe.scan()
    assert DuplicatePair.objects.count() == 5
    first = admin_client.get(reverse("duplicates:queue"), {"limit": 2}).context["page"]
    assert len(first.items) == 2 and first.next_cursor
    second = admin_client.get(reverse("duplicates:queue"), {"limit": 2, "cursor": first.next_cursor}).context["page"]
    assert {p.pk for p in second.items}.isdisjoint({p.pk for p in first.items})


def test_dismiss_from_the_page(world):
    pair = pair_of(*world["mine"])
    response = world["client"].post(reverse("duplicates:dismiss", args=[pair.uuid]))
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED and pair.resolved_by == world["rep"]
    assert AuditEntry.objects.filter(object_type="duplicatepair", object_id=pair.pk, action="update").exists()


def test_another_teams_pair_is_404_and_readonly_gets_403(world, team):
    hidden = pair_of(*world["theirs"])
    half = pair_of(*world["mixed"])
    client = world["client"]
    for pair in (hidden, half):
        assert client.post(reverse("duplicates:dismiss", args=[pair.uuid])).status_code == 404
        assert client.get(reverse("duplicates:pair_merge", args=[pair.uuid])).status_code == 404
    assert DuplicatePair.objects.filter(status=DuplicateStatus.OPEN).count() == 3
    reader = Client()
    reader.force_login(testing.make_user("readonly", team=team))
    mine = pair_of(*world["mine"])
    assert reader.get(reverse("duplicates:queue")).status_code == 200
    assert reader.post(reverse("duplicates:dismiss", args=[mine.uuid])).status_code == 403
    assert reader.get(reverse("duplicates:pair_merge", args=[mine.uuid])).status_code == 403
    assert reader.post(reverse("duplicates:scan")).status_code == 403
    mine.refresh_from_db()
    assert mine.status == DuplicateStatus.OPEN


def test_scan_now_button(admin_client):
    response = admin_client.post(reverse("duplicates:scan"))
    assert response.status_code == 302
    assert PeriodicJob.objects.get(name=dedupe.JOB_NAME).next_run_at <= timezone.now()
    assert "A scan was requested" in admin_client.get(reverse("duplicates:queue")).content.decode()


# --- the API -----------------------------------------------------------------------------------------------------

def _api(user, scope="write"):
    return Client(HTTP_AUTHORIZATION=f"Bearer {testing.make_token(user, scope=scope)}")


def test_api_queue_dismiss_and_scan(world, admin_user, django_assert_num_queries):
    api = _api(world["rep"])
    body = api.get("/api/duplicates").json()
    assert [sorted((p["contact_a"]["name"], p["contact_b"]["name"])) for p in body["items"]] == [
        ["Alan Turing", "Alan Turring"]]
    item = body["items"][0]
    assert item["reasons"] == [{"code": "phone", "label": "Same phone", "detail": "+14155550123", "score": None}]
    assert item["contact_a"]["phones"] == ["+14155550123"] and body["total"] == 1
    admin_api = _api(admin_user)
    with django_assert_num_queries(6):  # token, user, page, count, emails, phones
        assert len(admin_api.get("/api/duplicates", {"limit": 50}).json()["items"]) == 3
    assert api.get("/api/duplicates", {"status": "nope"}).status_code == 422
    assert api.get("/api/duplicates", {"min_score": 101}).status_code == 422

    hidden = pair_of(*world["theirs"])
    assert api.post(f"/api/duplicates/{hidden.uuid}/dismiss").status_code == 404
    dismissed = api.post(f"/api/duplicates/{item['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert api.get("/api/duplicates").json()["items"] == []
    assert api.get("/api/duplicates", {"status": "dismissed"}).json()["total"] == 1

    assert api.post("/api/duplicates/scan").status_code == 403
    assert admin_api.post("/api/duplicates/scan").status_code == 202
    assert _api(admin_user, scope="read").post("/api/duplicates/scan").status_code == 403


def test_360_notice_lists_open_pairs_of_the_contact(acme, admin_user):
    from django.template.loader import render_to_string

    a = testing.make_contact(first_name="Alan", last_name="Turing", company=acme)
    b = testing.make_contact(first_name="Alan", last_name="Turring", company=acme)
    dedupe.scan()
    pairs = dedupe.open_pairs_of(user=admin_user, contact=a)
    assert [p.other for p in pairs] == [b]
    html = render_to_string("contacts/_360_duplicates.html",
                            {"possible_duplicates": pairs, "contact": a, "can_edit": True})
    assert "Alan Turring" in html and "Similar name, same company 96" in html
    assert reverse("duplicates:merge", args=[a.uuid, b.uuid]) in html
    assert render_to_string("contacts/_360_duplicates.html", {"possible_duplicates": []}).strip() == ""
