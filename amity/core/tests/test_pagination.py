"""Keyset pagination walks every row exactly once, forwards and back, with ties and nulls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from amity.contacts.models import Contact
from amity.core.pagination import COUNT_CAP, Ordering, keyset_page
from amity.testing import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts():
    now = timezone.now()
    made = [make_contact(first_name=f"P{i:02d}") for i in range(23)]
    # ties on the sort value and some nulls, the hard cases for keyset pagination
    for i, contact in enumerate(made):
        when = None if i % 5 == 0 else now - dt.timedelta(days=i % 4)
        Contact.objects.filter(pk=contact.pk).update(last_contacted_at=when)
    return made


def walk(ordering: Ordering, limit: int) -> tuple[list[int], list[list[int]]]:
    seen, pages, cursor = [], [], None
    while True:
        page = keyset_page(Contact.objects.all(), ordering, cursor, limit)
        pages.append([c.pk for c in page.items])
        seen += pages[-1]
        if not page.next_cursor:
            return seen, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("ordering", [
    pytest.param(Ordering("display_name", descending=False), id="name-asc"),
    pytest.param(Ordering("updated_at", descending=True), id="updated-desc"),
    pytest.param(Ordering("last_contacted_at", descending=True, nullable=True), id="nullable-desc"),
])
def test_forward_walk_visits_every_row_once_in_order(contacts, ordering):
    seen, _ = walk(ordering, limit=4)
    expected = list(Contact.objects.order_by(*ordering.order_by()).values_list("pk", flat=True))
    assert seen == expected


def test_previous_page_returns_the_same_rows(contacts):
    ordering = Ordering("last_contacted_at", descending=True, nullable=True)
    first = keyset_page(Contact.objects.all(), ordering, None, 5)
    second = keyset_page(Contact.objects.all(), ordering, first.next_cursor, 5)
    third = keyset_page(Contact.objects.all(), ordering, second.next_cursor, 5)
    back = keyset_page(Contact.objects.all(), ordering, third.prev_cursor, 5)
    assert [c.pk for c in back.items] == [c.pk for c in second.items]
    back_to_first = keyset_page(Contact.objects.all(), ordering, back.prev_cursor, 5)
    assert [c.pk for c in back_to_first.items] == [c.pk for c in first.items]
    assert back_to_first.prev_cursor is None
    assert first.prev_cursor is None


def test_totals(contacts):
    page = keyset_page(Contact.objects.all(), Ordering("display_name", False), None, 10)
    assert page.total == 23 and not page.total_capped and page.total_display == "23"
    assert COUNT_CAP == 10_000


def test_a_forged_cursor_is_a_clear_error(contacts):
    with pytest.raises(ValidationError) as exc:
        keyset_page(Contact.objects.all(), Ordering("display_name", False), "bm9wZQ", 10)
    assert "cursor" in exc.value.message_dict
