"""The coordinator's feed: one event per duty and day for the whole town, ``detail=units``
for one event per task."""

from collections import defaultdict
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tracker.calendar import queries
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import move_due
from tracker.workdays.services import work_calendar
from tests.calendar.conftest import NOW, YEAR, parse_ics, tasks_in_scope

HOST = "127.0.0.1"


def get_ok(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def groups_of(tasks):
    """{(due, duty_id): [tasks]}: what the town feed shows one event for."""
    groups = defaultdict(list)
    for task in tasks:
        groups[(task.due_date, task.duty_id)].append(task)
    return groups


def uid(due, duty_id):
    return f"duty-{duty_id}-{due:%Y%m%d}@{HOST}"


def duty_events(parsed):
    return {str(c["UID"]): c for c in parsed.components() if str(c["UID"]).startswith("duty-")}


def set_status(task, status):
    task.status = status
    task.updated_at = utcnow()
    db.session.commit()


def test_the_town_feed_has_one_event_per_duty_and_day_plus_the_phases(
        client, plan_town, feed_url):
    admin = plan_town.users.admin
    tasks = tasks_in_scope(admin)
    done = tasks[0]
    set_status(done, TaskStatus.ACCEPTED)
    parsed = parse_ics(get_ok(client, feed_url(admin)).data)
    assert parsed.tasks() == []
    events = duty_events(parsed)
    groups = groups_of(tasks_in_scope(admin))
    assert set(events) == {uid(*key) for key in groups}
    phases = [c for c in parsed.components() if str(c["UID"]).startswith("phase-")]
    assert len(phases) == 4
    assert len(parsed.components()) == len(groups) + 4

    group = groups[(done.due_date, done.duty_id)]
    event = events[uid(done.due_date, done.duty_id)]
    assert event["DTSTART"].dt == done.due_date
    assert event["DTEND"].dt == done.due_date + timedelta(days=1)
    # Past its day with a unit still owing work: the overdue mark leads.
    assert str(event["SUMMARY"]) == f"⚠ {done.title} · 1/{len(group)} 已提交"
    description = str(event["DESCRIPTION"])
    open_units = sorted(t.unit.name for t in group if t.id != done.id)
    assert open_units and all(f"· {name}" in description for name in open_units)
    assert f"· {done.unit.name}" not in description
    # The link opens the town's task list narrowed to this duty and day.
    url = urlsplit(str(event["URL"]))
    duty = db.session.get(Duty, done.duty_id)
    assert url.path == "/tasks"
    assert parse_qs(url.query) == {"due": [done.due_date.isoformat()], "duty": [duty.code]}
    assert f"办理：{event['URL']}" in description


def test_the_town_events_link_to_the_task_list_of_that_duty_and_day(
        client, plan_town, feed_url, login):
    admin = plan_town.users.admin
    events = duty_events(parse_ics(get_ok(client, feed_url(admin)).data))
    groups = groups_of(tasks_in_scope(admin))
    key = next(k for k, g in groups.items() if len(g) == 2)
    url = urlsplit(str(events[uid(*key)]["URL"]))
    login(client, admin)
    page = get_ok(client, f"{url.path}?{url.query}").get_data(as_text=True)
    assert all(f"/tasks/{t.id}\"" in page for t in groups[key])
    others = [t for t in tasks_in_scope(admin) if (t.due_date, t.duty_id) != key]
    assert not any(f"/tasks/{t.id}\"" in page for t in others)


def test_the_town_feed_speaks_its_owners_language(client, plan_town, feed_url):
    admin = plan_town.users.admin
    admin.locale = "en"
    db.session.commit()
    tasks = tasks_in_scope(admin)
    task = next(t for t in tasks if t.title_en)
    events = duty_events(parse_ics(get_ok(client, feed_url(admin)).data))
    event = events[uid(task.due_date, task.duty_id)]
    total = len(groups_of(tasks)[(task.due_date, task.duty_id)])
    assert str(event["SUMMARY"]).endswith(f"{task.title_en} · 0/{total} done")
    assert "Still owing work" in str(event["DESCRIPTION"])


def test_detail_units_keeps_one_event_per_task_and_a_bad_detail_is_400(
        client, plan_town, feed_url):
    admin = plan_town.users.admin
    parsed = parse_ics(get_ok(client, feed_url(admin, detail="units")).data)
    assert sorted(str(c["UID"]) for c in parsed.tasks()) == sorted(
        f"task-{t.id}@{HOST}" for t in tasks_in_scope(admin))
    assert duty_events(parsed) == {}
    response = client.get(feed_url(admin, detail="everything"))
    assert response.status_code == 400 and b"detail" in response.data
    # A unit's feed, and the coordinator's feed of one unit, stay one event per task.
    manager = plan_town.users.manager
    assert len(parse_ics(get_ok(client, feed_url(manager)).data).tasks()) == len(
        tasks_in_scope(manager))
    one_unit = parse_ics(get_ok(client, feed_url(admin, unit=plan_town.units.a.name)).data)
    assert len(one_unit.tasks()) == len(
        tasks_in_scope(admin, Task.unit_id == plan_town.units.a.id))


def test_a_change_keeps_the_uid_advances_dtstamp_and_the_etag_answers_304(
        client, plan_town, feed_url):
    admin = plan_town.users.admin
    path = feed_url(admin)
    first = get_ok(client, path)
    etag = first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    task = tasks_in_scope(admin)[5]
    key = uid(task.due_date, task.duty_id)
    before = duty_events(parse_ics(first.data))[key]

    set_status(task, TaskStatus.SUBMITTED)
    second = client.get(path, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    events = duty_events(parse_ics(second.data))
    after = events[key]
    assert " · 1/" in str(after["SUMMARY"]) and " · 0/" in str(before["SUMMARY"])
    assert after["DTSTAMP"].dt > before["DTSTAMP"].dt
    assert after["LAST-MODIFIED"].dt == after["DTSTAMP"].dt
    assert after["SEQUENCE"] == before["SEQUENCE"] == 0
    # Other days keep their bytes' stamps.
    unchanged = [k for k in events if k != key]
    old = duty_events(parse_ics(first.data))
    assert all(events[k]["DTSTAMP"].dt == old[k]["DTSTAMP"].dt for k in unchanged)


def test_a_task_moved_away_dates_the_day_it_left_and_joins_another(client, plan_town, feed_url):
    admin = plan_town.users.admin
    path = feed_url(admin)
    before = duty_events(parse_ics(get_ok(client, path).data))
    groups = groups_of(tasks_in_scope(admin))
    (day, duty_id), group = next((k, g) for k, g in groups.items() if len(g) == 2)
    task = group[0]
    new_day = work_calendar().working_on_or_after(day + timedelta(days=1))  # typed by hand
    assert (new_day, duty_id) not in groups
    move_due(task, admin, new_day, NOW + timedelta(hours=1))
    db.session.commit()
    after = duty_events(parse_ics(get_ok(client, path).data))
    left, joined = after[uid(day, duty_id)], after[uid(new_day, duty_id)]
    assert str(left["SUMMARY"]).endswith(" · 0/1 已提交")
    assert left["DTSTAMP"].dt > before[uid(day, duty_id)]["DTSTAMP"].dt
    assert str(joined["SUMMARY"]).endswith(" · 0/1 已提交")
    assert task.unit.name in str(joined["DESCRIPTION"])


def test_a_reloaded_plan_that_renames_a_duty_raises_sequence(client, plan_town, feed_url):
    from tracker.phases.planfile import bundled_plans, parse_plan

    path = feed_url(plan_town.users.admin)
    before = duty_events(parse_ics(get_ok(client, path).data))
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    changed = text.replace('title = "党内通报意识形态领域情况"', 'title = "党内通报意识形态领域情况（更新）"')
    assert changed != text
    load_plan(parse_plan(changed.encode("utf-8"), "changed"), YEAR, utcnow())
    db.session.commit()
    after = duty_events(parse_ics(get_ok(client, path).data))
    assert set(after) == set(before)
    renamed = [k for k, c in after.items() if "（更新）" in str(c["SUMMARY"])]
    assert renamed and all(after[k]["SEQUENCE"] == 1 for k in renamed)
    assert all(c["SEQUENCE"] == 0 for k, c in after.items() if k not in renamed)


def test_a_cancelled_task_leaves_the_count_and_a_long_list_is_cut(
        client, plan_town, feed_url, monkeypatch):
    admin = plan_town.users.admin
    groups = groups_of(tasks_in_scope(admin))
    (day, duty_id), group = next((k, g) for k, g in groups.items() if len(g) == 2)
    monkeypatch.setattr(queries, "OPEN_UNITS_LISTED", 1)
    path = feed_url(admin)
    event = duty_events(parse_ics(get_ok(client, path).data))[uid(day, duty_id)]
    assert "… 另有 1 个单位" in str(event["DESCRIPTION"])
    set_status(group[0], TaskStatus.CANCELLED)
    event2 = duty_events(parse_ics(get_ok(client, path).data))[uid(day, duty_id)]
    assert str(event2["SUMMARY"]).endswith(" · 0/1 已提交")
    assert event2["DTSTAMP"].dt > event["DTSTAMP"].dt


@pytest.mark.parametrize("detail", ["duties", "units"])
def test_the_town_feed_reads_the_same_statements_for_more_data(
        app, client, plan_town, feed_url, create_unit, count_queries, detail):
    from tracker.phases.planfile import read_plan

    path = feed_url(plan_town.users.admin, detail=detail)
    get_ok(client, path)  # last_used_at

    def statements():
        with count_queries() as seen:
            get_ok(client, path)
        return len(seen)

    small = statements()
    for i in range(6):
        create_unit(f"新增单位{i}", "branch")
    load_plan(read_plan("shuyuan-2020"), YEAR, utcnow())
    load_plan(read_plan("shuyuan-2020"), YEAR - 1, utcnow())
    db.session.commit()
    calendar = work_calendar()  # a date moved by hand is a working day
    for task in tasks_in_scope(plan_town.users.admin)[:10]:
        move_due(task, plan_town.users.admin,
                 calendar.working_on_or_after(task.due_date + timedelta(days=2)), utcnow())
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Task.id))) > 3 * 96
    get_ok(client, path)  # the new and changed tasks' components are stored (per task)
    assert statements() == small <= 14, small
