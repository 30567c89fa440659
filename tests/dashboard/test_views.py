"""Calendar, lists and dashboards: content, filters, and statements per page."""

import re

import pytest
import sqlalchemy as sa

from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.phases.services import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.units.models import Unit, UnitKind


#: Task titles are checked in Chinese, the plan's own language.
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_month_week_and_agenda(client, town, login):
    login(client, town.users.manager)
    june = client.get("/", query_string={"date": f"{town.year}-06-10"}, headers=ZH)
    assert june.status_code == 200
    assert "两委班子集中学习研讨（第3次，共6次）" in june.text
    assert "协同推进阶段" in june.text  # the phase band
    week = client.get("/", query_string={"view": "week", "date": f"{town.year}-06-29"},
                      headers=ZH)
    assert "上半年意识形态工作自查" in week.text
    assert "两委班子集中学习研讨（第2次" not in week.text
    agenda = client.get("/", query_string={"view": "agenda", "date": f"{town.year}-06-01"},
                        headers=ZH)
    assert "上半年意识形态工作自查" in agenda.text
    assert 'class="today-mark"' in client.get("/", headers=ZH).text
    # The month in each language's own form.
    assert f"<h1>{town.year}年6月</h1>" in june.text
    english = client.get("/", query_string={"date": f"{town.year}-06-10"})
    assert f"<h1>June {town.year}</h1>" in english.text


def test_unit_users_see_only_their_unit(client, town, login):
    login(client, town.users.other)
    page = client.get("/tasks", query_string={"unit": town.units.a.id, "year": town.year})
    ids = {int(i) for i in re.findall(r'href="/tasks/(\d+)"', page.text)}
    units = set(db.session.scalars(sa.select(Task.unit_id).where(Task.id.in_(ids))))
    assert units == {town.units.b.id}


def test_town_calendar_counts_units_per_duty(client, town, login):
    login(client, town.users.admin)
    page = client.get("/", query_string={"date": f"{town.year}-06-10"}, headers=ZH)
    # Two branches share each unit duty: one entry with a count, not two rows.
    assert page.text.count("两委班子集中学习研讨（第3次，共6次）") == 1
    unit_view = client.get("/", query_string={"date": f"{town.year}-06-10",
                                              "unit": town.units.a.id}, headers=ZH)
    assert "洋溢村党总支" in unit_view.text


@pytest.mark.parametrize("query", [{"date": "2026-13-01"}, {"view": "year"},
                                   {"status": "finished"}, {"unit": "x"}, {"year": "1800"},
                                   {"date": "1900-01-01"}])
def test_bad_query_arguments_are_400(client, town, login, query):
    login(client, town.users.admin)
    response = client.get("/", query_string=query)
    assert response.status_code == 400


def test_filters(client, town, login):
    login(client, town.users.manager)
    page = client.get("/tasks", query_string={"duty": "self-check-h1", "year": town.year},
                      headers=ZH)
    assert "上半年意识形态工作自查" in page.text
    assert len(re.findall(r'href="/tasks/\d+"', page.text)) == 1
    page = client.get("/tasks", query_string={"phase": "P4", "year": town.year}, headers=ZH)
    assert "两委班子集中学习研讨（第6次，共6次）" in page.text
    assert "两委班子集中学习研讨（第1次" not in page.text


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
    assert "<svg" in page.text and "<script" not in page.text.split("<main>")[1]


def test_viewers_get_no_overview(client, town, login):
    login(client, town.users.viewer)
    assert client.get("/overview").status_code == 403


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


def test_the_calendar_offers_its_view_as_ics(client, town, login):
    from icalendar import Calendar

    login(client, town.users.admin)
    page = client.get("/", query_string={"unit": town.units.a.id, "phase": "P2",
                                         "date": f"{town.year}-05-01"})
    link = re.search(r'class="download" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    events = [c for c in Calendar.from_ical(response.data).walk("VEVENT")
              if str(c.get("UID", "")).startswith("task-")]
    expected = db.session.scalar(sa.select(sa.func.count()).select_from(Task).where(
        Task.unit_id == town.units.a.id, Task.year == town.year,
        Task.phase.has(code="P2")))
    assert len(events) == expected > 0
