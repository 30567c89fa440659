"""Stored components (feed_components): a feed built in a new process reuses each task's
serialised component while its version matches, and never serves a stale one."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tracker.calendar.models import FeedComponent
from tracker.calendar.queries import COMPONENTS
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.planfile import bundled_plans, parse_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import move_due
from tests.calendar.conftest import NOW, YEAR, parse_ics, tasks_in_scope


@pytest.fixture(autouse=True)
def empty_process_cache():
    COMPONENTS.clear()
    yield
    COMPONENTS.clear()


def fetch(client, path, count_queries):
    """A fetch as a fresh process makes it (nothing cached in memory): the parsed feed and
    the statements that wrote stored components."""
    COMPONENTS.clear()
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO FEED_COMPONENTS")]
    return response.data, writes


def stored(task):
    return db.session.scalars(sa.select(FeedComponent).where(FeedComponent.task_id == task.id)
                              ).all()


def event_of(data, task):
    return parse_ics(data).by_uid()[f"task-{task.id}@127.0.0.1"]


def test_a_new_process_reuses_the_stored_components(client, plan_town, feed_url,
                                                      count_queries):
    manager = plan_town.users.manager
    path = feed_url(manager)
    first, writes = fetch(client, path, count_queries)
    assert len(writes) == 1
    tasks = tasks_in_scope(manager)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedComponent)) == len(tasks)
    again, writes = fetch(client, path, count_queries)
    assert again == first and writes == []
    # What is served is what was stored: a row changed behind the feed's back shows up
    # (the version is the data's, so this is the only way a row can differ from a build).
    row = stored(tasks[0])[0]
    assert b"TRANSP:TRANSPARENT\r\n" in row.body
    row.body = row.body.replace(b"TRANSP:TRANSPARENT", b"TRANSP:OPAQUE")
    db.session.commit()
    marked, _ = fetch(client, path, count_queries)
    assert str(event_of(marked, tasks[0])["TRANSP"]) == "OPAQUE"
    assert str(event_of(marked, tasks[1])["TRANSP"]) == "TRANSPARENT"


def test_every_change_to_a_task_is_seen_through_the_stored_components(
        client, plan_town, feed_url, count_queries, monkeypatch):
    manager = plan_town.users.manager
    path = feed_url(manager)
    fetch(client, path, count_queries)
    tasks = tasks_in_scope(manager)

    # Status.
    task = tasks[2]
    task.status, task.updated_at = TaskStatus.ACCEPTED, utcnow()
    db.session.commit()
    data, writes = fetch(client, path, count_queries)
    assert str(event_of(data, task)["SUMMARY"]).startswith("✓ ")
    assert len(writes) == 1

    # Due date.
    task = tasks[3]
    day = task.due_date + timedelta(days=2)
    move_due(task, plan_town.users.admin, day, utcnow())
    db.session.commit()
    data, _ = fetch(client, path, count_queries)
    assert event_of(data, task)["DTSTART"].dt == day
    assert event_of(data, task)["SEQUENCE"] == 1

    # Title and English title, through a reloaded plan (a new plan version).
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    changed = text.replace('title = "党内通报意识形态领域情况"', 'title = "党内通报意识形态领域情况（更新）"')
    changed = changed.replace('title_en = "In-Party briefing on the ideological situation"',
                              'title_en = "Briefing, revised"')
    assert changed.count("（更新）") == 1 and "Briefing, revised" in changed
    load_plan(parse_plan(changed.encode("utf-8"), "changed"), YEAR, utcnow())
    db.session.commit()
    data, _ = fetch(client, path, count_queries)
    renamed = [t for t in tasks_in_scope(manager) if "（更新）" in t.title]
    assert renamed
    for task in renamed:
        event = event_of(data, task)
        assert "（更新）" in str(event["SUMMARY"])
        assert "Briefing, revised" in str(event["DESCRIPTION"])

    # The unit's name (no stamp on the task at all).
    plan_town.units.a.name = "洋溢村党委"
    db.session.commit()
    data, _ = fetch(client, path, count_queries)
    assert all("【洋溢村党委】" in str(c["SUMMARY"]) for c in parse_ics(data).tasks())

    # Overdue on a later day: the day's verdict is part of the version (the mark is text).
    pending = next(t for t in tasks_in_scope(manager)
                   if t.status == TaskStatus.OPEN and t.due_date > NOW.date())
    assert not str(event_of(data, pending)["SUMMARY"]).startswith("⚠")
    later = NOW + timedelta(days=(pending.due_date - NOW.date()).days + 1)
    monkeypatch.setattr("tracker.calendar.views.utcnow", lambda: later)
    data, _ = fetch(client, path, count_queries)
    assert str(event_of(data, pending)["SUMMARY"]).startswith("⚠")


def test_a_deleted_task_takes_its_stored_components_with_it(client, plan_town, feed_url,
                                                             count_queries):
    manager = plan_town.users.manager
    fetch(client, feed_url(manager), count_queries)
    task = tasks_in_scope(manager)[0]
    assert stored(task)
    db.session.execute(sa.delete(Task).where(Task.id == task.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedComponent).where(
        FeedComponent.task_id == task.id)) == 0
