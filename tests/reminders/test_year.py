"""A whole year for one unit on fixed clocks: the right mails on the right (working) days."""

import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa

from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.phases.planfile import read_plan
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import OutboxMessage, ReminderLedgerEntry
from tracker.reminders.services import set_preferences
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.units.models import UnitKind

from .conftest import PLAN_LOADED, mail_config

TZ = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)
#: Each person's hour (plan time) and mode.
PEOPLE = {"manager@shuyuan.example": (8, "digest"), "viewer@shuyuan.example": (20, "each"),
          "admin@shuyuan.example": (8, "digest")}
#: Duties given other offsets than the plan's defaults.
RULES = {"study-session": {"before": [3], "overdue_every": 0},
         "contingency-two-sessions": {"before": [10, 2], "overdue_every": 5}}


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), TZ)


def working(day: date, step: int) -> date:
    """The working day ``day`` moves to, stepping by ``step`` days: the package's own
    schedule, read here directly, not through tracker's calendar."""
    while not chinese_calendar.is_workday(day):
        day += timedelta(days=step)
    return day


def expected_reminders(tasks, finished_on) -> dict[str, set]:
    """(day, kind, task id) per person, from each task's due date and offsets alone: a
    point on a working day the task is still pending (one ahead of the date that falls on a
    day off goes the working day before, an overdue repeat the working day after; of two
    on the same day the nearer to the due date). The coordinator gets the overdue ones."""
    expected = defaultdict(set)
    for task, rule in tasks:
        points = {}
        for d in sorted(rule["before"], reverse=True):
            points[working(task.due_date - timedelta(days=d), -1)] = f"before:{d}"
        every = rule["overdue_every"]
        for k in range(1, 400):
            if every and task.due_date + timedelta(days=k * every) <= LAST:
                day = working(task.due_date + timedelta(days=k * every), 1)
                points[day] = f"overdue:{k * every}"
        for day, kind in points.items():
            if not FIRST <= day <= LAST or day >= finished_on.get(task.id, date.max):
                continue
            expected["manager@shuyuan.example"].add((day, kind, task.id))
            expected["viewer@shuyuan.example"].add((day, kind, task.id))
            if kind.startswith("overdue"):
                expected["admin@shuyuan.example"].add((day, kind, task.id))
    return expected


def test_a_year_of_reminders_for_one_unit(app, create_unit, create_user, smtp_server):
    app.config.update(mail_config(smtp_server))
    unit = create_unit("洋溢村党总支", UnitKind.BRANCH)
    users = {"manager@shuyuan.example": create_user("manager@shuyuan.example", Role.MANAGER,
                                                    unit=unit),
             "viewer@shuyuan.example": create_user("viewer@shuyuan.example", Role.VIEWER,
                                                   unit=unit),
             "admin@shuyuan.example": create_user("admin@shuyuan.example", Role.ADMIN)}
    for email, (hour, mode) in PEOPLE.items():
        set_preferences(users[email].id, mode=mode, hour=hour)
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    for duty in db.session.scalars(sa.select(Duty).where(Duty.code.in_(RULES))):
        duty.reminders = RULES[duty.code]
    db.session.commit()

    tasks = db.session.execute(sa.select(Task, Duty.reminders).join(Duty)
                               .order_by(Task.due_date, Task.id)).all()
    # Work done on the way: a third of the tasks two days early, a third ten days late,
    # the rest never; one accepted and one cancelled before the year starts.
    finished_on, status_on = {}, defaultdict(list)
    for i, (task, _) in enumerate(tasks):
        if i == 0:
            task.status = TaskStatus.ACCEPTED
            finished_on[task.id] = FIRST
        elif i == 1:
            task.status = TaskStatus.CANCELLED
            finished_on[task.id] = FIRST
        elif i % 3 == 0:
            finished_on[task.id] = task.due_date - timedelta(days=2)
        elif i % 3 == 1:
            finished_on[task.id] = task.due_date + timedelta(days=10)
        if task.id in finished_on and finished_on[task.id] > FIRST:
            status_on[finished_on[task.id]].append(task.id)
    db.session.commit()
    expected = expected_reminders(tasks, finished_on)

    received = defaultdict(list)  # (day, e-mail) -> mails
    day = FIRST
    while day <= LAST:
        for task_id in status_on.get(day, ()):
            db.session.get(Task, task_id).status = TaskStatus.SUBMITTED
        db.session.commit()
        for hour in sorted({h for h, _ in PEOPLE.values()}):
            dispatch(local(day, hour))
            for mail in smtp_server.take():
                received[day, mail.recipients[0]].append(mail)
        day += timedelta(days=1)

    # What the ledger recorded, by the day each reminder's mail was sent.
    sent = defaultdict(set)
    for email, kind, task_id, point_day, sent_at in db.session.execute(
            sa.select(User.email, ReminderLedgerEntry.kind, ReminderLedgerEntry.task_id,
                      ReminderLedgerEntry.day, OutboxMessage.sent_at)
            .join(User, User.id == ReminderLedgerEntry.user_id)
            .join(OutboxMessage, OutboxMessage.id == ReminderLedgerEntry.outbox_id)):
        assert sent_at.astimezone(TZ).date() == point_day
        assert sent_at.astimezone(TZ).hour == PEOPLE[email][0]
        sent[email].add((point_day, kind, task_id))
    for email in PEOPLE:
        assert sent[email] == expected[email], email
    assert len(expected["viewer@shuyuan.example"]) > 100
    assert len(expected["admin@shuyuan.example"]) > 50

    # What arrived: a digest a day at most (linking that day's tasks), or a mail per item.
    for email, (_, mode) in PEOPLE.items():
        by_day = defaultdict(Counter)
        for point_day, _, task_id in expected[email]:
            by_day[point_day][task_id] += 1
        got = {d: Counter(t for m in mails for t in task_links(m))
               for (d, e), mails in received.items() if e == email}
        assert got == dict(by_day), email
        counts = {d: len(mails) for (d, e), mails in received.items() if e == email}
        if mode == "digest":
            assert set(counts.values()) == {1}
        else:
            assert counts == {d: sum(c.values()) for d, c in by_day.items()}


def task_links(mail) -> list[int]:
    return [int(i) for i in re.findall(r"https://tracker\.shuyuan\.example/tasks/(\d+)",
                                       mail.text)]
