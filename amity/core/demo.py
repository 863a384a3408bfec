"""The demo workspace generator behind ``amity demo``.

It writes what the services would write (display names, denormalised primary email/phone, lower-case unique
emails, E.164 phones, search documents, timeline events, tags, special dates, preferences, interactions, tasks)
but in batched multi-row inserts with pre-assigned ids, one transaction per chunk, because one service call per
row would take hours for a million contacts. Users, teams and tags are few, so they go through the services.

Everything random comes from ``random.Random(seed)``, so a seed always builds the same workspace;
passwords come from ``secrets``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import multiprocessing
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from amity.accounts.models import Role, Team, User
from amity.accounts.services import create_user
from amity.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    Preference,
    SpecialDate,
)
from amity.contacts.services import tags_by_name
from amity.core import search
from amity.core.models import Event, EventStatus, SearchDocument
from amity.core.normalize import display_name, is_cjk
from amity.timeline.models import Interaction, Task

ADMIN_EMAIL = "admin@example.com"
URL = "http://127.0.0.1:8000/"
CHUNK = 10_000
# Rows are committed every COMMIT_CONTACTS contacts: with random-keyed indexes (uuid, email, name…) each commit
# rewrites most index pages, so fewer, larger transactions write far less (SQLite keeps them in a big cache).
COMMIT_CONTACTS = 100_000
LOAD_CACHE_KIB = 3 * 1024 * 1024
INSERT_BATCH = 4_000

# --- the people who use the workspace -------------------------------------------------------------------------

# (email, full name, role key, team name or None, time zone, language)
DEMO_USERS: list[tuple[str, str, str, str | None, str, str]] = [
    (ADMIN_EMAIL, "Alex Admin", "admin", None, "UTC", "en"),
    ("maya.manager@example.com", "Maya Manager", "manager", "North", "America/New_York", "en"),
    ("sam.sales@example.com", "Sam Sales", "sales", "North", "America/New_York", "en"),
    ("sophie.sales@example.com", "Sophie Sales", "sales", "North", "Europe/London", "en"),
    ("mark.marketing@example.com", "Mark Marketing", "marketing", "North", "America/Chicago", "en"),
    ("suki.support@example.com", "Suki Support", "support", "North", "America/Los_Angeles", "en"),
    ("rita.readonly@example.com", "Rita Readonly", "readonly", "North", "UTC", "en"),
    ("max.manager@example.com", "Max Manager", "manager", "South", "Europe/Berlin", "en"),
    ("lina.sales@example.com", "李娜", "sales", "South", "Asia/Shanghai", "zh-hans"),
    ("steve.sales@example.com", "Steve Sales", "sales", "South", "Australia/Sydney", "en"),
    ("mei.marketing@example.com", "陈美", "marketing", "South", "Asia/Shanghai", "zh-hans"),
    ("sunny.support@example.com", "Sunny Support", "support", "South", "Asia/Singapore", "en"),
    ("ray.readonly@example.com", "Ray Readonly", "readonly", "South", "UTC", "en"),
]
OWNER_ROLES = {"admin", "manager", "sales"}

TAGS = ["vip", "newsletter", "wholesale", "partner", "referral", "trade-show", "at-risk", "beta", "reseller",
        "重要客户"]
TAG_WEIGHTS = [8, 30, 10, 6, 8, 7, 5, 4, 5, 6]

# --- geography: country → (weight, share of Chinese names, cities, language, phone/email flavour) --------------

# city, region, time zone, postal code pattern
Cities = list[tuple[str, str, str, str]]
COUNTRIES: dict[str, dict[str, Any]] = {
    "US": {"weight": 24, "cn": 0.08, "lang": "en", "cities": [
        ("New York", "NY", "America/New_York", "100##"), ("San Francisco", "CA", "America/Los_Angeles", "941##"),
        ("Chicago", "IL", "America/Chicago", "606##"), ("Austin", "TX", "America/Chicago", "787##"),
        ("Seattle", "WA", "America/Los_Angeles", "981##"), ("Boston", "MA", "America/New_York", "021##"),
        ("Denver", "CO", "America/Denver", "802##"), ("Miami", "FL", "America/New_York", "331##")]},
    "CN": {"weight": 20, "cn": 1.0, "lang": "zh-hans", "cities": [
        ("上海", "上海市", "Asia/Shanghai", "200###"), ("北京", "北京市", "Asia/Shanghai", "100###"),
        ("深圳", "广东省", "Asia/Shanghai", "518###"), ("杭州", "浙江省", "Asia/Shanghai", "310###"),
        ("广州", "广东省", "Asia/Shanghai", "510###"), ("成都", "四川省", "Asia/Shanghai", "610###")]},
    "GB": {"weight": 10, "cn": 0.04, "lang": "en", "cities": [
        ("London", "England", "Europe/London", "EC1A #BB"), ("Manchester", "England", "Europe/London", "M1 #AE"),
        ("Edinburgh", "Scotland", "Europe/London", "EH1 #YZ"), ("Bristol", "England", "Europe/London", "BS1 #QA")]},
    "DE": {"weight": 8, "cn": 0.02, "lang": "de", "cities": [
        ("Berlin", "Berlin", "Europe/Berlin", "101##"), ("München", "Bayern", "Europe/Berlin", "803##"),
        ("Hamburg", "Hamburg", "Europe/Berlin", "203##"), ("Köln", "Nordrhein-Westfalen", "Europe/Berlin", "506##")]},
    "CA": {"weight": 6, "cn": 0.10, "lang": "en", "cities": [
        ("Toronto", "ON", "America/Toronto", "M5V #A#"), ("Vancouver", "BC", "America/Vancouver", "V6B #C#"),
        ("Montréal", "QC", "America/Toronto", "H2X #B#")]},
    "SG": {"weight": 6, "cn": 0.60, "lang": "en", "cities": [("Singapore", "", "Asia/Singapore", "0#####")]},
    "AU": {"weight": 5, "cn": 0.08, "lang": "en", "cities": [
        ("Sydney", "NSW", "Australia/Sydney", "20##"), ("Melbourne", "VIC", "Australia/Melbourne", "30##"),
        ("Brisbane", "QLD", "Australia/Brisbane", "40##")]},
    "HK": {"weight": 5, "cn": 0.85, "lang": "zh-hant", "cities": [("香港", "", "Asia/Hong_Kong", "")]},
    "FR": {"weight": 5, "cn": 0.02, "lang": "fr", "cities": [
        ("Paris", "Île-de-France", "Europe/Paris", "750##"), ("Lyon", "Auvergne-Rhône-Alpes", "Europe/Paris", "690##"),
        ("Bordeaux", "Nouvelle-Aquitaine", "Europe/Paris", "330##")]},
    "ES": {"weight": 4, "cn": 0.02, "lang": "es", "cities": [
        ("Madrid", "Madrid", "Europe/Madrid", "280##"), ("Barcelona", "Cataluña", "Europe/Madrid", "080##")]},
    "NL": {"weight": 4, "cn": 0.02, "lang": "nl", "cities": [
        ("Amsterdam", "Noord-Holland", "Europe/Amsterdam", "10## AB"),
        ("Rotterdam", "Zuid-Holland", "Europe/Amsterdam", "30## CD")]},
    "TW": {"weight": 3, "cn": 1.0, "lang": "zh-hant", "cities": [
        ("台北", "台北市", "Asia/Taipei", "1##"), ("台中", "台中市", "Asia/Taipei", "4##")]},
}
CN_REGIONS = {"CN", "TW", "HK"}
STREETS = {
    "default": ["Main St", "Oak Ave", "Market St", "High St", "King St", "Park Rd", "Elm St", "Harbour Rd",
                "Queen St", "Station Rd", "Church St", "Mill Lane", "River Rd", "Maple Ave", "Cedar St"],
    "DE": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schillerstraße"],
    "FR": ["rue de la Paix", "avenue Victor Hugo", "rue du Moulin", "boulevard Voltaire"],
    "ES": ["Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo del Prado"],
    "NL": ["Herengracht", "Kerkstraat", "Damrak", "Prinsengracht"],
    "CN": ["南京西路", "淮海中路", "人民路", "中山路", "建国路", "解放路"],
    "TW": ["忠孝東路", "中山北路", "信義路"],
    "HK": ["皇后大道中", "彌敦道", "軒尼詩道"],
}

# --- names ------------------------------------------------------------------------------------------------------

CN_FAMILY = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
             ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
             ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"),
             ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
             ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("许", "xu")]
CN_GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
            ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
            ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
            ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("小明", "xiaoming"),
            ("建华", "jianhua"), ("志强", "zhiqiang"), ("晓东", "xiaodong"), ("海燕", "haiyan"),
            ("婷婷", "tingting"), ("子轩", "zixuan"), ("梓涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"),
            ("宇轩", "yuxuan"), ("思远", "siyuan"), ("嘉怡", "jiayi"), ("俊杰", "junjie"), ("雨桐", "yutong"),
            ("文博", "wenbo"), ("佳琪", "jiaqi"), ("慧敏", "huimin")]
WESTERN_FIRST = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
    "Matthew", "Lisa", "Anthony", "Emily", "Mark", "Olivia", "Steven", "Emma", "Paul", "Sophia", "Andrew",
    "Isabella", "Joshua", "Chloe", "Kevin", "Grace", "Brian", "Hannah", "George", "Amelia", "Oliver", "Charlotte",
    "Lukas", "Lena", "Felix", "Mia", "Jonas", "Hannah", "Louis", "Camille", "Hugo", "Léa", "Lucas", "Manon",
    "Pablo", "Lucía", "Javier", "Carmen", "Daan", "Sanne", "Noah", "Ava", "Liam", "Zoe", "Ethan", "Ruby", "Jack",
    "Isla", "Henry", "Freya", "Samuel", "Priya", "Arjun", "Aisha", "Omar", "Fatima", "Mateo", "Valentina",
]
WESTERN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams",
    "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed",
    "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett",
    "Gray", "Hughes", "Price", "Sanders", "Patel", "Singh", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Becker", "Dubois", "Laurent", "Moreau", "Lefèvre", "Fernández", "López", "Sánchez", "de Vries", "van Dijk",
    "Jansen", "O'Brien", "MacDonald", "Nguyen", "Kim", "Park", "Novak", "Kowalski", "Rossi", "Russo", "Silva",
]
PERSONAL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com"]
CN_PERSONAL_DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com"]

# --- companies --------------------------------------------------------------------------------------------------

COMPANY_WORDS = [
    "Northwind", "Blue Harbor", "Silver Oak", "Redwood", "Summit", "Evergreen", "Brightside", "Ironbridge",
    "Maple", "Cedar", "Pioneer", "Atlas", "Nova", "Lumen", "Sterling", "Crescent", "Horizon", "Keystone",
    "Meridian", "Orchid", "Pinnacle", "Quantum", "Riverstone", "Sapphire", "Tidewater", "Vanguard", "Willow",
    "Aurora", "Beacon", "Copperfield", "Driftwood", "Emberly", "Foxglove", "Granite", "Highland", "Juniper",
    "Kestrel", "Lakeside", "Moonrise", "Oakridge", "Peregrine", "Quarry", "Rosewood", "Seaside", "Thornbury",
    "Upland", "Verdant", "Westbrook", "Yarrow", "Zephyr", "Alder", "Birchwood", "Clearwater", "Dovetail",
    "Eastgate", "Fairview", "Goldcrest", "Hawthorn", "Indigo", "Larkspur",
]
# word, industry
COMPANY_KINDS = [
    ("Trading", "Wholesale"), ("Logistics", "Logistics"), ("Foods", "Food & Beverage"), ("Software", "Software"),
    ("Labs", "Biotech"), ("Systems", "Software"), ("Retail", "Retail"), ("Coffee", "Food & Beverage"),
    ("Bakery", "Food & Beverage"), ("Textiles", "Manufacturing"), ("Design", "Creative services"),
    ("Consulting", "Consulting"), ("Health", "Healthcare"), ("Dental", "Healthcare"), ("Motors", "Automotive"),
    ("Print", "Media"), ("Studio", "Creative services"), ("Analytics", "Software"), ("Supply", "Wholesale"),
    ("Farms", "Agriculture"), ("Outfitters", "Retail"), ("Hotels", "Hospitality"), ("Energy", "Energy"),
    ("Robotics", "Manufacturing"), ("Media", "Media"), ("Properties", "Real estate"), ("Academy", "Education"),
    ("Capital", "Finance"), ("Builders", "Construction"), ("Wines", "Food & Beverage"),
]
COMPANY_SUFFIX = {"US": ["Inc.", "LLC", "Co.", ""], "CA": ["Inc.", "Ltd.", ""], "GB": ["Ltd", "plc", "& Co", ""],
                  "AU": ["Pty Ltd", ""], "DE": ["GmbH", "AG", ""], "FR": ["SARL", "SA", ""], "ES": ["S.L.", "S.A."],
                  "NL": ["B.V.", ""], "SG": ["Pte. Ltd.", ""]}
TLD = {"US": "com", "CA": "ca", "GB": "co.uk", "AU": "com.au", "DE": "de", "FR": "fr", "ES": "es", "NL": "nl",
       "SG": "com.sg", "CN": "cn", "HK": "com.hk", "TW": "com.tw"}
CN_COMPANY_WORDS = [("星辰", "xingchen"), ("华美", "huamei"), ("东方", "dongfang"), ("金桥", "jinqiao"),
                    ("蓝海", "lanhai"), ("恒通", "hengtong"), ("天成", "tiancheng"), ("鼎盛", "dingsheng"),
                    ("新源", "xinyuan"), ("瑞丰", "ruifeng"), ("宏图", "hongtu"), ("锦绣", "jinxiu"),
                    ("明辉", "minghui"), ("嘉禾", "jiahe"), ("远航", "yuanhang"), ("和信", "hexin"),
                    ("永昌", "yongchang"), ("盛世", "shengshi"), ("青云", "qingyun"), ("福源", "fuyuan")]
CN_COMPANY_KINDS = [("贸易", "trade", "Wholesale"), ("科技", "tech", "Software"), ("物流", "logistics", "Logistics"),
                    ("食品", "food", "Food & Beverage"), ("茶业", "tea", "Food & Beverage"),
                    ("服饰", "fashion", "Retail"), ("电子", "electronics", "Manufacturing"),
                    ("咨询", "consulting", "Consulting"), ("餐饮", "dining", "Hospitality"),
                    ("医药", "pharma", "Healthcare"), ("文化传媒", "media", "Media"), ("建设", "build", "Construction")]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1001+"]
SIZE_WEIGHTS = [40, 30, 15, 10, 5]
COMPANY_BLURBS = ["Long-standing customer; orders quarterly.", "Family-owned business.",
                  "Expanding into new markets this year.", "Met at the spring trade show.",
                  "Prefers invoices by email.", "年度框架合同客户。", ""]

# --- contacts ---------------------------------------------------------------------------------------------------

STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "advocate", "churned"]
STAGE_WEIGHTS = [15, 30, 10, 8, 7, 22, 4, 4]
BUYERS = {"customer", "advocate", "churned"}
SOURCES = ["website", "referral", "trade show", "linkedin", "cold call", "newsletter", "partner", "wechat",
           "walk-in", "import", "webinar", ""]
SOURCE_WEIGHTS = [25, 15, 8, 8, 5, 10, 6, 5, 4, 6, 4, 4]
JOB_TITLES = ["Purchasing Manager", "CEO", "Founder", "Office Manager", "Head of Operations", "CTO",
              "Marketing Director", "Sales Manager", "Procurement Lead", "Store Manager", "Owner", "Buyer",
              "Account Manager", "Product Manager", "Finance Director", "HR Manager", "Chef", "Consultant",
              "Operations Analyst", "Designer", "Engineer", "General Manager", "Event Planner", ""]
CN_JOB_TITLES = ["采购经理", "总经理", "市场总监", "创始人", "销售经理", "运营主管", "财务总监", "店长",
                 "Purchasing Manager", "General Manager"]
PREFERENCES = ["oat milk, no sugar", "prefers WhatsApp", "allergic to nuts", "window seat",
               "喜欢绿茶", "prefers calls after 3 pm", "vegetarian", "no meetings on Fridays",
               "likes dark roast", "invoice in EUR", "prefers email over phone", "gluten-free",
               "请用微信联系", "不吃辣", "birthday cake: chocolate", "sends Christmas cards",
               "prefers morning deliveries", "aisle seat", "decaf only", "speaks Cantonese"]
ANNIVERSARY_LABELS = ["Wedding anniversary", "Company founding", "First order", "结婚纪念日"]

# kind, subject templates, body templates, outcomes
INTERACTIONS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "note": ([""], ["Prefers to be contacted in the morning.", "Asked about bulk pricing for next quarter.",
                    "Mentioned a new store opening in the spring.", "订单已确认，下周发货。",
                    "Interested in the premium plan; follow up after budget review.",
                    "Very happy with the last delivery.", "客户希望下次提前报价。",
                    "Changed roles; now responsible for purchasing."], [""]),
    "call": (["Intro call", "Follow-up on quote", "Renewal call", "Check-in", "回访电话"],
             ["Discussed pricing and delivery times.", "Left a voicemail about the open quote.",
              "Walked through the new catalogue.", ""], ["connected", "left voicemail", "no answer", "call back"]),
    "email": (["Re: quote #{n}", "Order confirmation #{n}", "Catalogue {y}", "Meeting follow-up", "报价单 #{n}"],
              ["Sent the updated quote with volume discount.", "Confirmed the delivery date.",
               "Shared the product catalogue.", ""], ["sent", "replied"]),
    "meeting": (["Product demo", "Quarterly review", "Lunch meeting", "Site visit", "年度合作会议"],
                ["Reviewed last quarter's orders and next steps.", "Demoed the new range; strong interest.",
                 "Agreed on a pilot order.", ""], ["positive", "neutral", "needs follow-up"]),
    "chat": (["", "WeChat", "WhatsApp"], ["Quick question about stock levels.", "确认了发货地址。",
                                          "Asked for the invoice again."], [""]),
}
KIND_NAMES = list(INTERACTIONS)
KIND_WEIGHTS = [25, 25, 25, 12, 13]
TASK_TITLES = ["Send quote", "Follow up on proposal", "Call back about order", "Prepare renewal",
               "Send birthday card", "Schedule demo", "Check delivery status", "回访客户", "Update contract",
               "Invite to tasting event"]


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


# Rows go into the database as plain tuples in these column orders (``id`` first, pre-assigned).
EVENT_COLUMNS = ["id", "type", "occurred_at", "actor_id", "subject_type", "subject_id", "contact_id", "company_id",
                 "payload", "status", "processed_at"]
INTERACTION_COLUMNS = ["id", "uuid", "created_at", "updated_at", "kind", "contact_id", "company_id", "author_id",
                       "occurred_at", "subject", "body", "outcome", "duration_seconds"]
COLUMNS: dict[str, list[str]] = {
    "company": ["id", "uuid", "created_at", "updated_at", "owner_id", "street", "city", "region", "postal_code",
                "country", "name", "domain", "industry", "size", "phone", "description", "custom"],
    "contact": ["id", "uuid", "created_at", "updated_at", "owner_id", "street", "city", "region", "postal_code",
                "country", "first_name", "last_name", "display_name", "email", "phone", "company_id", "job_title",
                "lifecycle_stage", "source", "time_zone", "language", "do_not_contact", "custom", "lifetime_value",
                "last_contacted_at"],
    "email": ["id", "contact_id", "email", "kind", "is_primary"],
    "phone": ["id", "contact_id", "number", "kind", "is_primary"],
    "interaction": INTERACTION_COLUMNS,
    "task": ["id", "uuid", "created_at", "updated_at", "title", "description", "due_at", "assignee_id",
             "created_by_id", "contact_id", "company_id", "priority", "done_at"],
    "date": ["id", "uuid", "contact_id", "kind", "label", "month", "day", "year"],
    "preference": ["id", "uuid", "contact_id", "text", "recorded_at", "recorded_by_id", "archived_at"],
    "event": EVENT_COLUMNS,
    "search": ["id", "kind", "obj_id", "title", "body"],
    "contact_tags": ["contact", "tag"],
    "company_tags": ["company", "tag"],
}


def _models() -> dict[str, type[models.Model]]:
    return {"company": Company, "contact": Contact, "email": ContactEmail, "phone": ContactPhone,
            "interaction": Interaction, "task": Task, "date": SpecialDate, "preference": Preference,
            "event": Event, "search": SearchDocument, "contact_tags": Contact.tags.through,
            "company_tags": Company.tags.through}


# A chunk: (table key, rows) pairs written in one transaction.
Chunk = list[tuple[str, list[tuple[Any, ...]]]]


@dataclass
class DemoResult:
    admin_password: str | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Flavour:
    """How this database stores values: decided in the parent process, used where rows are generated."""

    native_uuid: bool
    sqlite: bool

    @classmethod
    def current(cls) -> Flavour:
        return cls(native_uuid=connection.features.has_native_uuid_field, sqlite=connection.vendor == "sqlite")


class Writer:
    """Multi-row INSERTs with explicit ids through Django's cursor (SQLite and PostgreSQL).

    Columns a caller leaves out get the field's default, so a field added to a model later does not break the
    generator (a required field without a default fails loudly instead).
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.models = _models()
        self.columns = dict(COLUMNS)  # other apps' generators add their tables (amity.sales.demo)
        self._sql: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def _statement(self, key: str) -> tuple[str, tuple[Any, ...]]:
        if key not in self._sql:
            model, columns = self.models[key], self.columns[key]
            meta = model._meta
            by_name: dict[str, Any] = {f.attname: f for f in meta.concrete_fields}
            by_name.update({f.name: f for f in meta.concrete_fields})
            fields = [by_name[c] for c in columns]
            names: list[str] = [f.column for f in fields]
            extra: tuple[Any, ...] = ()
            if not key.endswith("_tags"):
                missing = [f for f in meta.concrete_fields if f.column not in names]
                names += [str(f.column) for f in missing]
                extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in missing)
            quote = connection.ops.quote_name
            table = str(meta.db_table)
            # Names come from model metadata (quoted), values are parameters.
            sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
                quote(table), ", ".join(quote(n) for n in names), ", ".join(["%s"] * len(names)))
            self._sql[key] = (sql, extra)
        return self._sql[key]

    def write(self, chunk: Chunk) -> None:
        """Insert a chunk's rows (inside the caller's transaction)."""
        with connection.cursor() as cursor:
            for key, rows in chunk:
                if not rows:
                    continue
                sql, extra = self._statement(key)
                for start in range(0, len(rows), INSERT_BATCH):
                    batch = rows[start : start + INSERT_BATCH]
                    cursor.executemany(sql, [r + extra for r in batch] if extra else batch)
                label = self.models[key]._meta.label
                self.counts[label] = self.counts.get(label, 0) + len(rows)

    def finish(self) -> None:
        """PostgreSQL sequences do not see explicit ids: move them past the rows just written."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.models.values()))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _next_id(model: type[models.Model]) -> int:
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
    return (top or 0) + 1


# The SQLite search engine (core.search.SQLITE_SETUP): two FTS5 indexes fed by an insert trigger.
FTS_TABLES = ("search_fts", "search_trigram")
FTS_INSERT_TRIGGER = "searchdoc_ai"


@contextmanager
def _fast_load(progress: Callable[[str], None]) -> Iterator[None]:
    """During the load: no per-query SQL logging (with DEBUG on, Django formats every parameter of every batch)
    and, on SQLite outside a transaction, no fsync per commit, no per-row foreign-key lookups (the ids are
    consistent by construction) and a bigger page cache. The settings' values are restored afterwards.

    On SQLite the full-text indexes are also rebuilt once at the end instead of row by row from the insert
    trigger: a bulk rebuild is about five times faster (1.7 s against 8.4 s for 114,000 documents)."""
    debug = settings.DEBUG
    settings.DEBUG = False
    tuned = connection.vendor == "sqlite" and not connection.in_atomic_block
    rebuild = False
    if tuned:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [FTS_INSERT_TRIGGER])
            rebuild = cursor.fetchone() is not None
            if rebuild:
                cursor.execute(f"DROP TRIGGER {FTS_INSERT_TRIGGER}")
    try:
        yield
    finally:
        settings.DEBUG = debug
        if rebuild:
            progress("  indexing for search…")
            with transaction.atomic(), connection.cursor() as cursor:
                for table in FTS_TABLES:
                    cursor.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")  # noqa: S608
                for statement in search.SQLITE_SETUP:  # puts the trigger back (IF NOT EXISTS)
                    cursor.execute(statement)
        if tuned:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA cache_size=-65536")


class PhoneMaker:
    """Valid numbers per region: the library's example mobile/fixed number with its trailing digits varied,
    each checked with ``is_valid_number_for_region`` (falling back to the example itself)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.examples: dict[tuple[str, bool], tuple[int, str]] = {}

    def _example(self, region: str, mobile: bool) -> tuple[int, str]:
        key = (region, mobile)
        if key not in self.examples:
            kind = phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
            example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
            assert example is not None and example.country_code is not None, region
            self.examples[key] = (example.country_code, str(example.national_number))
        return self.examples[key]

    def make(self, region: str, mobile: bool = True) -> tuple[str, str]:
        """(E.164, national significant number)."""
        country_code, national = self._example(region, mobile)
        keep = min(3, len(national) - 4)
        span = 10 ** (len(national) - keep)
        head = int(national[:keep]) * span
        for _ in range(4):
            candidate = head + self.rng.randrange(span)
            number = phonenumbers.PhoneNumber(country_code=country_code, national_number=candidate)
            if phonenumbers.is_valid_number_for_region(number, region):
                return f"+{country_code}{candidate}", str(candidate)
        return f"+{country_code}{national}", national


_ASCII = str.maketrans({"ü": "u", "é": "e", "è": "e", "ö": "o", "ä": "a", "á": "a", "í": "i", "ó": "o", "ñ": "n",
                        "'": "", " ": "", "-": ""})


def _slug(text: str) -> str:
    """"Lefèvre" → "lefevre", "de Vries" → "devries" (for email local parts and domains)."""
    return text.lower().translate(_ASCII)


def _postal(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


@dataclass
class People:
    """The demo users as the generator needs them (ids only, so it can run in another process)."""

    admin_id: int
    owner_pool: list[int | None]
    writer_pool: list[int]
    names: dict[int, str]
    tag_ids: list[int]


def setup_people() -> tuple[str | None, People]:
    """Create the demo users, teams and tags that do not exist yet; return the admin's password if new."""
    admin_password = None
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("North", "South")}
    roles = {r.key: r for r in Role.objects.all()}
    existing = set(User.objects.values_list("email", flat=True))
    for email, name, role, team, tz, lang in DEMO_USERS:
        if email in existing:
            continue
        password = secrets.token_urlsafe(12)
        user = create_user(actor=None, email=email, full_name=name, role=roles[role], password=password,
                           team=teams[team] if team else None, time_zone=tz, language=lang)
        if email == ADMIN_EMAIL:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
            admin_password = password
    users = {u.email: u for u in User.objects.filter(email__in=[row[0] for row in DEMO_USERS])}
    by_role: dict[str, list[int]] = {}
    for email, _name, role, *_rest in DEMO_USERS:
        by_role.setdefault(role, []).append(users[email].pk)
    # Sales reps own most records, managers and the admin some; about one in ten is unassigned.
    owners: list[int | None] = [*by_role["sales"] * 4, *by_role["manager"], *by_role["admin"]]
    owners += [None] * (len(owners) // 8)
    writers = [u.pk for u in users.values() if u.role.can_edit]
    people = People(admin_id=users[ADMIN_EMAIL].pk, owner_pool=owners, writer_pool=writers,
                    names={u.pk: str(u) for u in users.values()}, tag_ids=[t.pk for t in tags_by_name(TAGS)])
    return admin_password, people


class DemoBuilder:
    """Generates the rows, chunk by chunk. Touches no database, so it can run in a separate process."""

    def __init__(self, *, contacts: int, companies: int, seed: int, people: People, flavour: Flavour,
                 first_ids: dict[str, int]) -> None:
        self.n_contacts = contacts
        self.n_companies = companies
        # The same seed builds the same workspace; appending continues with a different stream (new uuids).
        self.rng = random.Random(seed if first_ids["contact"] == first_ids["company"] == 1 else
                                 f"{seed}:{first_ids['contact']}:{first_ids['company']}")
        self.people = people
        self.flavour = flavour
        self.ids = dict(first_ids)
        self.first_company = first_ids["company"]
        self.phones = PhoneMaker(self.rng)
        self.now = timezone.now().astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
        self.today = timezone.localdate()
        self.country_codes = list(COUNTRIES)
        self.country_cum = _cumulative([COUNTRIES[c]["weight"] for c in self.country_codes])
        self.stage_cum = _cumulative(STAGE_WEIGHTS)
        self.source_cum = _cumulative(SOURCE_WEIGHTS)
        self.kind_cum = _cumulative(KIND_WEIGHTS)
        self.size_cum = _cumulative(SIZE_WEIGHTS)
        self.tag_cum = _cumulative(TAG_WEIGHTS)
        self.used_emails: set[str] = set()
        self.used_domains: set[str] = set()
        self.companies: list[tuple[int, str, str]] = []  # id, country, name
        self.company_domain: dict[int, str] = {}
        # Huge workspaces get fewer interactions and tasks per contact so a million contacts build in minutes.
        self.max_interactions = 8 if contacts <= 20_000 else 4 if contacts <= 200_000 else 2
        self.task_share = 0.15 if contacts <= 20_000 else 0.03
        self.empty_json = self.json({})

    # --- value helpers (stored the way each database stores them) -------------------------------------------

    def new_id(self, key: str) -> int:
        value = self.ids[key]
        self.ids[key] = value + 1
        return value

    def uuid(self) -> tuple[Any, str]:
        """(the value to store, its text form)."""
        value = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        return (value if self.flavour.native_uuid else value.hex), str(value)

    def when(self, value: dt.datetime) -> Any:
        """Naive-UTC text on SQLite (what Django stores there), an aware datetime elsewhere."""
        return str(value) if self.flavour.sqlite else value.replace(tzinfo=dt.UTC)

    def json(self, value: Any) -> Any:
        # Django's JSONField stores json.dumps text on SQLite; psycopg needs its Jsonb wrapper.
        return json.dumps(value) if self.flavour.sqlite else connection.ops.adapt_json_value(value, None)

    def pick(self, items: Sequence[Any], cum: list[float]) -> Any:
        return items[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def since(self, start: dt.datetime) -> dt.datetime:
        """A moment between ``start`` and now."""
        span = max((self.now - start).total_seconds(), 1.0)
        return start + dt.timedelta(seconds=int(self.rng.random() * span))

    def ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(seconds=int(self.rng.random() * days * 86400))

    def nth_of(self, n: int, total: int, days: float) -> dt.datetime:
        """When the n-th of ``total`` records made over the last ``days`` days was created: in id order, as in a
        real workspace (which also keeps the date indexes append-only while loading)."""
        spacing = days * 86400 / max(total, 1)
        return self.now - dt.timedelta(seconds=int(days * 86400 - (n + self.rng.random()) * spacing))

    def unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}".lower()
        n = 1
        while email in self.used_emails:
            n += 1
            email = f"{local}{n}@{domain}".lower()
        self.used_emails.add(email)
        return email

    def event(self, events: list[tuple[Any, ...]], event_type: str, when: dt.datetime, actor: int | None,
              subject_type: str, subject_id: int, contact_id: int | None, company_id: int | None,
              payload: dict[str, Any]) -> None:
        """A timeline event as ``events.emit`` writes it, already dispatched (it is history)."""
        stamp = self.when(when)
        events.append((self.new_id("event"), event_type, stamp, actor, subject_type, subject_id, contact_id,
                       company_id, self.json(payload), EventStatus.DONE, stamp))

    # --- generation --------------------------------------------------------------------------------------------

    def generate(self) -> Iterator[tuple[str, Chunk]]:
        """Yield (progress message, chunk) pairs: companies first, then contacts."""
        for start in range(0, self.n_companies, CHUNK):
            end = min(start + CHUNK, self.n_companies)
            yield f"  companies: {end:,}/{self.n_companies:,}", self.company_chunk(end - start)
        for start in range(0, self.n_contacts, CHUNK):
            end = min(start + CHUNK, self.n_contacts)
            yield f"  contacts: {end:,}/{self.n_contacts:,}", self.contact_chunk(start, end)

    def company_chunk(self, size: int) -> Chunk:
        rng = self.rng
        rows: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        docs: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, int]] = []
        owners = self.people.owner_pool
        for _ in range(size):
            pk = self.new_id("company")
            country = self.pick(self.country_codes, self.country_cum)
            info = COUNTRIES[country]
            city, region, _tz, postal = rng.choice(info["cities"])
            if country in CN_REGIONS:
                word, word_py = rng.choice(CN_COMPANY_WORDS)
                kind, kind_py, industry = rng.choice(CN_COMPANY_KINDS)
                suffix = "有限公司" if country == "CN" or rng.random() < 0.5 else "股份有限公司"
                name = f"{city}{word}{kind}{suffix}" if rng.random() < 0.5 else f"{word}{kind}{suffix}"
                base = f"{word_py}{kind_py}"
            else:
                word = rng.choice(COMPANY_WORDS)
                kind, industry = rng.choice(COMPANY_KINDS)
                name = f"{word} {kind} {rng.choice(COMPANY_SUFFIX.get(country, ['']))}".strip()
                base = _slug(f"{word}{kind}")
            domain = f"{base}.{TLD[country]}"
            if domain in self.used_domains:
                domain = f"{base}-{_slug(city)}.{TLD[country]}" if city.isascii() else f"{base}{pk}.{TLD[country]}"
                if domain in self.used_domains:
                    domain = f"{base}{pk}.{TLD[country]}"
            self.used_domains.add(domain)
            phone = self.phones.make(country, mobile=False)[0] if rng.random() < 0.6 else ""
            created = self.nth_of(pk - self.first_company, self.n_companies, 5 * 365)
            updated = self.since(created) if rng.random() < 0.3 else created
            owner = rng.choice(owners)
            street = f"{rng.randrange(1, 400)} {rng.choice(STREETS.get(country, STREETS['default']))}"
            rows.append((pk, self.uuid()[0], self.when(created), self.when(updated), owner, street, city, region,
                         _postal(rng, postal), country, name, domain, industry, self.pick(SIZES, self.size_cum),
                         phone, rng.choice(COMPANY_BLURBS), self.empty_json))
            self.event(events, "company.created", created, owner, "company", pk, None, pk, {"name": name})
            title, body = search.company_document(SimpleNamespace(name=name, domain=domain, phone=phone))
            docs.append((self.new_id("search"), "company", pk, title[:300], body))
            if rng.random() < 0.1:  # wholesale or partner
                tag_rows.append((pk, self.people.tag_ids[2 if rng.random() < 0.6 else 3]))
            self.companies.append((pk, country, name))
            self.company_domain[pk] = domain
        return [("company", rows), ("event", events), ("company_tags", tag_rows), ("search", docs)]

    def contact_chunk(self, start: int, end: int) -> Chunk:
        rng, now = self.rng, self.now
        contacts: list[tuple[Any, ...]] = []
        emails: list[tuple[Any, ...]] = []
        phones: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        interactions: list[tuple[Any, ...]] = []
        tasks: list[tuple[Any, ...]] = []
        dates: list[tuple[Any, ...]] = []
        prefs: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, int]] = []
        docs: list[tuple[Any, ...]] = []
        people = self.people
        tag_ids = people.tag_ids
        companies = self.companies
        for i in range(start, end):
            pk = self.new_id("contact")
            showcase = i < 12  # the first dozen get birthdays this week and the admin's tasks, so the demo shows them
            # Where they are: most work at a company and live in its country.
            company_id: int | None = None
            company_name = ""
            if companies and rng.random() < 0.7:
                company_id, country, company_name = companies[int(rng.random() * len(companies))]
            else:
                country = self.pick(self.country_codes, self.country_cum)
            info = COUNTRIES[country]
            city, region, tz, postal = rng.choice(info["cities"])
            # Who they are.
            if rng.random() < info["cn"]:
                family, family_py = CN_FAMILY[min(int(rng.expovariate(0.12)), len(CN_FAMILY) - 1)]
                first, given_py = rng.choice(CN_GIVEN)
                last = family
                local = rng.choice([f"{given_py}.{family_py}", f"{family_py}{given_py}", f"{given_py}{family_py}"])
                handle = f"{family_py}{given_py}{rng.randrange(10, 99)}" if rng.random() < 0.5 else local
                language = info["lang"] if country in CN_REGIONS else ("zh-hans" if rng.random() < 0.3 else "en")
                job_title = rng.choice(CN_JOB_TITLES if country in CN_REGIONS else JOB_TITLES)
                personal = CN_PERSONAL_DOMAINS
            else:
                first, last = rng.choice(WESTERN_FIRST), rng.choice(WESTERN_LAST)
                handle = f"{_slug(first)}.{_slug(last)}"
                local = rng.choice([handle, f"{_slug(first[0])}{_slug(last)}", _slug(first)])
                language = info["lang"]
                job_title = rng.choice(JOB_TITLES)
                personal = PERSONAL_DOMAINS
            name = display_name(first, last)
            stage = self.pick(STAGES, self.stage_cum)
            source = self.pick(SOURCES, self.source_cum)
            owner = rng.choice(people.owner_pool)
            created = self.nth_of(i, self.n_contacts, 3 * 365)
            # Emails (work address at the company's domain or a personal one; some have both) and phones.
            contact_emails: list[tuple[str, str]] = []
            if rng.random() < 0.97:
                if company_id and rng.random() < 0.8:
                    contact_emails.append((self.unique_email(local, self.company_domain[company_id]), "work"))
                else:
                    contact_emails.append((self.unique_email(handle, rng.choice(personal)), "home"))
                if rng.random() < 0.12:
                    contact_emails.append((self.unique_email(handle, rng.choice(personal)), "home"))
            for n, (address, kind) in enumerate(contact_emails):
                emails.append((self.new_id("email"), pk, address, kind, n == 0))
            contact_phones: list[tuple[str, str]] = []
            if rng.random() < 0.8:
                contact_phones.append(self.phones.make(country, mobile=True))
                if rng.random() < 0.1:
                    contact_phones.append(self.phones.make(country, mobile=False))
            for n, (number, _national) in enumerate(contact_phones):
                phones.append((self.new_id("phone"), pk, number, "mobile" if n == 0 else "work", n == 0))
            email = contact_emails[0][0] if contact_emails else ""
            label = name or email
            self.event(events, "contact.created", created, owner, "contact", pk, pk, company_id,
                       {"name": label, "source": source})
            # What happened since: interactions, oldest first; calls, emails… count as contact, notes do not.
            count = rng.randint(0, self.max_interactions)
            last_contacted = None
            for when in sorted(self.since(created) for _ in range(count)):
                kind = self.pick(KIND_NAMES, self.kind_cum)
                subjects, bodies, outcomes = INTERACTIONS[kind]
                author = owner or rng.choice(people.writer_pool)
                iid = self.new_id("interaction")
                stored_uuid, text_uuid = self.uuid()
                stamp = self.when(when)
                interactions.append((iid, stored_uuid, stamp, stamp, kind, pk, company_id, author, stamp,
                                     rng.choice(subjects).format(n=rng.randrange(1000, 9999), y=when.year),
                                     rng.choice(bodies), rng.choice(outcomes),
                                     rng.randrange(60, 2400) if kind in ("call", "meeting") else None))
                if kind == "note":
                    self.event(events, "note.created", when, author, "interaction", iid, pk, company_id,
                               {"interaction": text_uuid, "mentions": []})
                else:
                    self.event(events, f"{kind}.logged", when, author, "interaction", iid, pk, company_id,
                               {"interaction": text_uuid, "kind": kind})
                    last_contacted = when
            value = "0.00"
            if stage in BUYERS:  # orders grow with the relationship
                orders = 1 + count + int(rng.expovariate(0.5))
                value = f"{sum(rng.lognormvariate(5.5, 1.0) for _ in range(orders)):.2f}"
            updated = last_contacted if last_contacted and rng.random() < 0.5 else created
            street = f"{rng.randrange(1, 400)} {rng.choice(STREETS.get(country, STREETS['default']))}"
            contacts.append((pk, self.uuid()[0], self.when(created), self.when(updated), owner, street, city, region,
                             _postal(rng, postal), country, first, last, label, email,
                             contact_phones[0][0] if contact_phones else "", company_id, job_title, stage, source,
                             tz, language, rng.random() < 0.02, self.empty_json, value,
                             self.when(last_contacted) if last_contacted else None))
            # Search: the text core.search.contact_document builds (it appends the phone forms last).
            obj = SimpleNamespace(display_name=label, first_name=first, last_name=last, email=email,
                                  company_id=company_id, company=SimpleNamespace(name=company_name))
            title, body = search.contact_document(obj, [e for e, _k in contact_emails], [])
            if contact_phones:
                body += " " + " ".join(f"{e164[1:]} {national}" for e164, national in contact_phones)
            docs.append((self.new_id("search"), "contact", pk, title[:300], body))
            # Tags.
            r = rng.random()
            if r < 0.35:
                chosen = {self.pick(tag_ids, self.tag_cum) for _ in range(1 if r < 0.25 else 2)}
                if stage in ("customer", "advocate") and rng.random() < 0.3:
                    chosen.add(tag_ids[0])  # vip
                tag_rows.extend((pk, t) for t in chosen)
            # Special dates: birthdays (~70%), anniversaries, customer-since.
            if showcase or rng.random() < 0.7:
                born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 52))
                month, day = born.month, born.day
                if showcase:
                    soon = self.today + dt.timedelta(days=0 if i < 4 else rng.randrange(1, 7))
                    month, day = soon.month, soon.day
                dates.append((self.new_id("date"), self.uuid()[0], pk, "birthday", "", month, day,
                              born.year if rng.random() < 0.6 else None))
            if rng.random() < 0.1 or i in (20, 21):
                on = self.today if i == 20 else dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(365 * 24))
                dates.append((self.new_id("date"), self.uuid()[0], pk, "anniversary", rng.choice(ANNIVERSARY_LABELS),
                              on.month, on.day, rng.randrange(1995, 2024)))
            if stage in ("customer", "advocate") and rng.random() < 0.8:
                since = created.date()
                dates.append((self.new_id("date"), self.uuid()[0], pk, "customer_since", "", since.month, since.day,
                              since.year))
            # Preferences, recorded by someone on the account.
            if rng.random() < 0.2:
                for text in rng.sample(PREFERENCES, 1 if rng.random() < 0.8 else 2):
                    recorded = self.since(created)
                    author = owner or rng.choice(people.writer_pool)
                    pref_id = self.new_id("preference")
                    prefs.append((pref_id, self.uuid()[0], pk, text, self.when(recorded), author, None))
                    self.event(events, "preference.recorded", recorded, author, "preference", pref_id, pk, None,
                               {"text": text})
            # Tasks: open (overdue, today, upcoming) and done; the showcase dozen are the admin's.
            if showcase or rng.random() < self.task_share:
                assignee = people.admin_id if showcase else (owner or rng.choice(people.writer_pool))
                state = i % 4 if showcase else rng.randrange(4)
                if state == 0:
                    due = now - dt.timedelta(days=rng.randrange(1, 10))
                elif state == 1:
                    due = min(now + dt.timedelta(hours=rng.randrange(1, 6)), now.replace(hour=23, minute=30))
                elif state == 2:
                    due = now + dt.timedelta(days=rng.randrange(1, 21))
                else:
                    due = now - dt.timedelta(days=rng.randrange(5, 90))
                due = due.replace(minute=0 if state != 1 else due.minute, second=0)
                done = due if state == 3 else None
                task_created = min(self.since(created), due)
                title = rng.choice(TASK_TITLES)
                task_id = self.new_id("task")
                tasks.append((task_id, self.uuid()[0], self.when(task_created), self.when(done or task_created),
                              title, "", self.when(due), assignee, assignee, pk, company_id,
                              rng.choice(["normal", "normal", "high", "low"]), self.when(done) if done else None))
                self.event(events, "task.created", task_created, assignee, "task", task_id, pk, company_id,
                           {"title": title, "due_at": due.replace(tzinfo=dt.UTC).isoformat(),
                            "assignee": people.names.get(assignee)})
                if done:
                    self.event(events, "task.completed", done, assignee, "task", task_id, pk, company_id,
                               {"title": title})
        return [("contact", contacts), ("email", emails), ("phone", phones), ("interaction", interactions),
                ("task", tasks), ("date", dates), ("preference", prefs), ("event", events),
                ("contact_tags", tag_rows), ("search", docs)]


def default_companies(contacts: int) -> int:
    """About one company per seven contacts, at least 300, at most 100,000."""
    return min(max(contacts // 7, 300), 100_000)


ID_KEYS = {"company": Company, "contact": Contact, "email": ContactEmail, "phone": ContactPhone,
           "interaction": Interaction, "task": Task, "date": SpecialDate, "preference": Preference, "event": Event,
           "search": SearchDocument}
PARALLEL_FROM = 50_000


def _produce(builder: DemoBuilder, queue: Any) -> None:
    """Child process: generate chunks and hand them to the parent, which writes them."""
    try:
        for item in builder.generate():
            queue.put(item)
        queue.put(None)
    except BaseException as exc:  # the parent re-raises it
        queue.put(exc)


def _chunks(builder: DemoBuilder, parallel: bool) -> Iterator[tuple[str, Chunk]]:
    """Generated chunks, from a second process when ``parallel`` so generating overlaps writing (2 cores)."""
    if not parallel:
        yield from builder.generate()
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    process = context.Process(target=_produce, args=(builder, queue), daemon=True)
    process.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        process.join()
    finally:
        if process.is_alive():
            process.terminate()
            process.join()


def build_demo(*, contacts: int = 2000, companies: int | None = None, seed: int = 42,
               progress: Callable[[str], None] = lambda _msg: None, parallel: bool | None = None) -> DemoResult:
    """Create the demo users (those missing) and add ``contacts`` contacts and ``companies`` companies."""
    started = time.monotonic()
    with transaction.atomic():
        admin_password, people = setup_people()
    builder = DemoBuilder(contacts=contacts, companies=default_companies(contacts) if companies is None else companies,
                          seed=seed, people=people, flavour=Flavour.current(),
                          first_ids={key: _next_id(model) for key, model in ID_KEYS.items()})
    # Appending: keep emails and domains unique against what is already there.
    builder.used_emails.update(ContactEmail.objects.values_list("email", flat=True).iterator(chunk_size=10_000))
    builder.used_domains.update(Company.objects.exclude(domain="").values_list("domain", flat=True))
    if parallel is None:
        parallel = contacts >= PARALLEL_FROM and not connection.in_atomic_block
    writer = Writer()
    chunks = _chunks(builder, parallel)
    contacts_done, contacts_started = 0, 0.0
    with _fast_load(progress):
        finished = False
        while not finished:
            with transaction.atomic():
                in_transaction = 0
                for message, chunk in chunks:
                    is_contacts = chunk[0][0] == "contact"
                    if is_contacts and not contacts_started:
                        contacts_started = time.monotonic()
                    writer.write(chunk)
                    rate = ""
                    if is_contacts:
                        contacts_done += len(chunk[0][1])
                        in_transaction += len(chunk[0][1])
                        rate = f" ({contacts_done / max(time.monotonic() - contacts_started, 0.001):,.0f}/s)"
                    progress(f"{message}{rate}  [{time.monotonic() - started:.0f} s]")
                    if in_transaction >= COMMIT_CONTACTS:
                        break
                else:
                    finished = True
                    writer.finish()
        # The sales side of the same workspace: products, rates, pipelines and deals on these companies.
        from amity.sales.demo import build_sales_demo, default_deals

        sales = build_sales_demo(deals=default_deals(contacts), people=people, seed=seed, progress=progress)
        writer.counts.update({label: writer.counts.get(label, 0) + n for label, n in sales.counts.items()})
        # Commerce: orders, carts and product views for some of these customers.
        from amity.commerce.demo import build_commerce_demo

        writer.counts.update(build_commerce_demo(contacts=contacts, seed=seed, progress=progress))
    if contacts <= DEMO_DUPLICATES_UP_TO:
        writer.counts["duplicates"] = _demo_duplicates(random.Random(seed), progress)
    return DemoResult(admin_password=admin_password, counts=writer.counts, seconds=time.monotonic() - started)


DEMO_DUPLICATES_UP_TO = 20_000  # a big (benchmark) workspace skips this: its scan is measured on its own


def _demo_duplicates(rng: random.Random, progress: Callable[[str], None]) -> int:
    """A few people entered twice, the way it happens at a busy counter: the second record of each pair takes the
    first one's company and phone and a retyped (or, for Western names, swapped) name. The contact count stays
    what was asked for; then a duplicate scan fills the queue."""
    from amity.contacts import dedupe
    from amity.core.search import index_contact

    originals = list(Contact.objects.exclude(phone="").exclude(company=None).filter(merged_into=None)
                     .exclude(first_name="").exclude(last_name="").order_by("id")[:400])
    rng.shuffle(originals)
    pairs = list(zip(originals[0:12:2], originals[1:12:2], strict=False))
    for n, (original, copy) in enumerate(pairs):
        first, last = original.first_name, original.last_name
        if n % 2 == 0 and len(last) > 2 and not is_cjk(last):  # a typo: one letter doubled
            last = last[:2] + last[1] + last[2:]
        elif n % 2 == 1 and not is_cjk(first + last):  # first and last name swapped
            first, last = last, first
        Contact.objects.filter(pk=copy.pk).update(first_name=first, last_name=last, company=original.company,
                                                  display_name=display_name(first, last))
        ContactPhone.objects.filter(contact=copy).update(is_primary=False)
        ContactPhone.objects.create(contact=copy, number=original.phone, kind="mobile", is_primary=True)
        Contact.objects.filter(pk=copy.pk).update(phone=original.phone)
        copy.refresh_from_db()
        index_contact(copy)
    progress(f"duplicates: {len(pairs)} people entered twice; scanning")
    dedupe.scan()
    return len(pairs)


def add_history(contact: Contact, *, entries: int, seed: int = 7) -> int:
    """Give one contact a long history (``entries`` interactions and their timeline events), for benchmarks."""
    users = list(User.objects.filter(is_active=True).values_list("id", flat=True))
    people = People(admin_id=users[0] if users else 0, owner_pool=[None], writer_pool=users or [0], names={},
                    tag_ids=[])
    builder = DemoBuilder(contacts=0, companies=0, seed=seed, people=people, flavour=Flavour.current(),
                          first_ids={key: _next_id(model) for key, model in ID_KEYS.items()})
    interactions: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for _ in range(entries):
        when = builder.ago(3 * 365)
        kind = builder.rng.choice(KIND_NAMES)
        subjects, bodies, outcomes = INTERACTIONS[kind]
        iid = builder.new_id("interaction")
        stored_uuid, text_uuid = builder.uuid()
        author = builder.rng.choice(people.writer_pool) or None
        stamp = builder.when(when)
        interactions.append((iid, stored_uuid, stamp, stamp, kind, contact.pk, contact.company_id, author, stamp,
                             builder.rng.choice(subjects).format(n=builder.rng.randrange(1000, 9999), y=when.year),
                             builder.rng.choice(bodies), builder.rng.choice(outcomes), None))
        payload: dict[str, Any] = {"interaction": text_uuid, "mentions": []} if kind == "note" else {
            "interaction": text_uuid, "kind": kind}
        builder.event(events, "note.created" if kind == "note" else f"{kind}.logged", when, author, "interaction",
                      iid, contact.pk, contact.company_id, payload)
    writer = Writer()
    with transaction.atomic():
        writer.write([("interaction", interactions), ("event", events)])
        writer.finish()
    return entries


def summary(result: DemoResult) -> str:
    return ", ".join(f"{label.split('.')[-1]}: {n:,}" for label, n in sorted(result.counts.items()))
