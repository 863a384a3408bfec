"""Global search: prefix words, Chinese names, phones, emails, domains, near misses, permissions."""

from __future__ import annotations

import pytest

from amity.accounts.models import Role
from amity.contacts.services import update_contact
from amity.core.search import search
from amity.testing import make_company, make_contact, make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return make_user("admin")


def found(user, q) -> list[str]:
    return [str(hit.obj) for hit in search(user, q)]


def test_prefix_of_each_word_matches(admin):
    make_contact(first_name="Margaret", last_name="Hamilton", emails=["mh@nasa.example"])
    make_contact(first_name="Grace", last_name="Hopper")
    assert found(admin, "marg ham") == ["Margaret Hamilton"]
    assert found(admin, "HOP") == ["Grace Hopper"]


def test_chinese_names_match_by_any_part(admin):
    make_contact(first_name="小明", last_name="王")
    assert found(admin, "小明") == ["王小明"]
    assert found(admin, "王小") == ["王小明"]


def test_email_phone_and_domain(admin):
    make_contact(first_name="Ada", last_name="Lovelace", emails=["ada@analytical.example"], phones=["+44 20 7946 0958"])
    make_company(name="Analytical Engines", domain="engines.example")
    assert found(admin, "ada@analytical.example") == ["Ada Lovelace"]
    assert found(admin, "2079460958") == ["Ada Lovelace"]
    assert found(admin, "engines.example") == ["Analytical Engines"]


def test_near_misses_are_found(admin):
    make_contact(first_name="Jonathan", last_name="Strange")
    assert "Jonathan Strange" in found(admin, "Strnage Jonathan")


def test_edits_are_searchable_at_once(admin):
    contact = make_contact(first_name="Old", last_name="Name")
    update_contact(actor=admin, contact=contact, data={"first_name": "Brandnew"})
    assert found(admin, "brandnew") == ["Brandnew Name"]
    assert found(admin, "old name") == []


def test_results_respect_the_permission_layer():
    Role.objects.filter(key="sales").update(visibility="own")
    rep = make_user("sales", team=make_team())
    other = make_user("sales", team=make_team())
    make_contact(owner=rep, first_name="Visible", last_name="Customer")
    make_contact(owner=other, first_name="Hidden", last_name="Customer")
    rep.refresh_from_db()
    assert found(rep, "customer") == ["Visible Customer"]
    assert found(rep, "hidden") == []


def test_script_in_query_is_just_text(admin):
    make_contact(first_name="Normal")
    assert found(admin, '"<script>*') == []


def test_a_phone_is_found_by_its_national_digits_in_every_country(admin):
    make_contact(first_name="Luca", last_name="Rossi", phones=["+39 06 1234 5678"])  # Italy keeps its leading 0
    make_contact(first_name="Ada", last_name="Lovelace", phones=["+44 20 7946 0958"])
    assert found(admin, "3906") == ["Luca Rossi"]
    assert found(admin, "612345678") == ["Luca Rossi"]
    assert found(admin, "2079460958") == ["Ada Lovelace"]


def test_the_national_digits_are_what_the_phone_library_parses_for_every_region_and_kind():
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    from amity.core.search import _national_number

    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
                     PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP, PhoneNumberType.UAN):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            assert _national_number(e164) == str(phonenumbers.parse(e164).national_number), e164
            checked += 1
    assert checked > 500
    assert _national_number("02079460958") is None  # not E.164: the caller parses it
