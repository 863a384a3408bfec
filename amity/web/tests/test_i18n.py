"""Simplified Chinese: users who chose it see it, the catalogue is complete, and the shipped .mo matches the .po.

The catalogue tests read amity/locale directly (no gettext tools needed), so a string added to a template or to
Python code without a translation fails here rather than showing up in English for Chinese users.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from amity.testing import make_company, make_contact, make_user

AMITY = Path(__file__).resolve().parents[2]
PO = AMITY / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


# --- the pages --------------------------------------------------------------------------------------------------

def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def chinese_client(db):
    return client_for(make_user("admin", full_name="王芳", language="zh-hans"))


@pytest.fixture
def english_client(db):
    return client_for(make_user("admin", full_name="Ada Admin", language="en"))


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_chinese_user_sees_chinese_navigation_and_home(chinese_client):
    body = page(chinese_client, reverse("web:home"))

    assert '<html lang="zh-hans"' in body
    for text in ("联系人", "公司", "我的一天", "通知", "设置", "审计日志", "退出登录", "首页", "最近动态"):
        assert text in body, text
    for text in (">Contacts<", "Log out", "Recent activity"):
        assert text not in body, text


@pytest.mark.django_db
def test_home_greeting_and_date_follow_chinese_conventions(chinese_client):
    body = page(chinese_client, reverse("web:home"))

    assert re.search(r"(早上好|下午好|晚上好)，王芳", body)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 星期[一二三四五六日]", body)


@pytest.mark.django_db
def test_chinese_user_sees_chinese_contact_list(chinese_client):
    make_contact(first_name="Li", last_name="Lei", lifecycle_stage="lead")

    body = page(chinese_client, reverse("contacts:list"))

    for text in ("新建联系人", "导出", "生命周期阶段", "负责人", "线索", "1 位联系人", "姓名"):
        assert text in body, text
    assert "New contact" not in body


@pytest.mark.django_db
def test_chinese_user_sees_chinese_contact_360(chinese_client):
    company = make_company(name="Acme")
    contact = make_contact(first_name="Li", last_name="Lei", lifecycle_stage="opportunity", company=company)

    body = page(chinese_client, reverse("contacts:detail", args=[contact.uuid]))

    for text in ("快捷操作", "添加备注", "记录通话", "时间线", "偏好", "商机", "编辑"):
        assert text in body, text
    assert "Quick actions" not in body


@pytest.mark.django_db
def test_chinese_user_sees_chinese_settings(chinese_client):
    body = page(chinese_client, reverse("accounts:settings"))

    for text in ("个人资料", "姓名", "时区", "语言", "保存设置", "修改密码", "API 令牌"):
        assert text in body, text
    assert "简体中文" in body  # the language picker names each language in itself


@pytest.mark.django_db
def test_english_user_sees_english(english_client):
    contact = make_contact(first_name="Ada", last_name="Lovelace")

    home = page(english_client, reverse("web:home"))
    assert '<html lang="en"' in home
    assert "Contacts" in home and "My day" in home and "联系人" not in home
    detail = page(english_client, reverse("contacts:detail", args=[contact.uuid]))
    assert "Quick actions" in detail and "快捷操作" not in detail
    settings_page = page(english_client, reverse("accounts:settings"))
    assert "Profile" in settings_page and "个人资料" not in settings_page


@pytest.mark.django_db
def test_home_in_navigation_is_not_the_home_phone_kind(chinese_client):
    """'Home' means the start page in the menu (首页) but a home number on a phone (家庭): msgctxt keeps them apart."""
    body = page(chinese_client, reverse("contacts:create"))
    assert "首页" in body and "家庭" in body


# --- the catalogue ----------------------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text.strip()[1:-1])


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list: one per plural form) and flags."""
    entries: list[dict] = []
    entry: dict = {}
    key = None

    def flush() -> None:
        if "msgid" in entry and not entry.get("obsolete"):
            entries.append(entry.copy())
        entry.clear()

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            key = None
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry.setdefault("flags", []).extend(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line):
            key = match.group(1)
            value = _unquote(match.group(2))
            if key.startswith("msgstr"):
                entry.setdefault("msgstr", []).append(value)
            else:
                entry[key] = value
        elif line.startswith('"') and key:
            if key.startswith("msgstr"):
                entry["msgstr"][-1] += _unquote(line)
            else:
                entry[key] += _unquote(line)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return [e for e in read_po(PO) if e["msgid"]]


def test_every_message_is_translated_and_none_is_fuzzy(catalogue):
    assert len(catalogue) > 500
    untranslated = [e["msgid"] for e in catalogue if not all(s.strip() for s in e.get("msgstr", []))]
    fuzzy = [e["msgid"] for e in catalogue if "fuzzy" in e.get("flags", [])]
    assert untranslated == [], "run makemessages and translate these"
    assert fuzzy == [], "fuzzy entries are ignored by gettext: check and unflag them"


def test_header_declares_one_plural_form():
    header = next(e for e in read_po(PO) if e["msgid"] == "")
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert "fuzzy" not in header.get("flags", [])


def test_placeholders_and_markup_survive_translation(catalogue):
    tokens = re.compile(r"%\(\w+\)[sd]|%%|<[^>]+>")
    broken = []
    for e in catalogue:
        source = e.get("msgid_plural", e["msgid"])
        for msgstr in e["msgstr"]:
            if sorted(tokens.findall(source)) != sorted(tokens.findall(msgstr)):
                broken.append((e["msgid"], msgstr))
    assert broken == []


def test_compiled_catalogue_matches_the_po(catalogue):
    """The .mo is committed so installs need no gettext; it must be recompiled whenever the .po changes."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in catalogue:
        if "msgid_plural" in e:
            got = compiled.ngettext(e["msgid"], e["msgid_plural"], 1)
        elif "msgctxt" in e:
            got = compiled.pgettext(e["msgctxt"], e["msgid"])
        else:
            got = compiled.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert stale == [], "run: cd amity && ../.venv/bin/python ../manage.py compilemessages -l zh_Hans"


# --- strings in the code that are missing from the catalogue ----------------------------------------------------

GETTEXT_FUNCTIONS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
                     "npgettext", "npgettext_lazy", "gettext_noop"}
CONTEXT_FUNCTIONS = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}


def _source_files(pattern: str) -> list[Path]:
    return [p for p in AMITY.rglob(pattern)
            if "tests" not in p.parts and "migrations" not in p.parts and p.name != "testing.py"]


def python_messages() -> set[tuple[str | None, str]]:
    found = set()
    for path in _source_files("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_FUNCTIONS:
                continue
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
            if name in CONTEXT_FUNCTIONS:
                if len(args) >= 2 and args[0] is not None and args[1] is not None:
                    found.add((args[0], args[1]))
            elif args and args[0] is not None:
                found.add((None, args[0]))
    return found


TRANSLATE_TAG = re.compile(
    r"""{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<msg>.*?)(?P=q)(?:\s+context\s+(?P<cq>["'])(?P<ctx>.*?)(?P=cq))?""")
TRANSLATED_LITERAL = re.compile(r"""\b_\((?P<q>["'])(?P<msg>.*?)(?P=q)\)""")  # {{ day|date:_("l, j F Y") }}
BLOCK_TAG = re.compile(r"{%\s*(?:blocktranslate|blocktrans)\b(?P<args>.*?)%}(?P<body>.*?){%\s*(?:plural|endblocktranslate|endblocktrans)\s*%}",
                       re.S)


def template_messages() -> set[tuple[str | None, str]]:
    found = set()
    for path in _source_files("*.html") + _source_files("*.txt"):
        if "templates" not in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for m in TRANSLATE_TAG.finditer(text):
            found.add((m.group("ctx"), m.group("msg").replace("%", "%%")))
        for m in TRANSLATED_LITERAL.finditer(text):
            found.add((None, m.group("msg")))
        for m in BLOCK_TAG.finditer(text):
            body = m.group("body").replace("%", "%%")
            body = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body)
            if "trimmed" in m.group("args"):
                body = " ".join(line.strip() for line in body.strip().splitlines() if line.strip())
            ctx = re.search(r"""context\s+(["'])(.*?)\1""", m.group("args"))
            found.add((ctx.group(2) if ctx else None, body))
    return found


def test_translation_functions_keep_names_makemessages_knows():
    """xgettext finds _("…") and gettext_lazy("…") but not gettext_lazy imported as, say, _lazy."""
    renamed = []
    for path in _source_files("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                renamed += [f"{path.relative_to(AMITY)}: {a.name} as {a.asname}" for a in node.names
                            if a.asname and a.asname not in GETTEXT_FUNCTIONS]
    assert renamed == []


def test_every_marked_string_in_the_code_is_in_the_catalogue(catalogue):
    known = {(e.get("msgctxt"), e["msgid"]) for e in catalogue}
    in_code = python_messages() | template_messages()
    assert len(in_code) > 500  # the scanners found the strings
    missing = sorted(in_code - known, key=lambda m: m[1])
    assert missing == [], "run makemessages -l zh_Hans (see the Makefile), translate, compilemessages"
