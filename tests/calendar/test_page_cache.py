"""A unit member's calendar page is kept rendered (calendar.views.PAGES) while what it is
made of is unchanged; any change shows at once."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar.views import PAGES
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Phase
from tracker.tasks.models import Task, TaskStatus
from tracker.workdays.services import set_override


@pytest.fixture(autouse=True)
def empty_pages():
    PAGES.clear()
    yield
    PAGES.clear()


def first_task(unit):
    return db.session.scalar(sa.select(Task).where(Task.unit_id == unit.id,
                                                   Task.status == TaskStatus.OPEN)
                             .order_by(Task.due_date, Task.id))


def page(client, day):
    response = client.get(f"/?date={day.isoformat()}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_kept_page_is_served_and_every_change_shows(client, town, login, count_queries):
    login(client, town.users.manager)
    task = first_task(town.units.a)
    day = task.due_date
    first = page(client, day)
    assert f'/tasks/{task.id}"' in first
    with count_queries() as statements:
        again = page(client, day)
    assert again == first and PAGES.hits == 1
    # Kept: the page's own queries (tasks, phases, holidays, filters) are not sent again.
    assert len(statements) <= 3, statements

    task.status, task.updated_at = TaskStatus.ACCEPTED, utcnow()
    db.session.commit()
    changed = page(client, day)
    assert f'class="item state-accepted" href="/tasks/{task.id}"' in changed

    task.title, task.title_en, task.updated_at = "改了名字的任务", "", utcnow()
    db.session.commit()
    assert "改了名字的任务" in page(client, day)

    # A working-day override on a day of the month (no task changes at all).
    off = day.replace(day=1) + timedelta(days=40)
    off = off.replace(day=1) - timedelta(days=1)  # the month's last day
    set_override(off, working=False, name="镇里放假", actor=town.users.admin, now=utcnow())
    db.session.commit()
    assert "镇里放假" in page(client, off)

    # A phase renamed in the plan (the plan's change stamp).
    phase = db.session.scalar(sa.select(Phase).where(Phase.active).order_by(Phase.id))
    phase.title, phase.title_en = "新的阶段名称", ""
    phase.plan.updated_at = utcnow()
    db.session.commit()
    assert "新的阶段名称" in page(client, day) or "新的阶段名称" in page(client, off)


def test_the_kept_page_is_per_unit_and_per_language(client, app, town, login):
    task_a, task_b = first_task(town.units.a), first_task(town.units.b)
    login(client, town.users.manager)
    mine = page(client, task_a.due_date)
    assert f'/tasks/{task_a.id}"' in mine

    other = login(app.test_client(), town.users.other)
    theirs = page(other, task_a.due_date)
    assert f'/tasks/{task_a.id}"' not in theirs

    town.users.manager.locale = "zh_CN" if 'lang="en"' in mine else "en"
    db.session.commit()
    english = page(client, task_a.due_date)
    assert english != mine


def test_the_coordinator_page_is_built_each_time(client, town, login):
    login(client, town.users.admin)
    task = first_task(town.units.a)
    page(client, task.due_date)
    page(client, task.due_date)
    assert PAGES.hits == 0 and PAGES.misses == 0
    town.units.a.name = "改名的村"
    db.session.commit()
    assert "改名的村" in page(client, task.due_date)
