"""A unit's progress, the town overview, and statements per page."""

import pytest
import sqlalchemy as sa

from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.units.models import Unit, UnitKind


#: Task titles are checked in Chinese, the plan's own language.
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def accept(task):
    task.status = TaskStatus.ACCEPTED
    db.session.commit()


def test_progress_rises_when_work_is_accepted(client, town, login):
    login(client, town.users.manager)
    before = client.get("/progress").text
    tasks = db.session.scalars(sa.select(Task).where(Task.unit_id == town.units.a.id)).all()
    for task in tasks[: len(tasks) // 2]:
        task.status = TaskStatus.ACCEPTED
    db.session.commit()
    after = client.get("/progress").text
    assert 'data-testid="done-percent">0%' in before
    assert f'data-testid="done-percent">{round(100 * (len(tasks) // 2) / len(tasks))}%' in after


def test_overview_counts_and_links(client, town, login):
    login(client, town.users.admin)
    accept(db.session.scalars(sa.select(Task).where(Task.unit_id == town.units.b.id)).first())
    page = client.get("/overview", query_string={"year": town.year, "sort": "accepted",
                                                 "dir": "desc"})
    assert page.status_code == 200
    first_row = page.text.index("新北村党支部") < page.text.index("洋溢村党总支")
    assert first_row
    assert f"/tasks?unit={town.units.b.id}&amp;status=accepted&amp;year={town.year}" in page.text
    assert "<svg" in page.text and "<script" not in page.text.split("<main")[1]


def test_viewers_get_no_overview(client, town, login):
    login(client, town.users.viewer)
    assert client.get("/overview").status_code == 404


def grow(town, units=12, extra_year=True):
    """More units, tasks and another year: pages must not send more statements."""
    for i in range(units):
        db.session.add(Unit(name=f"新单位{i}", kind=UnitKind.OFFICE))
    db.session.commit()
    load_plan(read_plan("shuyuan-2020"), town.year, utcnow())
    if extra_year:
        load_plan(read_plan("shuyuan-2020"), town.year - 1, utcnow())
    for task in db.session.scalars(sa.select(Task).where(Task.seq == 1)).all():
        task.status = TaskStatus.SUBMITTED
    db.session.commit()


PAGES = {
    "manager": ["/", "/?view=week", "/?view=agenda", "/progress", "/tasks"],
    "admin": ["/", "/overview", "/progress?unit={a}", "/tasks", "/?unit={a}", "/admin/units",
              "/admin/users", "/tasks/{task}"],
}


def test_statements_per_page_do_not_grow_with_the_data(app, town, login, count_queries):
    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))

    def measure():
        counts = {}
        for role, urls in PAGES.items():
            client = login(app.test_client(), getattr(town.users, role))
            for url in urls:
                url = url.format(a=town.units.a.id, task=task)
                with count_queries() as statements:
                    assert client.get(url).status_code == 200, url
                counts[(role, url)] = len(statements)
        return counts

    small = measure()
    grow(town)
    assert measure() == small
    assert max(small.values()) <= 12, small


