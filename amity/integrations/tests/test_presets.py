"""Import fields, suggested mappings from header names (English, Chinese, CRM exports) and mapping validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from amity.core.models import CustomFieldDefinition, CustomFieldType
from amity.integrations import presets
from amity.integrations.presets import (
    FIELDS,
    PRESETS,
    detect_preset,
    fields_for,
    preset_mapping,
    suggest_mapping,
    validate_mapping,
)
from amity.integrations.readers import inspect

CSV = Path(__file__).resolve().parent / "samples" / "csv"
pytestmark = pytest.mark.django_db


def named(object_type: str, headers: list[str]) -> dict[str, str]:
    """The suggestion as header → field key, easier to read in assertions."""
    return {headers[i]: key for i, key in suggest_mapping(object_type, headers).items()}


def test_every_field_has_a_known_value_type_and_unique_key():
    for object_type, fields in FIELDS.items():
        keys = [f.key for f in fields]
        assert len(keys) == len(set(keys)), object_type
        assert {f.value_type for f in fields} <= set(presets.VALUE_TYPES)
    multiple = {f.key for f in FIELDS["contact"] if f.multiple}
    assert multiple == {"email", "phone", "tags"}
    assert [f.key for f in FIELDS["company"] if f.required] == ["name"]
    assert [f.key for f in FIELDS["deal"] if f.required] == ["name"]


def test_every_synonym_and_preset_points_at_a_real_field():
    for object_type, synonyms in presets.SYNONYMS.items():
        assert set(synonyms) <= {f.key for f in FIELDS[object_type]}, object_type
    for preset in PRESETS:
        for object_type in ("contact", "company", "deal"):
            assert set(preset_mapping(preset, object_type).values()) <= {f.key for f in FIELDS[object_type]}


def test_fields_for_appends_custom_fields():
    CustomFieldDefinition.objects.create(object_type="contact", key="shoe_size", label="Shoe size",
                                         field_type=CustomFieldType.NUMBER)
    CustomFieldDefinition.objects.create(object_type="company", key="tier", label="Tier",
                                         field_type=CustomFieldType.CHOICE, choices=["A", "B"])

    contact_fields = fields_for("contact")

    assert contact_fields[-1].key == "custom.shoe_size"
    assert (str(contact_fields[-1].label), contact_fields[-1].value_type) == ("Shoe size", "decimal")
    assert "custom.tier" not in {f.key for f in contact_fields}
    assert [f.key for f in fields_for("order")] == [f.key for f in FIELDS["order"]]
    with pytest.raises(ValueError):
        fields_for("ticket")


def test_suggest_mapping_english_variants():
    headers = ["First Name", "last_name", "E-mail", "Mobile Phone", "Company", "Job Title", "Zip Code",
               "Date of Birth", "Favourite colour"]

    assert named("contact", headers) == {
        "First Name": "first_name", "last_name": "last_name", "E-mail": "email", "Mobile Phone": "phone",
        "Company": "company", "Job Title": "job_title", "Zip Code": "postal_code", "Date of Birth": "birthday",
    }


def test_suggest_mapping_chinese_headers():
    headers = ["名", "姓", "邮箱", "电子邮件", "手机", "电话", "公司", "职位", "生日", "城市", "备注", "标签"]

    assert named("contact", headers) == {
        "名": "first_name", "姓": "last_name", "邮箱": "email", "电子邮件": "email", "手机": "phone",
        "电话": "phone", "公司": "company", "职位": "job_title", "生日": "birthday", "城市": "city",
        "备注": "notes", "标签": "tags",
    }
    assert named("contact", ["姓名", "手机号码"]) == {"姓名": "full_name", "手机号码": "phone"}


def test_suggest_mapping_never_maps_two_columns_to_a_single_valued_field():
    headers = ["Name", "Full Name", "Email", "Email (2)", "Phone 2", "City", "Town"]

    assert suggest_mapping("contact", headers) == {0: "full_name", 2: "email", 3: "email", 4: "phone", 5: "city"}


def test_suggest_mapping_for_companies_deals_and_orders():
    assert named("company", ["Company Name", "Website", "Industry", "Employees", "公司电话"]) == {
        "Company Name": "name", "Website": "domain", "Industry": "industry", "Employees": "size",
        "公司电话": "phone",
    }
    assert named("deal", ["Deal Name", "Amount", "Currency", "Stage", "Close Date", "Contact Email"]) == {
        "Deal Name": "name", "Amount": "amount", "Currency": "currency", "Stage": "stage",
        "Close Date": "expected_close", "Contact Email": "contact_email",
    }
    assert named("order", ["Order ID", "Email", "Created at", "Total", "Lineitem sku", "Lineitem quantity"]) == {
        "Order ID": "external_id", "Email": "email", "Created at": "placed_at", "Total": "total",
        "Lineitem sku": "sku", "Lineitem quantity": "quantity",
    }


def test_suggest_mapping_matches_custom_field_labels_and_keys():
    CustomFieldDefinition.objects.create(object_type="contact", key="shoe_size", label="Shoe size",
                                         field_type=CustomFieldType.NUMBER)
    CustomFieldDefinition.objects.create(object_type="contact", key="loyalty_tier", label="Tier",
                                         field_type=CustomFieldType.TEXT)

    assert named("contact", ["Email", "Shoe Size", "loyalty_tier"]) == {
        "Email": "email", "Shoe Size": "custom.shoe_size", "loyalty_tier": "custom.loyalty_tier",
    }


@pytest.mark.parametrize(
    ("sample", "preset", "object_type", "expected"),
    [
        ("hubspot_contacts.csv", "hubspot", "contact", {
            "Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
            "Phone Number": "phone", "Company Name": "company", "Job Title": "job_title",
            "Lifecycle Stage": "lifecycle_stage", "Contact owner": "owner_email", "City": "city",
            "Country/Region": "country",
        }),
        ("salesforce_contacts.csv", "salesforce", "contact", {
            "Contact ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Title": "job_title",
            "Account Name": "company", "Email": "email", "Phone": "phone", "Mobile": "phone",
            "Mailing Street": "street", "Mailing City": "city", "Mailing State/Province": "region",
            "Mailing Zip/Postal Code": "postal_code", "Mailing Country": "country", "Lead Source": "source",
            "Email Opt Out": "do_not_contact", "Birthdate": "birthday", "Contact Owner": "owner_email",
        }),
        ("pipedrive_deals.csv", "pipedrive", "deal", {
            "Deal - ID": "external_id", "Deal - Title": "name", "Deal - Value": "amount",
            "Deal - Currency": "currency", "Deal - Stage": "stage", "Deal - Pipeline": "pipeline",
            "Deal - Expected close date": "expected_close", "Deal - Owner": "owner_email",
            "Organization - Name": "company", "Person - Email": "contact_email",
        }),
        ("pipedrive_persons.csv", "pipedrive", "contact", {
            "Person - ID": "external_id", "Person - Name": "full_name", "Person - Email": "email",
            "Person - Phone": "phone", "Person - Organization": "company", "Person - Labels": "tags",
            "Person - Owner": "owner_email",
        }),
    ],
    ids=["hubspot", "salesforce", "pipedrive-deals", "pipedrive-persons"],
)
def test_crm_exports_are_recognised_and_fully_mapped(sample, preset, object_type, expected):
    headers = inspect(CSV / sample).headers

    assert detect_preset(headers) == preset
    mapping = named(object_type, headers)
    assert mapping == expected
    validate_mapping(object_type, suggest_mapping(object_type, headers), headers)


def test_preset_mapping_depends_on_the_object_type():
    assert preset_mapping("pipedrive", "company")["Organization - Name"] == "name"
    assert preset_mapping("pipedrive", "contact")["Organization - Name"] == "company"
    assert preset_mapping("hubspot", "company")["Company name"] == "name"
    assert preset_mapping("nosuch", "contact") == {}
    assert PRESETS["hubspot"]["Lifecycle Stage"] == "lifecycle_stage"
    assert named("company", ["Organization - Name", "Organization - Address", "Person - Name"]) == {
        "Organization - Name": "name", "Organization - Address": "street",
    }


@pytest.mark.parametrize(
    "headers",
    [["Name", "Email"], ["First Name", "Email", "Phone Number"], ["名", "邮箱"], [], ["Person - Name", "A", "B", "C",
                                                                                   "D"]],
)
def test_detect_preset_is_none_for_generic_headers(headers):
    assert detect_preset(headers) is None


def test_validate_mapping_accepts_a_good_mapping_and_skipped_columns():
    validate_mapping("contact", {0: "first_name", 1: "email", 2: "email", 3: ""}, ["First", "E1", "E2", "Skip"])


@pytest.mark.parametrize(
    ("object_type", "mapping", "headers", "messages"),
    [
        ("contact", {0: "phone", 1: "job_title", 2: "job_title"}, ["Tel", "Title", "Position"],
         ["Columns “Title”, “Position” all map to Job title; choose one, it holds a single value."]),
        ("contact", {0: "email", 1: "shoe_size"}, ["Email", "Shoes"],
         ["Column “Shoes” maps to “shoe_size”, which is not a field of this record type."]),
        ("contact", {0: "email", 5: "city"}, ["Email"], ["Column 5 does not exist in the file."]),
        ("contact", {0: "city", 1: "job_title"}, ["City", "Title"],
         ["Map at least one column to a name, an email or a phone number."]),
        ("company", {0: "domain"}, ["Website"], ["Map a column to Name; it is required."]),
        ("deal", {0: "amount"}, ["Value"], ["Map a column to Name; it is required."]),
        ("order", {0: "external_id"}, ["Id"], ["Map a column to the order id and one to the total or to the line "
                                                "items."]),
    ],
    ids=["two-on-single", "unknown-field", "no-such-column", "contact-needs-identity", "company-name",
         "deal-name", "order-total"],
)
def test_validate_mapping_explains_each_problem(object_type, mapping, headers, messages):
    with pytest.raises(ValidationError) as error:
        validate_mapping(object_type, mapping, headers)
    assert error.value.message_dict == {"mapping": messages}


def test_validate_mapping_order_with_lines_is_enough():
    validate_mapping("order", {0: "external_id", 1: "sku", 2: "quantity"}, ["Id", "SKU", "Qty"])
