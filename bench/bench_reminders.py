"""Benchmark: 10,000 due reminders for 3,000 recipients, sent to a local SMTP server.

Reports mails per second of one dispatch pass (scan, ledger, rendering, outbox,
sending with a commit per mail) and the ratio of its time to a bare smtplib
loop sending the same messages over one connection (target: at most 2). Also
the same reminders as daily digests (one mail per person).

    python3 dev.py bench          # or: .venv/bin/python bench/bench_reminders.py
"""

import smtplib
import socket
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_app, report, temp_dir  # noqa: E402

UNITS = 600
USERS_PER_UNIT = 5  # 3,000 recipients
#: Tasks per unit, so that 600 units x 5 people x (3 or 4) tasks make 10,000 reminders.
TASKS = [4 if i % 3 == 0 else 3 for i in range(UNITS)]
NOW = datetime(2026, 6, 23, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai
TODAY = date(2026, 6, 23)
#: Due dates whose reminder falls today: 7 and 1 days ahead, today, 7 days late.
DUES = [TODAY + timedelta(days=7), TODAY + timedelta(days=1), TODAY, TODAY - timedelta(days=7)]
RUNS = 3


class Sink:
    """An aiosmtpd handler that counts what it accepts."""

    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink, port


def build_town(mode: str) -> int:
    """Units, people (with ``mode``) and tasks whose reminders are all due at NOW."""
    import sqlalchemy as sa

    from tracker.auth.models import Role, User
    from tracker.auth.passwords import hash_password
    from tracker.extensions import db
    from tracker.phases.planfile import read_plan
    from tracker.phases.services import install_plan
    from tracker.reminders.models import ReminderPreference
    from tracker.tasks.models import Task, TaskStatus
    from tracker.units.models import Unit, UnitKind

    plan, _ = install_plan(read_plan("shuyuan-2020"), NOW)
    duty, phase = plan.duties[0], plan.phases[0]
    db.session.execute(sa.insert(Unit), [
        {"name": f"单位{i:04d}", "kind": UnitKind.BRANCH, "created_at": NOW}
        for i in range(UNITS)])
    unit_ids = db.session.scalars(sa.select(Unit.id).order_by(Unit.id)).all()
    password = hash_password("bench password")  # once: Argon2 is slow on purpose
    db.session.execute(sa.insert(User), [
        {"email": f"u{u}-{k}@bench.example", "name": f"用户 {u}-{k}",
         "role": Role.MANAGER if k == 0 else Role.VIEWER, "unit_id": unit_id,
         "password_hash": password, "locale": "en" if k == 4 else None, "active": True,
         "session_version": 1, "created_at": NOW}
        for u, unit_id in enumerate(unit_ids) for k in range(USERS_PER_UNIT)])
    db.session.execute(sa.insert(ReminderPreference), [
        {"user_id": uid, "mode": mode, "hour": 8}
        for uid in db.session.scalars(sa.select(User.id))])
    db.session.execute(sa.insert(Task), [
        {"plan_id": plan.id, "duty_id": duty.id, "unit_id": unit_id, "year": 2026, "seq": n + 1,
         "phase_id": phase.id, "title": f"{duty.title}（第{n + 1}项）",
         "title_en": f"{duty.title_en} ({n + 1})", "due_date": DUES[n],
         "status": TaskStatus.OPEN, "created_at": NOW, "updated_at": NOW}
        for u, unit_id in enumerate(unit_ids) for n in range(TASKS[u])])
    db.session.commit()
    return sum(TASKS) * USERS_PER_UNIT


@contextmanager
def timed(module, name: str):
    """While inside, the seconds spent in ``module.name`` add up in the list yielded."""
    spent, inner = [0.0], getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    setattr(module, name, wrapper)
    try:
        yield spent
    finally:
        setattr(module, name, inner)


def one_run(mode: str):
    """(reminders, mails, dispatch seconds, bare smtplib seconds, queueing seconds)."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.reminders import dispatch as passes
    from tracker.reminders.mail import envelope_sender
    from tracker.reminders.models import OutboxMessage

    controller, sink, port = smtp_server()
    try:
        with temp_dir() as tmp:
            app = bench_app(tmp)
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                              BASE_URL="https://tracker.bench.example")
            with app.app_context():
                reminders = build_town(mode)
                # Timing the queueing part shows where the time goes.
                with timed(passes, "enqueue_due") as queueing:
                    started = time.perf_counter()
                    result = passes.dispatch(NOW)
                    ours = time.perf_counter() - started
                queued = result.queued
                assert len(result.sent) == queued == sink.count, (queued, sink.count)

                messages = [(m.recipient, m.message) for m in db.session.execute(
                    sa.select(OutboxMessage.recipient, OutboxMessage.message)
                    .order_by(OutboxMessage.id))]
                sender = envelope_sender(app.config["MAIL_DEFAULT_SENDER"])
                started = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port) as smtp:
                    for recipient, message in messages:
                        smtp.sendmail(sender, [recipient], message)
                bare = time.perf_counter() - started
                db.engine.dispose()
        return reminders, queued, ours, bare, queueing[0]
    finally:
        controller.stop()


def main():
    runs = [one_run("each") for _ in range(RUNS)]
    reminders, mails = runs[0][0], runs[0][1]
    ours = statistics.median(r[2] for r in runs)
    bare = statistics.median(r[3] for r in runs)
    ratio = statistics.median(r[2] / r[3] for r in runs)
    queueing = statistics.median(r[4] for r in runs)
    d_reminders, d_mails, d_ours, d_bare, _ = one_run("digest")
    print(f"Reminder dispatch on SQLite, {reminders} due reminders for "
          f"{UNITS * USERS_PER_UNIT} recipients, median of {RUNS} runs:")
    report("reminders", [
        {"figure": f"mails per second (one per reminder, {mails} mails)",
         "value": round(mails / ours), "target": "(reported)", "met": True},
        {"figure": "bare smtplib loop, mails per second", "value": round(mails / bare),
         "target": "(reported)", "met": True},
        {"figure": "dispatch time / bare smtplib time", "value": round(ratio, 2),
         "target": "<= 2", "met": ratio <= 2},
        {"figure": "of the dispatch time: queueing (scan, ledger, rendering) (s)",
         "value": round(queueing, 2), "target": "(reported)", "met": True},
        {"figure": "of the dispatch time: the rest (claim, send, mark sent) (s)",
         "value": round(ours - queueing, 2), "target": "(reported)", "met": True},
        {"figure": f"mails per second (daily digests, {d_mails} mails)",
         "value": round(d_mails / d_ours), "target": "(reported)", "met": True},
        {"figure": "digests: dispatch time / bare smtplib time",
         "value": round(d_ours / d_bare, 2), "target": "(reported)", "met": True},
    ])


if __name__ == "__main__":
    main()
