"""The subscription feed and the signed-in download, over HTTP."""

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tracker.calendar.services import issue_token, revoke_token
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Phase
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import FINISHED, Task, TaskStatus
from tracker.tasks.services import move_due
from tracker.workdays.services import work_calendar
from tests.calendar.conftest import LOADED_AT, YEAR, parse_ics, tasks_in_scope


def get_ok(client, path, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def task_uids(parsed, name="VEVENT"):
    return sorted(str(c["UID"]) for c in parsed.tasks(name))


def expected_uids(tasks):
    return sorted(f"task-{t.id}@127.0.0.1" for t in tasks)


@pytest.mark.parametrize("who", ["admin", "manager", "viewer", "other"])
def test_the_feed_shows_exactly_what_its_owner_may_see(client, plan_town, feed_url, who):
    user = getattr(plan_town.users, who)
    # The coordinator's feed is one event per duty and day unless asked for every task.
    response = get_ok(client, feed_url(user, detail="units"))
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = parse_ics(response.data)
    tasks = tasks_in_scope(user)
    assert tasks and len(parsed.tasks()) == len(tasks)
    assert task_uids(parsed) == expected_uids(tasks)
    # The phases of the plan's year, as multi-day events.
    phases = [c for c in parsed.components() if str(c["UID"]).startswith("phase-")]
    assert len(phases) == 4
    assert all(p["DTEND"].dt - p["DTSTART"].dt > timedelta(days=30) for p in phases)


def test_feed_headers_no_cookie_and_no_referrer(client, plan_town, feed_url, login):
    path = feed_url(plan_town.users.manager)
    response = get_ok(client, path)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["ETag"].startswith('"')  # strong: not W/"…"
    assert response.headers["Last-Modified"]
    assert "private" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    # A browser that is also signed in (it sends its session cookie) gets none back either.
    login(client, plan_town.users.manager)
    response = get_ok(client, path)
    assert "Set-Cookie" not in response.headers


def test_two_exports_are_byte_equal_and_a_conditional_get_is_a_304(client, plan_town, feed_url):
    path = feed_url(plan_town.users.admin)
    first, second = get_ok(client, path), get_ok(client, path)
    assert first.data == second.data
    assert task_uids(parse_ics(first.data)) == task_uids(parse_ics(second.data))
    etag = first.headers["ETag"]
    assert second.headers["ETag"] == etag

    not_modified = client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert client.get(path, headers={"If-None-Match": '"something else"'}).status_code == 200


def test_a_moved_due_date_raises_sequence_keeps_the_uid_and_changes_the_etag(
        client, plan_town, feed_url):
    path = feed_url(plan_town.users.manager)
    before = get_ok(client, path)
    task = db.session.scalars(sa.select(Task).where(Task.unit_id == plan_town.units.a.id)
                              .order_by(Task.due_date)).first()
    uid = f"task-{task.id}@127.0.0.1"
    old_event = parse_ics(before.data).by_uid()[uid]
    assert old_event["SEQUENCE"] == 0

    new_day = task.due_date + timedelta(days=3)
    move_due(task, plan_town.users.admin, new_day, utcnow())
    db.session.commit()
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    event = parse_ics(after.data).by_uid()[uid]
    assert event["SEQUENCE"] == 1
    assert event["DTSTART"].dt == new_day
    assert event["DTSTAMP"].dt > old_event["DTSTAMP"].dt
    assert task_uids(parse_ics(after.data)) == task_uids(parse_ics(before.data))

    # A second move raises it again; other tasks keep theirs.
    move_due(task, plan_town.users.admin, new_day + timedelta(days=1), utcnow())
    db.session.commit()
    again = parse_ics(get_ok(client, path).data)
    assert again.by_uid()[uid]["SEQUENCE"] == 2
    assert {c["SEQUENCE"] for c in again.tasks() if str(c["UID"]) != uid} == {0}


def test_a_reloaded_plan_that_renames_a_task_raises_sequence(client, plan_town, feed_url):
    from tracker.phases.planfile import bundled_plans, parse_plan

    path = feed_url(plan_town.users.viewer)
    before = parse_ics(get_ok(client, path).data)
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    changed = text.replace('title = "党内通报意识形态领域情况"', 'title = "党内通报意识形态领域情况（更新）"')
    assert changed != text
    load_plan(parse_plan(changed.encode("utf-8"), "changed"), YEAR, utcnow())
    db.session.commit()
    after = parse_ics(get_ok(client, path).data)
    renamed = [c for c in after.tasks() if "（更新）" in str(c["SUMMARY"])]
    assert renamed and all(c["SEQUENCE"] == 1 for c in renamed)
    assert task_uids(after) == task_uids(before)


def test_a_manager_moved_to_another_unit_sees_the_new_units_tasks(client, plan_town, feed_url):
    manager = plan_town.users.manager
    path = feed_url(manager)
    before = get_ok(client, path)
    assert task_uids(parse_ics(before.data)) == expected_uids(tasks_in_scope(manager))

    manager.unit = plan_town.units.b
    db.session.commit()
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    parsed = parse_ics(after.data)
    expected = tasks_in_scope(manager)
    assert {t.unit_id for t in expected} == {plan_town.units.b.id}
    assert task_uids(parsed) == expected_uids(expected)
    assert parsed.calendar["X-WR-CALNAME"] == "工作任务 · 党政办公室"
    # A client that only sends If-Modified-Since is not told "not modified" either.
    since = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert since.status_code == 200


def test_wrong_revoked_or_deactivated_tokens_are_a_plain_404(client, plan_town, feed_url):
    manager = plan_town.users.manager
    path = feed_url(manager)
    get_ok(client, path)
    for wrong in ("/feeds/nothing.ics", "/feeds/" + "A" * 43 + ".ics",
                  path[:-5] + "x.ics", path.replace(".ics", ".ics.ics")):
        response = client.get(wrong)
        assert response.status_code == 404, wrong
        assert "Set-Cookie" not in response.headers
        assert b"VCALENDAR" not in response.data

    renewed = feed_url(manager)  # a new token revokes the old one
    assert client.get(path).status_code == 404
    get_ok(client, renewed)
    revoke_token(manager, utcnow())
    db.session.commit()
    assert client.get(renewed).status_code == 404

    path = feed_url(plan_town.users.viewer)
    plan_town.users.viewer.active = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_filters_narrow_the_feed_and_never_widen_it(client, plan_town, feed_url):
    admin, manager = plan_town.users.admin, plan_town.users.manager
    units = plan_town.units

    def uids(user, **query):
        return task_uids(parse_ics(get_ok(client, feed_url(user, **query)).data))

    assert uids(admin, unit=units.a.name) == expected_uids(
        tasks_in_scope(admin, Task.unit_id == units.a.id))
    assert uids(manager, unit=units.b.name) == []  # outside the manager's scope
    assert uids(manager, unit="no such unit") == []
    p1 = db.session.scalar(sa.select(Phase.id).where(Phase.code == "P1"))
    assert uids(manager, phase="P1") == expected_uids(
        tasks_in_scope(manager, Task.phase_id == p1))
    phase_events = parse_ics(get_ok(client, feed_url(manager, phase="P1")).data).components()
    assert [str(c["UID"]) for c in phase_events if str(c["UID"]).startswith("phase-")] == [
        "phase-shuyuan-2020-2026-P1@127.0.0.1"]

    # Finish two tasks: done=0 leaves them out, status=accepted shows only the accepted one.
    first, second = tasks_in_scope(manager)[:2]
    first.status, second.status = TaskStatus.ACCEPTED, TaskStatus.SUBMITTED
    first.updated_at = second.updated_at = utcnow()
    db.session.commit()
    assert uids(manager, status="accepted") == expected_uids([first])
    assert uids(manager, done=0) == expected_uids(
        tasks_in_scope(manager, Task.status.not_in(FINISHED)))
    assert len(uids(manager, done=0)) == len(tasks_in_scope(manager)) - 2
    assert uids(manager, year=YEAR + 1) == []

    todo = parse_ics(get_ok(client, feed_url(manager, kind="todo")).data)
    assert task_uids(todo, "VTODO") == expected_uids(tasks_in_scope(manager))
    assert not todo.tasks("VEVENT")

    alarms = get_ok(client, feed_url(manager, alarm=1)).data
    assert b"BEGIN:VALARM" in alarms and b"ACTION:DISPLAY" in alarms
    assert b"ACTION:EMAIL" not in alarms
    assert b"VALARM" not in get_ok(client, feed_url(manager)).data

    for bad in ({"status": "late"}, {"kind": "journal"}, {"done": "yes"}, {"year": "1999"}):
        response = client.get(feed_url(manager, **bad))
        assert response.status_code == 400, bad
        assert "Set-Cookie" not in response.headers


def test_without_a_year_the_feed_shows_last_year_and_after(client, plan_town, feed_url):
    """Without ``year=`` the feed starts on 1 January of last year; ``year=all`` shows all."""
    for year in (YEAR - 2, YEAR - 1):
        load_plan(read_plan("shuyuan-2020"), year, LOADED_AT)
    db.session.commit()
    manager = plan_town.users.manager

    def years(**query):
        parsed = parse_ics(get_ok(client, feed_url(manager, **query)).data)
        return sorted({c["DTSTART"].dt.year for c in parsed.tasks()})

    assert years() == [YEAR - 1, YEAR]
    assert years(year="all") == [YEAR - 2, YEAR - 1, YEAR]
    assert years(year=YEAR - 2) == [YEAR - 2]
    assert task_uids(parse_ics(get_ok(client, feed_url(manager)).data)) == expected_uids(
        tasks_in_scope(manager, Task.year >= YEAR - 1))


def test_a_changed_task_shows_up_through_the_component_cache(client, plan_town, feed_url):
    path = feed_url(plan_town.users.manager)
    get_ok(client, path)
    task = tasks_in_scope(plan_town.users.manager)[3]
    task.title = "改过的标题"
    task.updated_at = utcnow()
    db.session.commit()
    event = parse_ics(get_ok(client, path).data).by_uid()[f"task-{task.id}@127.0.0.1"]
    assert "改过的标题" in str(event["SUMMARY"])


def test_the_feed_reads_a_fixed_number_of_statements(app, client, plan_town, feed_url):
    """SEQUENCE comes from one GROUP BY over the history, not a query per task."""
    admin, manager = plan_town.users.admin, plan_town.users.manager
    admin_path, manager_path = feed_url(admin, detail="units"), feed_url(manager)
    for path in (admin_path, manager_path):
        get_ok(client, path)  # the first use records last_used_at: an UPDATE

    def statements_for(path):
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            get_ok(client, path)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    before = statements_for(admin_path)
    calendar = work_calendar()  # a date moved by hand is a working day
    for task in tasks_in_scope(admin)[:20]:
        move_due(task, admin, calendar.working_on_or_before(task.due_date - timedelta(days=1)),
                 utcnow())
    db.session.commit()
    # The changed tasks' components: one SELECT of the stored ones, one INSERT of the
    # rebuilt ones, however many changed; then as before.
    rebuilt = statements_for(admin_path)
    after = statements_for(admin_path)
    # The manager sees a third of the tasks; one more statement reads their unit's name.
    assert before == after == statements_for(manager_path) - 1 <= 12, (before, after)
    assert rebuilt == before + 2, (before, rebuilt)


def test_the_download_needs_a_signed_in_user(client, plan_town, login):
    response = client.get("/calendar/export.ics")
    assert response.status_code in (302, 401)

    login(client, plan_town.users.manager)
    response = get_ok(client, f"/calendar/export.ics?year={YEAR}")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"{YEAR}.ics" in disposition
    parsed = parse_ics(response.data)
    assert task_uids(parsed) == expected_uids(tasks_in_scope(plan_town.users.manager))
    etag = response.headers["ETag"]
    assert client.get(f"/calendar/export.ics?year={YEAR}",
                      headers={"If-None-Match": etag}).status_code == 304

    todo = get_ok(client, "/calendar/export.ics?" + urlencode(
        {"year": YEAR, "kind": "todo", "unit": plan_town.units.a.name}))
    assert "todo" in todo.headers["Content-Disposition"]
    assert len(parse_ics(todo.data).tasks("VTODO")) == len(tasks_in_scope(plan_town.users.manager))


def test_dtstamp_is_the_last_change_not_the_time_of_the_request(client, plan_town, feed_url):
    parsed = parse_ics(get_ok(client, feed_url(plan_town.users.viewer)).data)
    assert {c["DTSTAMP"].dt for c in parsed.tasks()} == {LOADED_AT}
    assert {c["LAST-MODIFIED"].dt for c in parsed.tasks()} == {LOADED_AT}


def test_the_feed_records_when_it_was_last_used(client, plan_town):
    from tracker.calendar.services import active_token

    manager = plan_town.users.manager
    secret = issue_token(manager, LOADED_AT)
    db.session.commit()
    assert active_token(manager).last_used_at is None
    get_ok(client, f"/feeds/{secret}.ics")
    db.session.expire_all()
    used = active_token(manager).last_used_at
    assert used is not None and used.date() >= date(2026, 1, 1)


def test_the_download_refuses_a_bad_filter(client, plan_town, login):
    login(client, plan_town.users.admin)
    response = client.get("/calendar/export.ics?status=late")
    assert response.status_code == 400
    assert b"late" in response.data


def test_a_units_feed_speaks_its_owners_language(client, plan_town, feed_url):
    """The words around the plan's data come from the catalogue in the owner's language;
    the task components kept for one language are never served in the other."""
    manager = plan_town.users.manager
    task = next(t for t in tasks_in_scope(manager) if t.title_en and t.duty.due.get("note"))

    def event():
        parsed = parse_ics(get_ok(client, feed_url(manager)).data)
        return parsed, next(c for c in parsed.tasks() if str(c["UID"]).startswith(
            f"task-{task.id}@"))

    parsed, chinese = event()
    assert parsed.calendar["X-WR-CALNAME"] == f"工作任务 · {plan_town.units.a.name}"
    assert str(chinese["SUMMARY"]).endswith(f"【{plan_town.units.a.name}】{task.title}")
    description = str(chinese["DESCRIPTION"])
    assert "状态：" in description and "系统安排日期（本系统设定）。" in description
    assert f"本系统安排：{task.duty.due['note']}（本系统设定）。" in description

    manager.locale = "en"
    db.session.commit()
    parsed, english = event()
    assert parsed.calendar["X-WR-CALNAME"] == f"Work tasks · {plan_town.units.a.name}"
    assert str(english["SUMMARY"]).endswith(f"[{plan_town.units.a.name}] {task.title_en}")
    description = str(english["DESCRIPTION"])
    assert f"Unit: {plan_town.units.a.name}" in description and "Status: " in description
    assert "A date the system set (the system’s setting). " in description
    assert f"The system’s arrangement: {task.duty.due['note']}" in description
    assert "状态" not in description and "本系统" not in description
    assert [p for p in parsed.components() if str(p["UID"]).startswith("phase-")][0][
        "SUMMARY"].startswith("[Phase] ")
