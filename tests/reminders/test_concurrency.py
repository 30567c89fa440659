"""Four dispatchers at once, each with its own app and engine: every mail and every robot
message arrives once, and a robot gets no more than it takes."""

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.conftest import make_app
from tests.robotserver import DINGTALK, FEISHU, WECOM, hang
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.reminders.dispatch import dispatch
from tracker.reminders.channels import set_channel
from tracker.reminders.models import Channel, OutboxMessage, OutboxStatus, ReminderLedgerEntry
from tracker.reminders.services import set_preferences
from tracker.tasks.models import Task
from tracker.units.models import Unit, UnitKind

from .conftest import PLAN_LOADED, mail_config

TZ = ZoneInfo("Asia/Shanghai")
DISPATCHERS = 4
#: Each round: all four dispatchers at this instant (plan time).
ROUNDS = [datetime(2026, 6, 30, 8, 0, tzinfo=TZ), datetime(2026, 7, 1, 8, 0, tzinfo=TZ),
          datetime(2026, 7, 7, 8, 0, tzinfo=TZ)]


def build_town(create_unit, create_user):
    """Five branches, each with a manager (one mail per item) and a viewer (digest)."""
    for i in range(5):
        unit = create_unit(f"第{i + 1}村党支部", UnitKind.BRANCH)
        manager = create_user(f"m{i}@shuyuan.example", Role.MANAGER, unit=unit)
        create_user(f"v{i}@shuyuan.example", Role.VIEWER, unit=unit)
        set_preferences(manager.id, mode="each")
    create_user("admin@shuyuan.example", Role.ADMIN)
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    db.session.commit()


def expected_ledger(day: date) -> set[tuple[int, str, str]]:
    """(task, e-mail, kind) of every reminder due by ``day``, worked out by hand: every
    task's last point among due-7, due-1, due, due+7k (the plan's default offsets)."""
    expected = set()
    users = db.session.execute(sa.text("SELECT email, role, unit_id FROM users")).all()
    for task in db.session.scalars(sa.select(Task)):
        points = {task.due_date - timedelta(days=d): f"before:{d}" for d in (7, 1, 0)}
        k = 1
        while task.due_date + timedelta(days=7 * k) <= day:
            points[task.due_date + timedelta(days=7 * k)] = f"overdue:{7 * k}"
            k += 1
        reached = [p for p in points if p <= day]
        if not reached:
            continue
        kind = points[max(reached)]
        for email, role, unit_id in users:
            if unit_id == task.unit_id or (role == "admin" and kind.startswith("overdue")):
                expected.add((task.id, email, kind))
    return expected


def run_round(apps, now):
    """All dispatchers at once (a barrier lines them up); their reports."""
    barrier = threading.Barrier(len(apps))
    reports, errors = [], []

    def work(app):
        with app.app_context():
            try:
                barrier.wait()
                reports.append(dispatch(now))
            except Exception as exc:  # reported below: a thread cannot fail the test itself
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return reports


def test_four_dispatchers_at_once_send_every_mail_exactly_once(
        app, backend, database_url, create_unit, create_user, smtp_server):
    build_town(create_unit, create_user)
    apps = [make_app(database_url, **mail_config(smtp_server)) for _ in range(DISPATCHERS)]
    try:
        seen_ids = Counter()
        for now in ROUNDS:
            reports = run_round(apps, now)
            mails = smtp_server.take()
            ids = Counter(m.message["Message-ID"] for m in mails)
            assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
            assert sum(len(r.sent) for r in reports) == len(mails) > 0
            assert sum(r.queued for r in reports) == len(mails)
            seen_ids.update(ids)

            db.session.expire_all()
            rows = db.session.scalars(sa.select(OutboxMessage)).all()
            assert {r.status for r in rows} == {OutboxStatus.SENT}
            assert {r.message_id for r in rows} == set(seen_ids)
            # The reminders recorded in this round are the ones due, worked out by hand,
            # less those recorded before.
            ledger = {(t, email, kind, at == now) for t, email, kind, at in db.session.execute(
                sa.select(ReminderLedgerEntry.task_id, User.email, ReminderLedgerEntry.kind,
                          ReminderLedgerEntry.created_at)
                .join(User, User.id == ReminderLedgerEntry.user_id))}
            before = {(t, e, k) for t, e, k, new in ledger if not new}
            assert {(t, e, k) for t, e, k, new in ledger if new} == (
                expected_ledger(now.date()) - before)
        assert len(rows) > 100
    finally:
        for other in apps:
            with other.app_context():
                db.engine.dispose()


def robot_apps(database_url, smtp_server, robot_server):
    return [make_app(database_url, **mail_config(smtp_server),
                     WEBHOOK_ALLOWED_HOSTS=",".join(robot_server.allowed_hosts))
            for _ in range(DISPATCHERS)]


def test_four_dispatchers_at_once_post_every_robot_message_once(
        app, backend, database_url, create_unit, create_user, smtp_server, robot_server):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    build_town(create_unit, create_user)
    units = db.session.scalars(sa.select(Unit).order_by(Unit.id)).all()
    vendors = [(WECOM, None), (DINGTALK, "SEC" + "5" * 64), (FEISHU, "feishu-s3cret")]
    tokens = {}
    for i, unit in enumerate(units):
        vendor, secret = vendors[i % 3]
        url = robot_server.add(vendor, secret)
        set_channel(unit, vendor, url, secret, now=PLAN_LOADED)
        tokens[unit.name] = url.rsplit("=", 1)[-1].rsplit("/", 1)[-1]
    db.session.commit()
    apps = robot_apps(database_url, smtp_server, robot_server)
    try:
        total = 0
        for now in ROUNDS:
            reports = run_round(apps, now)
            received = robot_server.take()
            per_robot = Counter(r.token for r in received)
            # Every unit has work due on each of these days: one message each, once.
            assert per_robot == Counter(tokens.values()), per_robot
            assert robot_server.requests == total + len(units)  # nothing refused, nothing twice
            total += len(units)
            db.session.expire_all()
            rows = db.session.scalars(sa.select(OutboxMessage).where(
                OutboxMessage.channel == Channel.ROBOT)).all()
            assert len(rows) == total and {r.status for r in rows} == {OutboxStatus.SENT}
            assert sum(1 for r in reports for _, who, _ in r.sent if "@" not in who) == len(units)
            smtp_server.take()
    finally:
        for other in apps:
            with other.app_context():
                db.engine.dispose()


def test_four_dispatchers_at_once_keep_a_shared_robot_to_twenty_a_minute(
        app, backend, database_url, create_unit, smtp_server, robot_server):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    units = [create_unit(f"第{i + 1}村党支部", UnitKind.BRANCH) for i in range(25)]
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    url = robot_server.add(WECOM)
    for unit in units:
        set_channel(unit, WECOM, url, None, now=PLAN_LOADED)
    db.session.commit()
    now = ROUNDS[0]
    robot_server.clock = lambda: now.timestamp()
    apps = robot_apps(database_url, smtp_server, robot_server)
    try:
        run_round(apps, now)
        # Twenty in the first minute, whichever passes sent them; the robot refused none.
        assert len(robot_server.take()) == 20 and robot_server.requests == 20
        later = now + timedelta(seconds=62)
        robot_server.clock = lambda: later.timestamp()
        run_round(apps, later)
        received = robot_server.take()
        assert len(received) == 5 and robot_server.requests == 25
        db.session.expire_all()
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        assert len(rows) == 25 and {r.status for r in rows} == {OutboxStatus.SENT}
    finally:
        for other in apps:
            with other.app_context():
                db.engine.dispose()


def test_one_pass_at_a_time_talks_to_a_robot(app, backend, database_url, create_unit,
                                             smtp_server, robot_server):
    """A pass that finds a robot busy with another pass leaves its messages to a later one,
    so two passes never post to one robot at once (and never together beyond its pace)."""
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    first, second = create_unit("第1村党支部", UnitKind.BRANCH), create_unit("第2村党支部",
                                                                          UnitKind.BRANCH)
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    url = robot_server.add(WECOM)
    set_channel(first, WECOM, url, None, now=PLAN_LOADED)
    db.session.commit()
    slow, other = robot_apps(database_url, smtp_server, robot_server)[:2]
    now = ROUNDS[0]
    robot_server.script(hang(2))
    reports = []

    def sending():
        with slow.app_context():
            reports.append(dispatch(now))
            db.session.remove()

    thread = threading.Thread(target=sending)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while robot_server.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert robot_server.requests == 1  # the slow pass is posting, and waits for the answer
        set_channel(second, WECOM, url, None, now=now)
        db.session.commit()
        with other.app_context():
            report = dispatch(now)
            db.session.remove()
        assert report.queued == 1 and report.sent == [] and robot_server.requests == 1
    finally:
        thread.join(30)
        for each in (slow, other):
            with each.app_context():
                db.engine.dispose()
    assert len(reports[0].sent) == 1 and len(robot_server.take()) == 1
    db.session.expire_all()
    waiting = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.QUEUED)).all()
    assert [m.unit_id for m in waiting] == [second.id]
