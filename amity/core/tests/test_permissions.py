"""The permission layer: a role sees all records, its team's, or its own."""

from __future__ import annotations

import pytest
from django.http import Http404

from amity.accounts.models import Role
from amity.contacts.models import Contact
from amity.core.permissions import get_visible_or_404, visible_to
from amity.testing import make_contact, make_team, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    north, south = make_team("North"), make_team("South")
    rep = make_user("sales", team=north)
    teammate = make_user("sales", team=north)
    rival = make_user("sales", team=south)
    return {
        "rep": rep,
        "own": make_contact(owner=rep, first_name="Own"),
        "teammates": make_contact(owner=teammate, first_name="Teammates"),
        "rivals": make_contact(owner=rival, first_name="Rivals"),
        "unassigned": make_contact(first_name="Unassigned"),
    }


def names(user) -> set[str]:
    return set(visible_to(user, Contact.objects.all()).values_list("first_name", flat=True))


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        pytest.param("all", {"Own", "Teammates", "Rivals", "Unassigned"}, id="all"),
        pytest.param("team", {"Own", "Teammates", "Unassigned"}, id="team"),
        pytest.param("own", {"Own"}, id="own"),
    ],
)
def test_role_visibility(world, visibility, expected):
    Role.objects.filter(key="sales").update(visibility=visibility)
    world["rep"].refresh_from_db()
    assert names(world["rep"]) == expected


def test_another_teams_record_is_not_found_rather_than_forbidden(world):
    with pytest.raises(Http404):
        get_visible_or_404(world["rep"], Contact.objects.all(), uuid=world["rivals"].uuid)
    assert get_visible_or_404(world["rep"], Contact.objects.all(), uuid=world["own"].uuid) == world["own"]


def test_a_malformed_id_is_not_found(world):
    with pytest.raises(Http404):
        get_visible_or_404(world["rep"], Contact.objects.all(), uuid="not-a-uuid")


def test_inactive_and_anonymous_users_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    admin = make_user("admin", is_active=False)
    assert names(admin) == set()
    assert names(AnonymousUser()) == set()
