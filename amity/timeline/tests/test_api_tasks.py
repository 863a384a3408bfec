"""Tasks over the API: list with filters, create, change (incl. done), delete; permissions and problem JSON."""

from __future__ import annotations

import datetime as dt

import pytest

from amity import testing
from amity.api.tests.helpers import ApiClient, field_names, is_problem
from amity.sales import services as sales_services
from amity.sales.models import Pipeline
from amity.timeline import services
from amity.timeline.models import Task

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def api(user, scope="write") -> ApiClient:
    return ApiClient(testing.make_token(user, scope=scope))


@pytest.fixture
def sales_api(sales_user):
    return api(sales_user)


@pytest.fixture
def deal(sales_user):
    return sales_services.create_deal(actor=sales_user, data={
        "name": "Acme renewal", "pipeline": Pipeline.objects.get(is_default=True), "amount": "1000",
        "currency": "USD", "owner": sales_user})


@pytest.fixture
def stranger(other_team):
    return testing.make_user("sales", team=other_team)


def test_create_task_in_the_users_zone_with_reminder_on_a_deal(sales_api, sales_user, deal):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    response = sales_api.post("/api/tasks", {"title": "Send proposal", "due_at": "2026-07-01T09:00",
                                             "deal": str(deal.uuid), "remind_minutes_before": 30,
                                             "recurrence": "weekly", "priority": "high"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["due_at"].startswith("2026-07-01T13:00") and body["remind_at"].startswith("2026-07-01T12:30")
    assert body["deal"] == {"id": str(deal.uuid), "name": "Acme renewal"}
    assert body["assignee"]["id"] == str(sales_user.uuid) and body["done"] is False
    assert body["recurrence"] == "weekly" and body["notice"] is None
    assert sales_api.get(f"/api/tasks/{body['id']}").json()["title"] == "Send proposal"


def test_dst_gap_is_a_422_on_due_at(sales_api, sales_user):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    response = sales_api.post("/api/tasks", {"title": "x", "due_at": "2026-03-08T02:30"})
    assert is_problem(response, 422) and field_names(response) == {"due_at"}
    assert "does not exist" in response.json()["errors"][0]["message"]
    assert not Task.objects.exists()


def test_ambiguous_time_has_a_notice(sales_api, sales_user):
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    body = sales_api.post("/api/tasks", {"title": "x", "due_at": "2026-11-01T01:30"}).json()
    assert body["due_at"].startswith("2026-11-01T05:30") and "happens twice" in body["notice"]


def test_an_explicit_offset_is_kept(sales_api):
    body = sales_api.post("/api/tasks", {"title": "x", "due_at": "2026-07-01T09:00+02:00"}).json()
    assert body["due_at"].startswith("2026-07-01T07:00")


@pytest.mark.parametrize(("payload", "fields"), [
    ({"title": ""}, {"title"}),
    ({"title": "x", "priority": "urgent"}, {"priority"}),
    ({"title": "x", "due_at": "soon"}, {"due_at"}),
    ({"title": "x", "remind_minutes_before": 15}, {"due_at"}),
    ({"title": "x", "recurrence": "yearly"}, {"recurrence"}),
    ({"title": "x", "contact": "00000000-0000-0000-0000-000000000000"}, {"contact"}),
    ({"title": "x", "titel": "typo"}, {"titel"}),
])
def test_bad_input_is_problem_json(sales_api, payload, fields):
    response = sales_api.post("/api/tasks", payload)
    assert is_problem(response, 422) and fields <= field_names(response), response.json()
    assert not Task.objects.exists()


def test_list_is_mine_and_open_by_default_with_filters(sales_api, sales_user, deal, team):
    bob = testing.make_user("sales", team=team)
    contact = testing.make_contact(owner=sales_user, first_name="Mei")
    early = services.create_task(actor=sales_user, title="Early", due_at=dt.datetime(2026, 7, 1, 9, tzinfo=UTC),
                                 contact=contact)
    late = services.create_task(actor=sales_user, title="Late", due_at=dt.datetime(2026, 7, 9, 9, tzinfo=UTC),
                                deal=deal)
    undated = services.create_task(actor=sales_user, title="Someday")
    done = services.create_task(actor=sales_user, title="Done", due_at=dt.datetime(2026, 7, 2, tzinfo=UTC))
    services.set_task_done(actor=sales_user, task=done)
    services.create_task(actor=sales_user, title="Bob's", assignee=bob, contact=contact)

    def titles(params=None):
        response = sales_api.get("/api/tasks", params)
        assert response.status_code == 200, response.content
        return [t["title"] for t in response.json()["items"]]

    assert titles() == ["Early", "Late", "Someday"]  # by due time, undated last
    assert titles({"status": "done"}) == ["Done"]
    assert titles({"status": "all"}) == ["Early", "Done", "Late", "Someday"]
    assert titles({"assignee": "any"}) == ["Early", "Late", "Someday", "Bob's"]
    assert titles({"assignee": str(bob.uuid)}) == ["Bob's"]
    assert titles({"due_before": "2026-07-05T00:00Z"}) == ["Early"]
    assert titles({"due_after": "2026-07-05"}) == ["Late"]
    assert titles({"contact": str(contact.uuid)}) == ["Early"]
    assert titles({"deal": str(deal.uuid)}) == ["Late"]
    page = sales_api.get("/api/tasks", {"limit": 2}).json()
    assert [t["title"] for t in page["items"]] == ["Early", "Late"] and page["next_cursor"]
    rest = sales_api.get("/api/tasks", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [t["title"] for t in rest["items"]] == ["Someday"]
    assert {early.uuid, late.uuid, undated.uuid}  # created


def test_bad_filters_are_422(sales_api):
    for params, field in (({"status": "later"}, "status"), ({"due_before": "nope"}, "due_before"),
                          ({"assignee": "bob"}, "assignee"), ({"deal": "x"}, "deal")):
        response = sales_api.get("/api/tasks", params)
        assert is_problem(response, 422) and field in field_names(response)


def test_list_queries_do_not_grow_with_the_page(sales_api, sales_user, deal, django_assert_max_num_queries):
    for n in range(3):
        services.create_task(actor=sales_user, title=f"T{n}", deal=deal)
    with django_assert_max_num_queries(10) as first:
        sales_api.get("/api/tasks")
    for n in range(3, 20):
        services.create_task(actor=sales_user, title=f"T{n}", deal=deal)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(sales_api.get("/api/tasks").json()["items"]) == 20


def test_patch_changes_fields_and_done_completes_repeating(sales_api, sales_user):
    task = services.create_task(actor=sales_user, title="Report", due_at=dt.datetime(2030, 7, 1, 9, tzinfo=UTC),
                                recurrence="weekly", remind_minutes_before=5)
    response = sales_api.patch(f"/api/tasks/{task.uuid}", {"title": "Weekly report", "remind_minutes_before": 60})
    assert response.status_code == 200 and response.json()["remind_at"].startswith("2030-07-01T08:00")
    response = sales_api.patch(f"/api/tasks/{task.uuid}", {"done": True})
    assert response.json()["done"] is True
    following = Task.objects.get(done_at__isnull=True)
    assert following.title == "Weekly report" and following.due_at == dt.datetime(2030, 7, 8, 9, tzinfo=UTC)
    assert sales_api.patch(f"/api/tasks/{task.uuid}", {"done": False}).json()["done"] is False
    response = sales_api.patch(f"/api/tasks/{task.uuid}", {"due_at": "2026-03-08T02:30"})
    assert response.status_code == 200  # UTC user: no gap
    sales_user.time_zone = "America/New_York"
    sales_user.save()
    response = sales_api.patch(f"/api/tasks/{task.uuid}", {"due_at": "2026-03-08T02:30"})
    assert is_problem(response, 422) and field_names(response) == {"due_at"}


def test_delete(sales_api, sales_user):
    task = services.create_task(actor=sales_user, title="Gone")
    assert sales_api.delete(f"/api/tasks/{task.uuid}").status_code == 204
    assert not Task.objects.exists()


def test_another_teams_task_is_404_everywhere(sales_api, stranger):
    contact = testing.make_contact(owner=stranger, first_name="Far")
    task = services.create_task(actor=stranger, title="Theirs", contact=contact)
    assert is_problem(sales_api.get(f"/api/tasks/{task.uuid}"), 404)
    assert is_problem(sales_api.patch(f"/api/tasks/{task.uuid}", {"done": True}), 404)
    assert is_problem(sales_api.delete(f"/api/tasks/{task.uuid}"), 404)
    assert sales_api.get("/api/tasks", {"assignee": "any"}).json()["items"] == []
    assert Task.objects.get(pk=task.pk).done_at is None


def test_another_teams_deal_or_contact_cannot_be_linked(sales_api, stranger):
    their_deal = sales_services.create_deal(actor=stranger, data={
        "name": "Theirs", "pipeline": Pipeline.objects.get(is_default=True), "amount": "1", "currency": "USD",
        "owner": stranger})
    their_contact = testing.make_contact(owner=stranger, first_name="Far")
    for field, value in (("deal", their_deal.uuid), ("contact", their_contact.uuid)):
        response = sales_api.post("/api/tasks", {"title": "x", field: str(value)})
        assert is_problem(response, 422) and field_names(response) == {field}
    assert not Task.objects.exists()


def test_readonly_gets_403_on_writes(team, sales_user):
    reader = testing.make_user("readonly", team=team)
    reader_api = api(reader)
    task = services.create_task(actor=sales_user, title="Ours",
                                contact=testing.make_contact(owner=sales_user, first_name="Near"))
    assert reader_api.get(f"/api/tasks/{task.uuid}").status_code == 200
    assert is_problem(reader_api.post("/api/tasks", {"title": "x"}), 403)
    assert is_problem(reader_api.patch(f"/api/tasks/{task.uuid}", {"done": True}), 403)
    assert is_problem(reader_api.delete(f"/api/tasks/{task.uuid}"), 403)
    assert Task.objects.count() == 1 and Task.objects.get().done_at is None


def test_needs_authentication():
    assert is_problem(ApiClient(None).get("/api/tasks"), 401)
