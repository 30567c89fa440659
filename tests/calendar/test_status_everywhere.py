"""``status=X`` selects the same tasks on the task list, in the feed, on the command line,
and in the town overview's counts (``tracker.tasks.states``)."""

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.states import COUNTED, STATUS_FILTERS, matches
from tests.calendar.conftest import NOW, YEAR, parse_ics

TODAY = local_today(NOW, "Asia/Shanghai")
UNIT = "洋溢村党总支"


@pytest.fixture
def mixed(plan_town, monkeypatch):
    """Unit a's tasks in every state: work returned before and after its date, submitted,
    accepted, cancelled, due soon; the page and the CLI see NOW as the current instant."""
    monkeypatch.setattr("tracker.core.web.utcnow", lambda: NOW)
    tasks = db.session.scalars(
        sa.select(Task).where(Task.unit_id == plan_town.units.a.id).order_by(Task.due_date)
    ).all()
    past = [t for t in tasks if t.due_date < TODAY]
    future = [t for t in tasks if t.due_date >= TODAY]
    assert len(past) > 12 and len(future) > 4
    for task in past[:3]:
        task.status = TaskStatus.RETURNED  # awaiting rework, and overdue
    for task in past[3:6]:
        task.status = TaskStatus.ACCEPTED
    for task in past[6:8]:
        task.status = TaskStatus.SUBMITTED
    past[8].status = TaskStatus.CANCELLED
    future[0].status = TaskStatus.RETURNED  # awaiting rework, not yet late
    future[-1].status = TaskStatus.SUBMITTED
    soon = [t for t in future if t.due_date <= TODAY + timedelta(days=7)]
    if not soon:  # a task due in three days whatever the plan's dates
        future[1].due_date = TODAY + timedelta(days=3)
    db.session.commit()
    return tasks


def page_ids(client, **query) -> set[int]:
    """Every task the task list shows, following its pages."""
    ids, page = set(), 1
    while True:
        response = client.get("/tasks", query_string={**query, "page": page})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        html = response.get_data(as_text=True)
        ids |= {int(i) for i in re.findall(r'href="/tasks/(\d+)"', html)}
        if 'rel="next"' not in html:
            return ids
        page += 1


@pytest.mark.parametrize("status", [None, *STATUS_FILTERS])
def test_every_status_selects_the_same_tasks_everywhere(client, runner, login, plan_town,
                                                        feed_url, mixed, status):
    admin = plan_town.users.admin
    query = {"status": status} if status else {}
    expected = {t.id for t in mixed if matches(status, t.status, t.due_date, TODAY)}

    login(client, admin)
    page = page_ids(client, unit=plan_town.units.a.id, year=YEAR, **query)

    response = client.get(feed_url(admin, detail="units", unit=UNIT, year=YEAR, **query))
    assert response.status_code == 200
    feed = {int(str(c["UID"]).split("@")[0].removeprefix("task-"))
            for c in parse_ics(response.data).tasks()}

    args = ["tasks", "list", "--unit", UNIT, "--year", str(YEAR), "--format", "json"]
    result = runner.invoke(args=args + (["--status", status] if status else []))
    assert result.exit_code == 0, result.output
    cli = {row["id"] for row in json.loads(result.output)}

    assert page == feed == cli == expected


def test_returned_means_awaiting_rework_whatever_its_date(client, login, plan_town, mixed):
    returned = {t.id for t in mixed if t.status == TaskStatus.RETURNED}
    assert len(returned) == 4 and any(t.due_date < TODAY for t in mixed if t.id in returned)
    login(client, plan_town.users.admin)
    assert page_ids(client, status="returned", year=YEAR) == returned


def test_overview_counts_what_its_links_list(client, login, plan_town, mixed):
    login(client, plan_town.users.admin)
    html = client.get("/overview", query_string={"year": YEAR}).get_data(as_text=True)
    unit_id = plan_town.units.a.id
    for status in COUNTED:
        link = re.search(rf'href="/tasks\?unit={unit_id}&amp;status={status}&amp;year={YEAR}">'
                         r"(\d+)</a>", html)
        expected = sum(matches(status, t.status, t.due_date, TODAY) for t in mixed)
        if expected:
            assert link and int(link[1]) == expected, status
            assert len(page_ids(client, unit=unit_id, status=status, year=YEAR)) == expected
        else:
            assert link is None, status
    # Work awaiting rework is counted whatever its date: three of the four are overdue.
    assert re.search(rf"status=returned&amp;year={YEAR}\">4</a>", html)


def test_an_unknown_status_is_refused_everywhere(client, runner, login, plan_town, feed_url):
    login(client, plan_town.users.admin)
    assert client.get("/tasks?status=late").status_code == 400
    assert client.get("/?status=late").status_code == 400
    response = client.get(feed_url(plan_town.users.admin, status="late"))
    assert response.status_code == 400 and b"unknown status 'late'" in response.data
    result = runner.invoke(args=["tasks", "list", "--status", "late"])
    assert result.exit_code == 2 and "'late' is not one of" in result.output
