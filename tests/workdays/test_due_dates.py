"""Due dates on working days: loading a year, the coordinator's overrides (CLI and page),
the task page, the calendar's 休 and 班, and a year the package does not know yet."""

import json
from datetime import date, datetime, timezone

import chinese_calendar
import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.workdays.calendar import schedule_known

NOW = datetime(2026, 1, 5, 2, tzinfo=timezone.utc)


@pytest.fixture
def units(app, create_unit):
    made = [create_unit("洋溢村党总支", "village"), create_unit("党政办公室", "office"),
            create_unit("镇党委宣传办", "coordinator")]
    db.session.commit()
    return made


def tasks(year=None, **where):
    query = sa.select(Task).order_by(Task.id)
    if year:
        query = query.where(Task.year == year)
    for key, value in where.items():
        query = query.where(getattr(Task, key) == value)
    return db.session.scalars(query).all()


def task_of(code, unit, year=2026, seq=1):
    return db.session.scalar(sa.select(Task).join(Duty, Task.duty_id == Duty.id).where(
        Duty.code == code, Task.unit_id == unit.id, Task.year == year, Task.seq == seq))


def test_every_due_date_of_2020_to_2026_is_a_working_day(units):
    spec = read_plan("shuyuan-2020")
    for year in range(2020, 2027):
        result = load_plan(spec, year, NOW)
        db.session.commit()
        assert result.holidays_known
        for task in tasks(year):
            # Checked against the package directly, not through tracker's calendar.
            assert chinese_calendar.is_workday(task.due_date), (task.title, task.due_date)
            if task.planned_date:
                assert not chinese_calendar.is_workday(task.planned_date)
                assert task.due_date < task.planned_date  # the bundled plan: "previous"
                assert task.planned_date.year == year
    # 2024: 02-10 was 春节 正月初一; 2022 and 2023: 04-30 inside the 劳动节 break.
    village = units[0]
    war = task_of("contingency-sino-vietnam-war", village, 2024)
    assert (war.planned_date, war.due_date) == (date(2024, 2, 10), date(2024, 2, 9))
    plan = task_of("work-plan", village, 2022)
    assert plan.planned_date == date(2022, 4, 30) and plan.due_date == date(2022, 4, 29)
    # The phases stay as the seed writes them: the task keeps the plan date's phase.
    saturday = task_of("position-register", village, 2026, seq=2)
    assert (saturday.planned_date, saturday.due_date) == (date(2026, 10, 31), date(2026, 10, 30))
    assert saturday.phase.code == "P3"


def test_an_override_moves_open_tasks_and_leaves_finished_ones(units, runner):
    load_plan(read_plan("shuyuan-2020"), 2026, NOW)
    village, office, _ = units
    done = task_of("position-register", village, seq=2)
    done.status = TaskStatus.ACCEPTED
    db.session.commit()
    open_one = task_of("position-register", office, seq=2)
    assert open_one.due_date == date(2026, 10, 30)

    out = runner.invoke(args=["workdays", "set", "2026-10-30", "off", "--name", "镇庆"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert open_one.due_date == date(2026, 10, 29) and open_one.planned_date == date(2026, 10, 31)
    assert done.due_date == date(2026, 10, 30), "an accepted task keeps its date"
    event = db.session.scalars(sa.select(TaskEvent).where(TaskEvent.task_id == open_one.id)
                               .order_by(TaskEvent.id.desc())).first()
    assert event.kind == TaskEventKind.WORKDAY_MOVED
    assert event.changes["due_date"] == ["2026-10-30", "2026-10-29"]

    listed = json.loads(runner.invoke(args=["workdays", "list", "--year", "2026",
                                            "--format", "json"]).output)
    assert {"date": "2026-10-30", "working": False, "name": "镇庆", "source": "override",
            "confirmed": True} in listed
    assert {"date": "2026-02-14", "working": True, "name": "春节调休", "source": "schedule",
            "confirmed": True} in listed
    assert {"date": "2026-10-01", "working": False, "name": "国庆节", "source": "schedule",
            "confirmed": True} in listed
    assert not any(d["date"] == "2026-10-31" for d in listed)  # a plain Saturday

    # A working Saturday: the task goes back to the plan's own date.
    assert runner.invoke(args=["workdays", "set", "2026-10-31", "on"]).exit_code == 0
    db.session.expire_all()
    assert open_one.due_date == date(2026, 10, 31) and open_one.planned_date is None
    assert runner.invoke(args=["workdays", "unset", "2026-10-31"]).exit_code == 0
    assert runner.invoke(args=["workdays", "unset", "2026-10-30"]).exit_code == 0
    db.session.expire_all()
    assert open_one.due_date == date(2026, 10, 30)


@pytest.mark.parametrize("args, message", [
    (["workdays", "set", "2026-13-01", "off"], "'2026-13-01' does not match"),
    (["workdays", "set", "2026-10-01", "maybe"], "'maybe' is not one of"),
    (["workdays", "unset", "2026-10-02"], "has no override"),
    (["workdays", "set", "2026-10-02", "off", "--name", "国\u202e庆"], "not allowed"),
])
def test_bad_workday_commands_change_nothing(units, runner, snapshot, args, message):
    before = snapshot()
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert snapshot() == before


def test_a_year_past_the_package_keeps_weekends_off_and_says_so(units, runner, client, login,
                                                                 create_user):
    year = max(y for y in range(2020, 2100) if schedule_known(y)) + 1
    result = runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", str(year)])
    assert result.exit_code == 0
    assert f"holiday schedule for {year} is not known" in result.stderr
    assert "tracker workdays set" in result.stderr
    for task in tasks(year):
        assert task.due_date.weekday() < 5, task
    admin = create_user("admin@example.org", "admin", units[2])
    db.session.commit()
    login(client, admin)
    for page in (f"/overview?year={year}", f"/workdays?year={year}"):
        assert 'data-testid="schedule-unknown"' in client.get(page).text, page
    assert 'data-testid="schedule-unknown"' not in client.get("/workdays?year=2026").text


def test_pages_show_the_days_off(units, client, login, create_user, app):
    app.config["WTF_CSRF_ENABLED"] = False
    load_plan(read_plan("shuyuan-2020"), 2026, NOW)
    admin = create_user("admin@example.org", "admin", units[2])
    manager = create_user("manager@example.org", "manager", units[1])
    db.session.commit()
    login(client, manager)
    month = client.get("/?date=2026-10-01", headers={"Accept-Language": "zh-CN"}).text
    assert month.count('class="workday-mark rest"') >= 7 and 'title="国庆节"' in month
    assert 'class="workday-mark work" title="国庆节调休"' in month  # 10 Oct
    task = task_of("position-register", units[1], seq=2)
    page = client.get(f"/tasks/{task.id}", headers={"Accept-Language": "en"}).text
    assert 'data-testid="planned-date"' in page and "Saturday, October 31, 2026" in page
    login(client, admin)
    response = client.post("/workdays", data={"date": "2026-10-30", "state": "off",
                                              "name": "镇庆"})
    assert response.status_code == 302
    db.session.expire_all()
    assert task.due_date == date(2026, 10, 29)
    assert "镇庆" in client.get("/workdays?year=2026").text
    login(client, manager)
    assert client.get("/workdays").status_code == 404
