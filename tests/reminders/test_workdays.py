"""Reminders on working days only: none on a day off; one ahead of a date that falls on a
day off goes the working day before, an overdue repeat the working day after."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import ReminderLedgerEntry
from tracker.reminders.rules import Rule, latest_point, points_between
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import create_adhoc
from tracker.workdays.calendar import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
RULE = Rule((7, 1, 0), 7)
CAL = WorkCalendar()


def at(day: date, hour=8):
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def test_points_move_to_working_days():
    due = date(2026, 11, 21)  # a Saturday: an ad-hoc task, or a plan that keeps dates
    points = points_between(due, RULE, date(2026, 11, 1), date(2026, 12, 10), CAL)
    assert [(p.day, p.kind) for p in points] == [
        (date(2026, 11, 13), "before:7"),   # Sat 14 -> Fri 13
        (date(2026, 11, 20), "before:0"),   # Sat 21 -> Fri 20
        (date(2026, 11, 20), "before:1"),
        (date(2026, 11, 30), "overdue:7"),  # Sat 28 -> Mon 30
        (date(2026, 12, 7), "overdue:14"),  # Sat 5 -> Mon 7
    ]
    # On a day off there is none; on the working day the nearest to the due date wins.
    assert latest_point(due, RULE, date(2026, 11, 14), calendar=CAL) is None
    assert latest_point(due, RULE, date(2026, 11, 13), calendar=CAL).kind == "before:7"
    assert latest_point(due, RULE, date(2026, 11, 20), calendar=CAL).kind == "before:0"
    assert latest_point(due, RULE, date(2026, 11, 28), calendar=CAL) is None
    late = latest_point(due, RULE, date(2026, 11, 30), calendar=CAL)
    assert (late.day, late.kind) == (date(2026, 11, 30), "overdue:7")
    # Across 国庆: the week-ahead reminder of a task due on 9 Oct goes on 30 Sep.
    assert latest_point(date(2026, 10, 9), RULE, date(2026, 9, 30), calendar=CAL).kind == \
        "before:7"


def test_a_saturday_pass_sends_nothing_and_the_friday_before_the_week_ahead(
        mail_app, town, smtp_server):
    # Only this task is pending: the plan's own tasks are done.
    for task in db.session.scalars(sa.select(Task)):
        task.status = TaskStatus.ACCEPTED
    task, = create_adhoc(town["admin"], [town["branch"]], "周六到期的临时任务", "",
                         date(2026, 11, 20), at(date(2026, 11, 1)))
    # Due on the Saturday, as a plan's date kept by non_working_day = "keep" is (a date
    # typed by hand on a day off is refused).
    task.due_date = date(2026, 11, 21)
    db.session.commit()
    assert dispatch(at(date(2026, 11, 14))).queued == 0  # Saturday: no mail
    assert dispatch(at(date(2026, 11, 15))).queued == 0  # Sunday neither
    assert smtp_server.take() == []
    report = dispatch(at(date(2026, 11, 13)))  # the Friday before: the week-ahead reminder
    assert report.queued == 2  # the manager and the viewer
    assert {m.recipients[0] for m in smtp_server.take()} == {"manager@shuyuan.example",
                                                           "viewer@shuyuan.example"}
    kinds = set(db.session.scalars(sa.select(ReminderLedgerEntry.kind).where(
        ReminderLedgerEntry.task_id == task.id)))
    assert kinds == {"before:7"}
    # 国庆 and a day the coordinator made off: no mail either.
    from tracker.workdays.services import set_override
    assert dispatch(at(date(2026, 10, 3))).queued == 0
    set_override(date(2026, 11, 18), False, "镇庆", None, at(date(2026, 11, 1)))
    db.session.commit()
    assert dispatch(at(date(2026, 11, 18))).queued == 0 and smtp_server.take() == []
    assert dispatch(at(date(2026, 11, 20))).queued == 2
    assert dispatch(at(date(2026, 11, 21) + timedelta(days=7))).queued == 0  # Saturday
    assert dispatch(at(date(2026, 11, 30))).queued >= 2  # overdue, on the Monday after
