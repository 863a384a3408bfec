"""vCard import: files as Apple Contacts, Google Contacts and Outlook write them, 4.0, Chinese names, broken cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amity.contacts.models import Contact, SpecialDate
from amity.core.models import AuditAction, AuditEntry
from amity.integrations import vcard, vcard_services
from amity.testing import make_contact, make_team, make_user
from amity.timeline.models import Interaction

SAMPLES = Path(__file__).parent / "samples" / "vcard"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def run(user, name: str, on_match: str = "update") -> vcard_services.ImportReport:
    return vcard_services.import_vcards(user=user, raw=sample(name), on_match=on_match)


def emails(contact: Contact) -> list[tuple[str, str]]:
    return [(e.email, e.kind) for e in contact.emails.all()]


def phones(contact: Contact) -> list[tuple[str, str]]:
    return [(p.number, p.kind) for p in contact.phones.all()]


def dates(contact: Contact) -> list[tuple[str, str, int | None, int, int]]:
    return sorted((d.kind, d.label, d.year, d.month, d.day) for d in contact.special_dates.all())


def tags(contact: Contact) -> list[str]:
    return sorted(t.name for t in contact.tags.all())


def note(contact: Contact) -> str:
    return Interaction.objects.get(contact=contact, kind="note").body


def test_apple_contacts(admin_user):
    report = run(admin_user, "apple-contacts.vcf")
    assert (report.created, report.failed, report.lines) == (2, 0, [])
    johnny = Contact.objects.get(external_id="5F2C6B2E-1D0A-4B8E-9C39-0E1F2A3B4C5D")
    assert (johnny.first_name, johnny.last_name, johnny.display_name) == ("Johnny", "Appleseed", "Johnny Appleseed")
    assert (johnny.company.name, johnny.job_title) == ("Apple Inc.", "Product Manager")
    assert emails(johnny) == [("johnny.appleseed@icloud.com", "other"), ("j.appleseed@apple.com", "work"),
                              ("johnny@me.com", "other")]
    assert johnny.email == "johnny.appleseed@icloud.com"
    assert phones(johnny) == [("+14085550150", "mobile"), ("+16502530000", "work"), ("+14155552671", "other")]
    assert (johnny.street, johnny.city, johnny.region, johnny.postal_code, johnny.country) == (
        "1 Infinite Loop", "Cupertino", "CA", "95014", "US")
    assert dates(johnny) == [("anniversary", "", 2005, 6, 18), ("birthday", "", 1979, 4, 15)]
    assert tags(johnny) == ["Friends", "VIP"]
    assert johnny.photo.startswith("data:image/jpeg;base64,/9j/")
    # HTML in a field stays text (templates escape it on output)
    assert note(johnny) == ("Met at WWDC.\nLikes <b>strong</b> coffee, no sugar; <script>alert(1)</script>\n\n"
                            "Website: https://www.apple.com")
    lin = Contact.objects.get(external_id="9A8B7C6D-0000-4000-8000-000000000002")
    assert (lin.company.name, emails(lin), phones(lin)) == (
        "Acme Robotics", [("lin.chen@acmerobotics.com", "other")], [("+442079460958", "work")])
    # Apple's year-less birthday (X-APPLE-OMIT-YEAR) and a custom-labelled date
    assert dates(lin) == [("birthday", "", None, 11, 23), ("other", "first met", 2012, 3, 1)]


def test_google_contacts(admin_user):
    report = run(admin_user, "google-contacts.vcf")
    assert (report.created, report.failed) == (2, 0)
    maria = Contact.objects.get(email="mj.garcia@gmail.com")
    assert (maria.first_name, maria.last_name) == ("María José", "García")
    assert emails(maria) == [("mj.garcia@gmail.com", "home"), ("mariajose@empresa-ejemplo.es", "work")]
    assert phones(maria) == [("+34612345678", "mobile"), ("+34913123456", "work")]
    assert (maria.company.name, maria.job_title, maria.city, maria.country) == (
        "Empresa Ejemplo S.L.", "Directora de ventas", "Madrid", "ES")
    assert dates(maria) == [("anniversary", "", 2010, 9, 25), ("birthday", "", 1985, 4, 15)]
    assert tags(maria) == ["Clientes", "Madrid"]  # Google's "myContacts" system group is not a tag
    # the folded NOTE is one line again
    assert note(maria) == ("Met at the Madrid trade fair. Interested in the enterprise plan for 40 seats; call "
                           "back after the summer holidays. Prefers WhatsApp over email.")
    priya = Contact.objects.get(email="priya.n@outlook.com")
    assert phones(priya) == [("+919876543210", "home")]
    assert priya.photo.startswith("data:image/png;base64,iVBORw0KGgo")
    assert tags(priya) == []


def test_outlook_utf8_quoted_printable(admin_user):
    report = run(admin_user, "outlook-2.1-utf8.vcf")
    assert (report.created, report.failed) == (1, 0)
    jm = Contact.objects.get()
    assert (jm.first_name, jm.last_name, jm.job_title, jm.company.name) == (
        "Jürgen", "Müller", "Geschäftsführer", "Müller & Söhne GmbH")
    assert emails(jm) == [("juergen.mueller@mueller-soehne.de", "other"), ("jm1970@web.de", "other")]
    assert phones(jm) == [("+493012345678", "work"), ("+4915123456789", "mobile")]
    assert (jm.street, jm.city, jm.postal_code, jm.country) == ("Friedrichstraße 123", "Berlin", "10117", "DE")
    assert dates(jm) == [("anniversary", "", 1998, 6, 20), ("birthday", "", 1970, 3, 12)]
    assert jm.photo.startswith("data:image/jpeg;base64,")
    # quoted-printable soft line break joined, =0D=0A kept as a line break
    assert note(jm) == ("Kunde seit 2015.\nMag keine Anrufe vor 10 Uhr und bevorzugt E-Mail, bitte immer auf "
                        "Deutsch schreiben.")


def test_outlook_windows_1252(admin_user):
    report = run(admin_user, "outlook-2.1-windows-1252.vcf")
    assert (report.created, report.failed) == (1, 0)
    fl = Contact.objects.get()
    assert (fl.display_name, fl.company.name, fl.job_title) == ("François Lefèvre", "Café de la Paix", "Gérant")
    assert (fl.street, fl.city, fl.country) == ("5 Place de l'Opéra", "Paris", "FR")
    assert phones(fl) == [("+33140073636", "work")]
    assert note(fl) == "Réserve une table près de la fenêtre à chaque visite."


def test_vcard_4_0_rfc6350(admin_user):
    report = run(admin_user, "rfc6350-4.0.vcf")
    assert (report.created, report.failed) == (1, 0)
    simon = Contact.objects.get()
    assert simon.external_id == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert (simon.first_name, simon.last_name, simon.company.name) == ("Simon", "Perreault", "Viagenie")
    assert emails(simon) == [("simon.perreault@viagenie.ca", "work")]
    # tel: URIs, the extension dropped; PREF=1 first
    assert phones(simon) == [("+14186569254", "work"), ("+14182626501", "mobile")]
    assert (simon.street, simon.city, simon.region, simon.postal_code, simon.country) == (
        "2875 Laurier, Suite D2-630", "Quebec", "QC", "G1V 2M2", "CA")
    assert dates(simon) == [("anniversary", "", 2009, 8, 8), ("birthday", "", None, 2, 3)]
    assert simon.photo.startswith("data:image/png;base64,")


def test_chinese_names_family_name_first(admin_user):
    report = run(admin_user, "chinese-names.vcf")
    assert (report.created, report.failed) == (2, 0)
    wang = Contact.objects.get(email="xiaoming.wang@example.cn")
    assert (wang.last_name, wang.first_name, wang.display_name) == ("王", "小明", "王小明")
    assert (wang.company.name, wang.job_title, wang.city, wang.country) == (
        "北京示例科技有限公司", "销售经理", "北京", "CN")
    assert phones(wang) == [("+8613800138000", "mobile")]  # read in the address's country
    assert dates(wang) == [("birthday", "", None, 8, 1)]
    assert tags(wang) == ["北京", "重要客户"]
    assert note(wang).startswith("喜欢喝绿茶，不喝咖啡。")
    assert "\n" not in note(wang)  # folded by octets, unfolded whole
    li = Contact.objects.get(phone="+862162888888")
    assert (li.last_name, li.first_name, li.display_name) == ("李", "雷", "李雷")  # FN only


def test_broken_cards_are_reported_and_the_good_ones_land(admin_user):
    report = run(admin_user, "broken-and-good.vcf")
    assert (report.created, report.updated, report.skipped, report.failed) == (3, 0, 0, 3)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "first.good@example.com", "html@example.com", "last.good@example.com"]
    by_number = {line.number: line for line in report.lines}
    assert by_number[2].status == "failed"
    assert by_number[2].reasons == ["The card could not be read: line 11 is not a vCard property"]
    assert by_number[3].status == "failed"
    assert by_number[3].reasons == ["First name: Give the contact a name or an email address."]
    assert by_number[5].reasons == ["The card has no END:VCARD line."]
    assert (by_number[2].name, by_number[5].name) == ("Line Broken", "Card Unclosed")  # named in the report
    assert by_number[6].status == "created"
    assert by_number[6].reasons == [
        "“not-an-email” is not a valid email address; it was left out.",
        "The birthday “2999-01-01” is not a date in the past; it was left out.",
        "The photo is not a JPEG, PNG or GIF image; the card was imported without it.",
    ]
    html = Contact.objects.get(email="html@example.com")
    assert (html.first_name, html.last_name) == ("<b>Bold</b>", "<script>alert('x')</script>")
    # nothing of the failed cards was written (no phone of card 3, no stray company or note)
    assert not Contact.objects.filter(phone="+4930901820").exists()
    assert not Interaction.objects.exists()


def test_not_a_vcard_is_refused_with_a_reason(admin_user):
    with pytest.raises(ValidationError) as exc:
        run(admin_user, "not-a-vcard.vcf")
    assert exc.value.message_dict == {"file": [
        "This file is not a vCard: it has no BEGIN:VCARD line. Export contacts as vCard (.vcf)."]}
    assert not Contact.objects.exists()


def test_too_big_photo_is_dropped_and_reported(admin_user):
    import base64

    big = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 200_000).decode()
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big Photo\r\nN:Photo;Big;;;\r\n"
            + vcard.fold(f"PHOTO;ENCODING=b;TYPE=JPEG:{big}") + "END:VCARD\r\n")
    report = vcard_services.import_vcards(user=admin_user, raw=text.encode())
    assert report.created == 1
    assert report.lines[0].reasons == [
        "The photo (260 KB) is larger than the 256 KB limit; the card was imported without it."]
    assert Contact.objects.get().photo == ""


def test_file_size_limit():
    with pytest.raises(ValidationError) as exc:
        vcard_services.check_size(21 * 1024 * 1024)
    assert exc.value.message_dict == {"file": ["The file is 21.0 MB; the limit is 20 MB. Split it into smaller files."]}


def test_reimport_matches_by_uid_and_updates_or_skips(admin_user):
    run(admin_user, "apple-contacts.vcf")
    johnny = Contact.objects.get(external_id="5F2C6B2E-1D0A-4B8E-9C39-0E1F2A3B4C5D")
    contact_count = Contact.objects.count()
    preview = vcard_services.preview_vcards(user=admin_user, raw=sample("apple-contacts.vcf"))
    assert (preview.cards, preview.matches, preview.broken, preview.names) == (2, 2, 0, ["Johnny Appleseed",
                                                                                      "Lin Chen"])
    skipped = run(admin_user, "apple-contacts.vcf", on_match="skip")
    assert (skipped.created, skipped.skipped) == (0, 2)
    updated = run(admin_user, "apple-contacts.vcf", on_match="update")
    assert (updated.created, updated.updated, updated.failed) == (0, 2, 0)
    assert Contact.objects.count() == contact_count
    assert Interaction.objects.filter(contact=johnny, kind="note").count() == 1  # the note is not repeated
    assert len(emails(johnny)) == 3


def test_update_adds_to_an_existing_contact_matched_by_email(admin_user):
    existing = make_contact(owner=admin_user, first_name="J.", last_name="Appleseed",
                            emails=[{"email": "j.appleseed@apple.com", "kind": "work"}], tags=["Golf"])
    run(admin_user, "apple-contacts.vcf")
    existing.refresh_from_db()
    assert existing.first_name == "Johnny"
    assert emails(existing)[0] == ("j.appleseed@apple.com", "work")  # the existing primary stays first
    assert {e for e, _k in emails(existing)} == {"j.appleseed@apple.com", "johnny.appleseed@icloud.com",
                                                 "johnny@me.com"}
    assert tags(existing) == ["Friends", "Golf", "VIP"]
    assert existing.external_id == "5F2C6B2E-1D0A-4B8E-9C39-0E1F2A3B4C5D"
    audit = AuditEntry.objects.filter(object_type="contact", object_id=existing.pk, action=AuditAction.UPDATE)
    assert any("photo" in entry.changes for entry in audit)


def test_an_email_of_a_contact_the_user_cannot_see_is_reported_not_revealed(sales_user):
    outsider = make_user("sales", team=make_team("Other"), email="out@example.com")
    make_contact(owner=outsider, first_name="Hidden", emails=["first.good@example.com"])
    report = run(sales_user, "broken-and-good.vcf")
    line = next(ln for ln in report.lines if ln.number == 1)
    assert line.status == "failed"
    assert line.reasons == ["Email: first.good@example.com is already in use by another contact."]


def test_readonly_role_cannot_import(db):
    reader = make_user("readonly", email="reader@example.com")
    with pytest.raises(PermissionDenied):
        run(reader, "google-contacts.vcf")
    assert not Contact.objects.exists()


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_round_trip_keeps_the_fields(admin_user, version):
    import vobject

    from amity.contacts import selectors

    run(admin_user, "apple-contacts.vcf")
    run(admin_user, "chinese-names.vcf")
    originals = {c.pk: c for c in selectors.contact_queryset(user=admin_user, params={}).prefetch_related(
        "emails", "phones", "special_dates", "tags")}
    text = "".join(vcard.build_vcard(c, version) for c in originals.values())
    assert len(list(vobject.readComponents(text))) == len(originals)  # vobject reads what we write
    snapshot = {c.display_name: (emails(c), phones(c), dates(c), tags(c), c.company.name if c.company else "",
                                 c.job_title, c.city, c.country, c.photo, c.external_id)
                for c in originals.values()}
    Contact.objects.all().delete()
    report = vcard_services.import_vcards(user=admin_user, raw=text.encode())
    assert (report.created, report.failed) == (len(originals), 0)
    again = {c.display_name: (emails(c), phones(c), dates(c), tags(c), c.company.name if c.company else "",
                              c.job_title, c.city, c.country, c.photo, c.external_id)
             for c in Contact.objects.all()}
    # external ids: ours is urn:uuid:<uuid> for contacts that had none
    for name in snapshot:
        assert again[name][:9] == snapshot[name][:9], name
        if snapshot[name][9]:
            assert again[name][9] == snapshot[name][9]


def test_birthday_without_year_is_written_per_version(admin_user):
    from amity.contacts import selectors

    contact = make_contact(owner=admin_user, first_name="Ada", birthday="--04-15", special_dates=[
        {"kind": "anniversary", "date": "2001-02-03"}])
    contact = selectors.get_contact(user=admin_user, uuid=contact.uuid)
    v3 = vcard.build_vcard(contact, "3.0")
    v4 = vcard.build_vcard(contact, "4.0")
    assert "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15\r\n" in v3
    assert "X-ANNIVERSARY:2001-02-03\r\n" in v3
    assert "BDAY:--0415\r\n" in v4
    assert "ANNIVERSARY:20010203\r\n" in v4
    assert SpecialDate.objects.count() == 2


def test_escaping_of_special_characters(admin_user):
    from amity.contacts import selectors

    contact = make_contact(owner=admin_user, first_name="A;B", last_name="C,D\\E", job_title="Boss; <b>x</b>")
    text = vcard.build_vcard(selectors.get_contact(user=admin_user, uuid=contact.uuid))
    assert "N:C\\,D\\\\E;A\\;B;;;\r\n" in text
    assert "TITLE:Boss\\; <b>x</b>\r\n" in text
    card = next(vcard.parse_vcards(text))
    assert (card.data["first_name"], card.data["last_name"], card.data["job_title"]) == ("A;B", "C,D\\E",
                                                                                         "Boss; <b>x</b>")
