"""What an imported column can become: the fields per object type, suggested mappings from header names
(English and Chinese), ready presets for HubSpot, Salesforce and Pipedrive exports, and mapping validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

OBJECT_TYPES = ("contact", "company", "deal", "order")
VALUE_TYPES = ("text", "email", "phone", "date", "datetime", "decimal", "bool", "choice", "list")


@dataclass(frozen=True)
class ImportField:
    key: str
    label: Any  # a lazy translation; str(label) in the active language
    value_type: str
    multiple: bool = False
    required: bool = False


def _f(key: str, label: Any, value_type: str = "text", multiple: bool = False) -> ImportField:
    return ImportField(key=key, label=label, value_type=value_type, multiple=multiple)


_ADDRESS = [
    _f("street", gettext_lazy("Street")),
    _f("city", gettext_lazy("City")),
    _f("region", gettext_lazy("Region / state")),
    _f("postal_code", gettext_lazy("Postal code")),
    _f("country", gettext_lazy("Country")),
]

FIELDS: dict[str, list[ImportField]] = {
    "contact": [
        _f("first_name", gettext_lazy("First name")),
        _f("last_name", gettext_lazy("Last name")),
        _f("full_name", gettext_lazy("Full name (split into first and last)")),
        _f("email", gettext_lazy("Email"), "email", multiple=True),
        _f("phone", gettext_lazy("Phone"), "phone", multiple=True),
        _f("company", gettext_lazy("Company")),
        _f("job_title", gettext_lazy("Job title")),
        _f("lifecycle_stage", gettext_lazy("Lifecycle stage"), "choice"),
        _f("source", gettext_lazy("Source")),
        _f("tags", gettext_lazy("Tags"), "list", multiple=True),
        _f("birthday", gettext_lazy("Birthday"), "date"),
        *_ADDRESS,
        _f("time_zone", gettext_lazy("Time zone")),
        _f("language", gettext_lazy("Language")),
        _f("owner_email", gettext_lazy("Owner (email)"), "email"),
        _f("external_id", gettext_lazy("External id")),
        _f("do_not_contact", gettext_lazy("Do not contact"), "bool"),
        _f("notes", gettext_lazy("Notes")),
    ],
    "company": [
        ImportField("name", gettext_lazy("Name"), "text", required=True),
        _f("domain", gettext_lazy("Domain / website")),
        _f("industry", gettext_lazy("Industry")),
        _f("size", gettext_lazy("Size"), "choice"),
        _f("phone", gettext_lazy("Phone"), "phone"),
        *_ADDRESS,
        _f("description", gettext_lazy("Description")),
        _f("tags", gettext_lazy("Tags"), "list", multiple=True),
        _f("owner_email", gettext_lazy("Owner (email)"), "email"),
        _f("external_id", gettext_lazy("External id")),
    ],
    "deal": [
        ImportField("name", gettext_lazy("Name"), "text", required=True),
        _f("amount", gettext_lazy("Amount"), "decimal"),
        _f("currency", gettext_lazy("Currency")),
        _f("stage", gettext_lazy("Stage"), "choice"),
        _f("pipeline", gettext_lazy("Pipeline"), "choice"),
        _f("expected_close", gettext_lazy("Expected close date"), "date"),
        _f("owner_email", gettext_lazy("Owner (email)"), "email"),
        _f("company", gettext_lazy("Company")),
        _f("contact_email", gettext_lazy("Contact (email)"), "email"),
        _f("tags", gettext_lazy("Tags"), "list", multiple=True),
        _f("external_id", gettext_lazy("External id")),
    ],
    "order": [
        _f("external_id", gettext_lazy("Order id (in the shop)")),
        _f("number", gettext_lazy("Order number")),
        _f("email", gettext_lazy("Customer email"), "email"),
        _f("placed_at", gettext_lazy("Placed at"), "datetime"),
        _f("status", gettext_lazy("Status"), "choice"),
        _f("channel", gettext_lazy("Channel")),
        _f("currency", gettext_lazy("Currency")),
        _f("total", gettext_lazy("Total"), "decimal"),
        _f("tax_total", gettext_lazy("Tax"), "decimal"),
        _f("discount_total", gettext_lazy("Discount"), "decimal"),
        _f("shipping_total", gettext_lazy("Shipping"), "decimal"),
        _f("sku", gettext_lazy("Line: SKU")),
        _f("product_name", gettext_lazy("Line: product name")),
        _f("quantity", gettext_lazy("Line: quantity"), "decimal"),
        _f("unit_price", gettext_lazy("Line: unit price"), "decimal"),
    ],
}

_CUSTOM_VALUE_TYPES = {"text": "text", "number": "decimal", "date": "date", "choice": "choice",
                       "multi_choice": "list", "boolean": "bool", "url": "text"}


def fields_for(object_type: str) -> list[ImportField]:
    """The built-in fields plus the workspace's custom fields ("custom.<key>") for ``object_type``."""
    if object_type not in FIELDS:
        raise ValueError(f"unknown object type {object_type!r}")
    from amity.core.customfields import definitions

    custom = [
        ImportField(key=f"custom.{d.key}", label=d.label, value_type=_CUSTOM_VALUE_TYPES.get(d.field_type, "text"))
        for d in definitions(object_type)
    ] if object_type != "order" else []
    return [*FIELDS[object_type], *custom]


# ---------------------------------------------------------------------------------------------------------------
# Header names

def header_key(header: str) -> str:
    """"First Name", "first_name", "FIRST-NAME", " First  name:" → "firstname"; "电子 邮件" → "电子邮件"."""
    return re.sub(r"[\W_]+", "", header.casefold())


# Per object type: field key → header names people use (English and Chinese). Matched after header_key().
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "contact": {
        "first_name": ["first name", "firstname", "given name", "forename", "first", "名", "名字"],
        "last_name": ["last name", "lastname", "surname", "family name", "second name", "last", "姓", "姓氏"],
        "full_name": ["name", "full name", "contact name", "person", "person name", "contact", "姓名",
                      "联系人", "联系人姓名", "客户姓名", "客户名称", "全名"],
        "email": ["email", "e-mail", "email address", "e-mail address", "mail", "work email", "personal email",
                  "email 2", "other email", "secondary email", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址",
                  "email地址"],
        "phone": ["phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "mobile number", "cell",
                  "cell phone", "work phone", "home phone", "business phone", "手机", "手机号", "手机号码",
                  "电话", "电话号码", "联系电话", "座机", "移动电话"],
        "company": ["company", "company name", "organization", "organisation", "organization name", "account",
                    "account name", "employer", "公司", "公司名称", "单位", "企业", "企业名称", "工作单位"],
        "job_title": ["job title", "title", "position", "role", "job", "职位", "职务", "头衔", "岗位"],
        "lifecycle_stage": ["lifecycle stage", "lifecycle", "stage", "lead status", "status", "生命周期阶段",
                            "客户阶段", "阶段"],
        "source": ["source", "lead source", "original source", "channel", "来源", "客户来源", "线索来源"],
        "tags": ["tags", "tag", "labels", "label", "categories", "category", "标签", "分类"],
        "birthday": ["birthday", "birth date", "birthdate", "date of birth", "dob", "生日", "出生日期"],
        "street": ["street", "street address", "address", "address line 1", "address 1", "mailing street",
                   "地址", "街道", "详细地址"],
        "city": ["city", "town", "mailing city", "城市", "市"],
        "region": ["region", "state", "province", "state/region", "state/province", "county", "mailing state",
                   "mailing state/province", "省", "省份", "地区", "州"],
        "postal_code": ["postal code", "postcode", "zip", "zip code", "postal", "mailing zip/postal code",
                        "postal/zip code", "邮编", "邮政编码"],
        "country": ["country", "country/region", "mailing country", "nation", "国家", "国家/地区"],
        "time_zone": ["time zone", "timezone", "tz", "时区"],
        "language": ["language", "preferred language", "locale", "语言", "首选语言"],
        "owner_email": ["owner", "owner email", "contact owner", "account owner", "sales rep", "assigned to",
                        "负责人", "所有者", "跟进人", "销售"],
        "external_id": ["id", "external id", "record id", "contact id", "person id", "crm id", "uuid", "编号",
                        "客户编号", "id号"],
        "do_not_contact": ["do not contact", "do not call", "do not email", "unsubscribed", "email opt out",
                           "opted out", "opt out", "勿扰", "请勿联系", "退订"],
        "notes": ["notes", "note", "comments", "comment", "description", "remarks", "备注", "说明", "描述"],
    },
    "company": {
        "name": ["name", "company", "company name", "organization", "organisation", "organization name",
                 "account", "account name", "business name", "公司", "公司名称", "企业", "企业名称", "名称",
                 "单位", "客户名称"],
        "domain": ["domain", "company domain", "company domain name", "website", "web site", "website url",
                   "url", "homepage", "网站", "官网", "域名", "网址"],
        "industry": ["industry", "sector", "行业", "所属行业"],
        "size": ["size", "company size", "employees", "number of employees", "headcount", "员工人数", "规模",
                 "公司规模"],
        "phone": ["phone", "phone number", "telephone", "tel", "company phone", "电话", "公司电话", "联系电话"],
        "street": ["street", "street address", "address", "address line 1", "billing street", "地址", "街道"],
        "city": ["city", "town", "billing city", "城市", "市"],
        "region": ["region", "state", "province", "state/region", "billing state/province", "省", "省份", "地区"],
        "postal_code": ["postal code", "postcode", "zip", "zip code", "billing zip/postal code", "邮编",
                        "邮政编码"],
        "country": ["country", "country/region", "billing country", "国家", "国家/地区"],
        "description": ["description", "about", "notes", "note", "简介", "描述", "备注"],
        "tags": ["tags", "tag", "labels", "label", "标签"],
        "owner_email": ["owner", "owner email", "company owner", "account owner", "负责人", "所有者"],
        "external_id": ["id", "external id", "record id", "account id", "company id", "organization id",
                        "编号", "公司编号"],
    },
    "deal": {
        "name": ["name", "deal", "deal name", "title", "deal title", "opportunity", "opportunity name", "商机",
                 "商机名称", "交易", "交易名称", "名称", "项目名称"],
        "amount": ["amount", "value", "deal value", "deal amount", "total", "金额", "商机金额", "价值"],
        "currency": ["currency", "deal currency", "currency code", "币种", "货币"],
        "stage": ["stage", "deal stage", "status", "阶段", "商机阶段", "销售阶段"],
        "pipeline": ["pipeline", "deal pipeline", "sales pipeline", "管道", "销售管道", "流程"],
        "expected_close": ["expected close", "expected close date", "close date", "closing date",
                           "expected closing date", "预计成交日期", "预计成交", "成交日期"],
        "owner_email": ["owner", "owner email", "deal owner", "opportunity owner", "负责人", "所有者"],
        "company": ["company", "company name", "organization", "organization name", "account", "account name",
                    "associated company", "公司", "客户", "公司名称", "客户名称"],
        "contact_email": ["contact email", "email", "person email", "contact", "联系人邮箱", "邮箱"],
        "tags": ["tags", "tag", "labels", "label", "标签"],
        "external_id": ["id", "external id", "record id", "deal id", "opportunity id", "编号", "商机编号"],
    },
    "order": {
        "external_id": ["id", "order id", "external id", "订单id", "订单编号"],
        "number": ["number", "order number", "order no", "order", "name", "订单号"],
        "email": ["email", "customer email", "e-mail", "buyer email", "邮箱", "客户邮箱"],
        "placed_at": ["placed at", "created at", "order date", "date", "created", "processed at", "下单时间",
                      "下单日期", "订单日期", "创建时间"],
        "status": ["status", "order status", "financial status", "订单状态", "状态"],
        "channel": ["channel", "source", "sales channel", "渠道", "来源"],
        "currency": ["currency", "币种", "货币"],
        "total": ["total", "order total", "grand total", "amount", "总计", "总金额", "订单金额", "实付金额"],
        "tax_total": ["tax", "taxes", "tax total", "vat", "税", "税额"],
        "discount_total": ["discount", "discounts", "discount amount", "discount total", "折扣", "优惠",
                           "优惠金额"],
        "shipping_total": ["shipping", "shipping cost", "shipping total", "delivery", "运费"],
        "sku": ["sku", "lineitem sku", "item sku", "product sku", "货号", "商品编码"],
        "product_name": ["product", "product name", "item", "item name", "lineitem name", "商品", "商品名称",
                         "产品", "产品名称"],
        "quantity": ["quantity", "qty", "lineitem quantity", "数量"],
        "unit_price": ["unit price", "price", "lineitem price", "item price", "单价", "价格"],
    },
}

# Presets: the headers of each CRM's own exports, per object type. Exact header → field key.
_PRESETS_BY_OBJECT: dict[str, dict[str, dict[str, str]]] = {
    "hubspot": {
        "contact": {
            "Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
            "Phone Number": "phone", "Mobile Phone Number": "phone", "Company Name": "company",
            "Job Title": "job_title", "Lifecycle Stage": "lifecycle_stage", "Contact owner": "owner_email",
            "Original Source": "source", "Street Address": "street", "City": "city", "State/Region": "region",
            "Postal Code": "postal_code", "Country/Region": "country", "Time Zone": "time_zone",
            "Preferred language": "language", "Date of birth": "birthday",
            "Unsubscribed from all email": "do_not_contact", "Additional email addresses": "email",
        },
        "company": {
            "Record ID": "external_id", "Company name": "name", "Company Domain Name": "domain",
            "Website URL": "domain", "Industry": "industry", "Number of Employees": "size",
            "Phone Number": "phone", "Street Address": "street", "City": "city", "State/Region": "region",
            "Postal Code": "postal_code", "Country/Region": "country", "Company owner": "owner_email",
            "Description": "description",
        },
        "deal": {
            "Record ID": "external_id", "Deal Name": "name", "Amount": "amount", "Deal Stage": "stage",
            "Pipeline": "pipeline", "Close Date": "expected_close", "Deal owner": "owner_email",
            "Currency": "currency", "Associated Company": "company",
        },
    },
    "salesforce": {
        "contact": {
            "Contact ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
            "Phone": "phone", "Mobile": "phone", "Account Name": "company", "Title": "job_title",
            "Lead Source": "source", "Mailing Street": "street", "Mailing City": "city",
            "Mailing State/Province": "region", "Mailing Zip/Postal Code": "postal_code",
            "Mailing Country": "country", "Birthdate": "birthday", "Email Opt Out": "do_not_contact",
            "Contact Owner": "owner_email", "Description": "notes",
        },
        "company": {
            "Account ID": "external_id", "Account Name": "name", "Website": "domain", "Industry": "industry",
            "Employees": "size", "Phone": "phone", "Billing Street": "street", "Billing City": "city",
            "Billing State/Province": "region", "Billing Zip/Postal Code": "postal_code",
            "Billing Country": "country", "Account Owner": "owner_email", "Description": "description",
        },
        "deal": {
            "Opportunity ID": "external_id", "Opportunity Name": "name", "Amount": "amount", "Stage": "stage",
            "Close Date": "expected_close", "Opportunity Owner": "owner_email", "Account Name": "company",
            "Opportunity Currency": "currency",
        },
    },
    "pipedrive": {
        "contact": {
            "Person - ID": "external_id", "Person - Name": "full_name", "Person - First name": "first_name",
            "Person - Last name": "last_name", "Person - Email": "email", "Person - Phone": "phone",
            "Person - Organization": "company", "Organization - Name": "company",
            "Person - Job title": "job_title", "Person - Owner": "owner_email", "Person - Labels": "tags",
            "Person - Label": "tags", "Person - Birthday": "birthday", "Person - Notes": "notes",
            "Person - Postal address": "street",
        },
        "company": {
            "Organization - ID": "external_id", "Organization - Name": "name", "Organization - Address": "street",
            "Organization - Owner": "owner_email", "Organization - Labels": "tags",
            "Organization - Label": "tags", "Organization - Website": "domain",
            "Organization - Industry": "industry",
        },
        "deal": {
            "Deal - ID": "external_id", "Deal - Title": "name", "Deal - Value": "amount",
            "Deal - Currency": "currency", "Deal - Stage": "stage", "Deal - Pipeline": "pipeline",
            "Deal - Expected close date": "expected_close", "Deal - Owner": "owner_email",
            "Deal - Organization": "company", "Organization - Name": "company", "Person - Email": "contact_email",
            "Deal - Labels": "tags", "Deal - Label": "tags",
        },
    },
}

PRESET_LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce", "pipedrive": "Pipedrive"}

# The flat view: preset → export header → field key. Object-specific meanings are in preset_mapping().
PRESETS: dict[str, dict[str, str]] = {
    name: {header: key for obj in ("deal", "company", "contact") for header, key in per_object[obj].items()}
    for name, per_object in _PRESETS_BY_OBJECT.items()
}

# Headers only that CRM's exports use; two or more of them identify the export.
_SIGNATURES = {
    "hubspot": {"record id", "contact owner", "lifecycle stage", "company owner", "deal owner", "deal stage",
                "state/region", "country/region", "original source", "company domain name", "phone number",
                "associated company"},
    "salesforce": {"contact id", "account id", "opportunity id", "account name", "mailing city",
                   "mailing street", "mailing state/province", "mailing country", "email opt out",
                   "contact owner", "account owner", "opportunity name", "opportunity owner", "billing city",
                   "lead source"},
    "pipedrive": set(),  # recognised by its "Object - Field" headers
}


def preset_mapping(preset: str, object_type: str) -> dict[str, str]:
    """Header → field key of ``preset``'s export of ``object_type`` (empty for an unknown pair)."""
    return dict(_PRESETS_BY_OBJECT.get(preset, {}).get(object_type, {}))


def detect_preset(headers: list[str]) -> str | None:
    """Which CRM's export these headers come from, or None."""
    names = [h.strip().casefold() for h in headers]
    pipedrive = sum(1 for n in names if re.match(r"^(person|organization|deal|activity|product) - ", n))
    if pipedrive >= 2 and pipedrive * 2 >= len(names):
        return "pipedrive"
    scores = {preset: sum(1 for n in names if n in signature) for preset, signature in _SIGNATURES.items()}
    if scores["hubspot"] and scores["salesforce"]:
        # "Contact owner" and "Account Name" appear in both vocabularies; the one with more distinct hits wins.
        scores = {k: v - len(_SIGNATURES["hubspot"] & _SIGNATURES["salesforce"] & set(names)) for k, v in
                  scores.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 2 else None


def _synonym_index(object_type: str) -> dict[str, str]:
    return {header_key(name): key for key, names in SYNONYMS.get(object_type, {}).items() for name in names}


def suggest_mapping(object_type: str, headers: list[str], *, preset: str | None = None) -> dict[int, str]:
    """Column index → field key for the columns Amity recognises. A detected (or given) preset's headers win,
    then header names in English or Chinese, then custom-field labels/keys. A single-valued field gets only the
    first column that matches."""
    fields = {f.key: f for f in fields_for(object_type)}
    chosen = preset or detect_preset(headers)
    exact = {h.casefold(): k for h, k in preset_mapping(chosen, object_type).items()} if chosen else {}
    synonyms = _synonym_index(object_type)
    for key, f in fields.items():
        if key.startswith("custom."):
            synonyms.setdefault(header_key(str(f.label)), key)
            synonyms.setdefault(header_key(key.removeprefix("custom.")), key)
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        found = exact.get(header.strip().casefold()) or synonyms.get(header_key(header))
        if found is None:
            found = synonyms.get(header_key(re.sub(r"\s*\(\d+\)$|\s+\d+$", "", header)))  # "Email (2)", "Phone 2"
        if found is None or found not in fields:
            continue
        key = found
        if key in taken and not fields[key].multiple:
            continue
        mapping[index] = key
        taken.add(key)
    return mapping


def validate_mapping(object_type: str, mapping: dict[int, str], headers: list[str]) -> None:
    """Raise ValidationError({"mapping": [...]}) for unknown columns or fields, two columns on a single-valued
    field, or a missing required field. Columns mapped to "" are skipped."""
    fields = {f.key: f for f in fields_for(object_type)}
    errors: list[str] = []
    columns_by_key: dict[str, list[int]] = {}
    for index, key in sorted(mapping.items()):
        if not key:
            continue
        if not isinstance(index, int) or not 0 <= index < len(headers):
            errors.append(_("Column %(number)s does not exist in the file.") % {"number": index})
            continue
        if key not in fields:
            errors.append(_("Column “%(column)s” maps to “%(field)s”, which is not a field of this record type.")
                          % {"column": headers[index], "field": key})
            continue
        columns_by_key.setdefault(key, []).append(index)
    for key, columns in columns_by_key.items():
        if len(columns) > 1 and not fields[key].multiple:
            names = ", ".join(f"“{headers[i]}”" for i in columns)
            errors.append(_("Columns %(columns)s all map to %(field)s; choose one, it holds a single value.")
                          % {"columns": names, "field": fields[key].label})
    mapped = set(columns_by_key)
    if object_type == "contact" and not mapped & {"first_name", "last_name", "full_name", "email", "phone"}:
        errors.append(_("Map at least one column to a name, an email or a phone number."))
    elif object_type == "order" and ("external_id" not in mapped or not mapped & {"total", "sku", "product_name"}):
        errors.append(_("Map a column to the order id and one to the total or to the line items."))
    for key, f in fields.items():
        if f.required and key not in mapped:
            errors.append(_("Map a column to %(field)s; it is required.") % {"field": f.label})
    if errors:
        raise ValidationError({"mapping": errors})
