"""One dispatch pass: reminders due now → ledger → outbox → mail server and group robots;
and every reminder a person gets → their inbox.

The pass is a background job and owns its transactions, on a session of its
own. Any number of passes may run at once, in any number of processes:

* the ledger's unique keys (task, person or unit, kind, due date) and the
  outbox's unique key (one digest per person per day, one mail per reminder, one
  robot message per unit per day) make a reminder recorded and queued once,
  whoever scans first; the inserts skip what another pass already wrote (ON
  CONFLICT DO NOTHING). A person's inbox gets what the ledger records, in the
  same transaction;
* a pass claims outbox rows in a transaction (FOR UPDATE SKIP LOCKED on
  PostgreSQL; on SQLite an immediate transaction, which takes the write lock
  at BEGIN), so no two passes send the same message; a claim older than the
  lease is taken over, so a pass that died loses nothing. Robot messages are
  claimed a robot at a time (tracker.reminders.robot_delivery), which paces
  each robot across passes;
* each message is marked sent in a commit of its own right after the server or
  robot took it: a crash in between may send that one again (a mail with the
  same Message-ID); none is ever dropped.
"""

import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from tracker.auth.models import Role, User
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.reminders.backends import SendFailure, backend_name, classify, open_connection
from tracker.reminders.mail import (HeaderError, MailItem, MailSettings, Recipient,
                                    build_message, envelope_sender, unsubscribe_token)
from tracker.reminders.models import (DEFAULT_HOUR, Channel, Notification, OutboxStatus,
                                      ReminderMode, ReminderPreference, UnitChannel)
from tracker.reminders.outbox import (LEDGER, MAX_ATTEMPTS, OUTBOX, RETRY_DELAYS,
                                      DispatchReport, insert_ignoring_duplicates,
                                      no_flush_per_commit, sendable, write_session)
from tracker.reminders.robot_delivery import deliver_robots, robot_message, robot_sendable
from tracker.reminders.vendors import Vendor
from tracker.reminders.rules import Point, Rule, latest_point, max_lead_days, reminder_day
from tracker.tasks.models import PENDING, Task
from tracker.units.models import Unit
from tracker.workdays.services import work_calendar

__all__ = ["MAX_ATTEMPTS", "RETRY_DELAYS", "DispatchReport", "claim", "dispatch", "enqueue_due",
           "write_session"]

#: The hour (plan timezone) from which a unit's group robot gets the day's message.
ROBOT_HOUR = DEFAULT_HOUR
#: Days a reminder may move ahead of its date to leave a break of days off.
HOLIDAY_MARGIN_DAYS = 16

log = logging.getLogger(__name__)
NOTIFICATIONS = Notification.__table__


@dataclass(frozen=True)
class _Task:
    id: int
    unit_id: int
    unit: str
    title: str
    title_en: str
    due: date
    rule: Rule
    status: str


@dataclass(frozen=True)
class _User:
    id: int
    email: str
    name: str
    locale: str | None
    role: Role
    unit_id: int | None
    mode: ReminderMode
    hour: int


@dataclass
class _Mail:
    key: str
    user: _User
    digest: bool
    day: date
    items: list[tuple[_Task, Point]]


@dataclass(frozen=True)
class _Robot:
    """A unit's group robot, as a pass scans for it."""

    unit_id: int
    unit: str
    vendor: Vendor
    robot: str


@dataclass
class _Due:
    """Reminders due and not yet recorded: each person's, each unit robot's; with the day
    (plan timezone) they are for."""

    people: dict[_User, tuple[date, list[tuple[_Task, Point]]]]
    robots: dict[_Robot, tuple[date, list[tuple[_Task, Point]]]]

    def __bool__(self):
        return bool(self.people or self.robots)


def dispatch(now: datetime) -> DispatchReport:
    """One pass at the instant ``now``: queue the reminders due, then send what is queued,
    mails first, then robot messages."""
    config = current_app.config
    backend_name(config)  # a misconfigured backend is refused before anything is claimed
    report = DispatchReport()
    lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
    # Most passes find nothing to do: look first, without taking the write lock.
    with Session(db.engine) as session:
        reminders_due = bool(_due_reminders(session, now, config["TIMEZONE"]))
        mail_due = session.scalar(
            sa.select(OUTBOX.c.id).where(sendable(now, lease, Channel.MAIL)).limit(1))
        robots_due = session.scalar(
            sa.select(OUTBOX.c.id).where(robot_sendable(now, lease)).limit(1))
    if reminders_due:
        report.queued = enqueue_due(db.engine, now, config)
    if reminders_due or mail_due is not None:
        deliver(db.engine, now, config, current_app.instance_path, report)
    if reminders_due or robots_due is not None:
        deliver_robots(db.engine, now, config, report)
    return report


def reminder_day_for(now: datetime, tz: str, hour: int, calendar) -> date | None:
    """The day whose reminders are due at ``now`` for someone (or a unit's robot) taking
    them from ``hour`` o'clock, plan time; None: no reminders go out at ``now``, a day off
    (working days only: no mail, inbox item or robot message on a weekend or holiday).

    The one place a reminder's day is decided, for mails, inboxes and group robots alike.
    """
    day = reminder_day(now, tz, hour)
    return day if calendar.is_working(day) else None


# -- scanning and queueing ---------------------------------------------------------------


def enqueue_due(engine, now: datetime, config) -> int:
    """Record the reminders due at ``now`` in the ledger, put each person's in their inbox,
    and queue the mails and robot messages that carry them; returns how many messages
    were queued."""
    tz = config["TIMEZONE"]
    with write_session(engine) as session:
        due = _due_reminders(session, now, tz)
        if not due:
            return 0
        today = local_today(now, tz)
        return (_enqueue_people(session, engine, due.people, today, now, config)
                + _enqueue_robots(session, engine, due.robots, today, now, config))


def _enqueue_people(session, engine, people, today: date, now: datetime, config) -> int:
    """Mails and inbox notices for the people's reminders; how many mails were queued."""
    mails = _plan_mails(people)
    settings = mail_settings(config)
    messages = {}
    for mail in list(mails):
        try:
            messages[mail.key] = _render(mail, mail.items, today, now, settings, config)
        except HeaderError as exc:
            # Stored before addresses were checked at the boundary: this person's mail
            # cannot be written, the others' can. Not recorded, so it is tried again
            # once the address is corrected.
            log.error("reminder mail %s not queued: %s", mail.key, exc)
            mails.remove(mail)
    rows = [{"key": m.key, "channel": Channel.MAIL, "user_id": m.user.id,
             "recipient": m.user.email, "subject": messages[m.key].subject[:300],
             "message_id": messages[m.key].message_id, "message": messages[m.key].data,
             "status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": now,
             "created_at": now}
            for m in sorted(mails, key=lambda m: m.key)]
    # Sorted keys: concurrent passes on PostgreSQL wait for each other in one
    # order, never in a cycle.
    outbox_ids = dict(session.execute(
        insert_ignoring_duplicates(engine, OUTBOX).returning(OUTBOX.c.key, OUTBOX.c.id),
        rows).all()) if rows else {}
    mine = [m for m in mails if m.key in outbox_ids]
    # Mailed reminders are recorded with their mail; those of people who take no mails,
    # for their inbox alone.
    ledger_rows = [{"task_id": t.id, "user_id": m.user.id, "unit_id": None, "kind": p.kind,
                    "due_date": t.due, "day": p.day, "outbox_id": outbox_ids[m.key],
                    "created_at": now}
                   for m in mine for t, p in m.items]
    ledger_rows += [{"task_id": t.id, "user_id": user.id, "unit_id": None, "kind": p.kind,
                     "due_date": t.due, "day": p.day, "outbox_id": None, "created_at": now}
                    for user, (_, pairs) in people.items() if user.mode == ReminderMode.NONE
                    for t, p in pairs]
    if not ledger_rows:
        return 0
    ledger_rows.sort(key=lambda r: (r["task_id"], r["user_id"], r["kind"], r["due_date"]))
    recorded = {tuple(r) for r in session.execute(
        insert_ignoring_duplicates(engine, LEDGER).returning(
            LEDGER.c.task_id, LEDGER.c.user_id, LEDGER.c.kind),
        ledger_rows)}
    queued = 0
    for mail in mine:
        # Another pass may have recorded some of these reminders for another mail
        # in the meantime: such a mail keeps only what is its own, or goes.
        items = [(t, p) for t, p in mail.items if (t.id, mail.user.id, p.kind) in recorded]
        if not items:
            session.execute(sa.delete(OUTBOX).where(OUTBOX.c.id == outbox_ids[mail.key]))
            continue
        queued += 1
        if len(items) < len(mail.items):
            msg = _render(mail, items, today, now, settings, config)
            session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == outbox_ids[mail.key])
                            .values(message=msg.data, subject=msg.subject[:300]))
    notices = [{"user_id": user.id, "task_id": t.id, "kind": p.kind, "due_date": t.due,
                "detail": "", "created_at": now}
               for user, (_, pairs) in people.items() for t, p in pairs
               if (t.id, user.id, p.kind) in recorded]
    if notices:
        session.execute(sa.insert(NOTIFICATIONS), notices)
    return queued


def _enqueue_robots(session, engine, robots, today: date, now: datetime, config) -> int:
    """One message per unit and day for the units' group robots; how many were queued."""
    if not robots:
        return 0
    rows, items = [], {}
    for robot, (day, pairs) in sorted(robots.items(), key=lambda r: r[0].unit_id):
        key = f"robot:{robot.unit_id}:{day.isoformat()}"
        items[key] = robot, pairs
        subject, payload = robot_message(robot.vendor, robot.unit_id, robot.unit,
                                         [t for t, _ in pairs], today, config)
        rows.append({"key": key, "channel": Channel.ROBOT, "unit_id": robot.unit_id,
                     "recipient": robot.unit[:254], "subject": subject[:300],
                     "message_id": "", "message": payload, "robot": robot.robot,
                     "status": OutboxStatus.QUEUED, "attempts": 0, "next_attempt_at": now,
                     "created_at": now})
    outbox_ids = dict(session.execute(
        insert_ignoring_duplicates(engine, OUTBOX).returning(OUTBOX.c.key, OUTBOX.c.id),
        rows).all())
    ledger_rows = sorted(
        ({"task_id": t.id, "user_id": None, "unit_id": robot.unit_id, "kind": p.kind,
          "due_date": t.due, "day": p.day, "outbox_id": outbox_ids[key], "created_at": now}
         for key, (robot, pairs) in items.items() if key in outbox_ids for t, p in pairs),
        key=lambda r: (r["task_id"], r["unit_id"], r["kind"], r["due_date"]))
    if not ledger_rows:
        return 0
    recorded = {tuple(r) for r in session.execute(
        insert_ignoring_duplicates(engine, LEDGER).returning(
            LEDGER.c.task_id, LEDGER.c.unit_id, LEDGER.c.kind),
        ledger_rows)}
    queued = 0
    for key, outbox_id in outbox_ids.items():
        robot, pairs = items[key]
        mine = [t for t, p in pairs if (t.id, robot.unit_id, p.kind) in recorded]
        if not mine:
            session.execute(sa.delete(OUTBOX).where(OUTBOX.c.id == outbox_id))
            continue
        queued += 1
        if len(mine) < len(pairs):
            subject, payload = robot_message(robot.vendor, robot.unit_id, robot.unit, mine,
                                             today, config)
            session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == outbox_id)
                            .values(message=payload, subject=subject[:300]))
    return queued


def _due_reminders(session, now: datetime, tz: str) -> _Due:
    """The reminders due at ``now`` not yet in the ledger: each person's and each unit
    robot's, with the day they are for."""
    rules = {}

    def rule(data):
        key = None if data is None else (tuple(data.get("before", ())), data.get("overdue_every"))
        if key not in rules:
            rules[key] = Rule.from_json(data)
        return rules[key]

    lead = max_lead_days([rule(r) for r in session.scalars(sa.select(Duty.reminders))]
                         + [rule(None)])
    calendar = work_calendar(session)
    # Pending tasks of active units that are overdue or close enough to their date
    # that a reminder may be due (counted from the latest day any audience may be on; a
    # reminder ahead of a date after a break of days off goes earlier: a margin for the
    # longest, 春节 or 国庆 with the weekends around them).
    today = local_today(now, tz)
    where = (Task.status.in_(sorted(PENDING)), Unit.active.is_(True),
             Task.due_date <= today + timedelta(days=lead + 1 + HOLIDAY_MARGIN_DAYS))
    tasks = [_Task(r.id, r.unit_id, r.name, r.title, r.title_en, r.due_date, rule(r.reminders),
                   r.status.value)
             for r in session.execute(
                 sa.select(Task.id, Task.unit_id, Unit.name, Task.title, Task.title_en,
                           Task.due_date, Duty.reminders, Task.status)
                 .join(Unit, Unit.id == Task.unit_id)
                 .outerjoin(Duty, Duty.id == Task.duty_id)
                 .where(*where))]
    if not tasks:
        return _Due({}, {})
    people_done, robots_done = set(), set()
    for task_id, user_id, unit_id, kind in session.execute(
            sa.select(LEDGER.c.task_id, LEDGER.c.user_id, LEDGER.c.unit_id, LEDGER.c.kind)
            .join(Task, sa.and_(Task.id == LEDGER.c.task_id,
                                Task.due_date == LEDGER.c.due_date))
            .join(Unit, Unit.id == Task.unit_id)
            .where(*where)):
        if user_id is not None:
            people_done.add((task_id, user_id, kind))
        else:
            robots_done.add((task_id, unit_id, kind))
    by_unit = defaultdict(list)
    for task in tasks:
        by_unit[task.unit_id].append(task)

    people = {}
    for user in _recipients(session):
        day = reminder_day_for(now, tz, user.hour, calendar)
        if day is None:
            continue
        pairs = []
        for task in tasks if user.role == Role.ADMIN else by_unit.get(user.unit_id, ()):
            # The coordinator hears of every unit's overdue tasks (the town-wide
            # summary); everyone, the coordinator included, of their own unit's tasks.
            point = latest_point(task.due, task.rule, day,
                                 overdue_only=task.unit_id != user.unit_id, calendar=calendar)
            if point is not None and (task.id, user.id, point.kind) not in people_done:
                pairs.append((task, point))
        if pairs:
            people[user] = day, pairs

    robots = {}
    for robot in _robots(session, set(by_unit)):
        day = reminder_day_for(now, tz, ROBOT_HOUR, calendar)
        if day is None:
            continue
        # A unit's group hears of the unit's own tasks, due soon and overdue.
        pairs = [(task, point) for task in by_unit[robot.unit_id]
                 if (point := latest_point(task.due, task.rule, day, calendar=calendar))
                 is not None
                 and (task.id, robot.unit_id, point.kind) not in robots_done]
        if pairs:
            robots[robot] = day, pairs
    return _Due(people, robots)


def _robots(session, unit_ids: set[int]) -> list[_Robot]:
    """The group robots of these units."""
    if not unit_ids:
        return []
    return [_Robot(r.unit_id, r.name, r.vendor, r.robot) for r in session.execute(
        sa.select(UnitChannel.unit_id, Unit.name, UnitChannel.vendor, UnitChannel.robot)
        .join(Unit, Unit.id == UnitChannel.unit_id)
        .where(UnitChannel.unit_id.in_(sorted(unit_ids))).order_by(UnitChannel.unit_id))]


def _recipients(session) -> list[_User]:
    """Active users who take reminders (by mail, or in their inbox only): unit members, and
    the coordinator."""
    rows = session.execute(
        sa.select(User.id, User.email, User.name, User.locale, User.role, User.unit_id,
                  ReminderPreference.mode, ReminderPreference.hour)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.active.is_(True), sa.or_(User.unit_id.is_not(None), User.role == Role.ADMIN))
        .order_by(User.id))
    return [_User(r.id, r.email, r.name, r.locale, r.role, r.unit_id,
                  r.mode or ReminderMode.DIGEST, DEFAULT_HOUR if r.hour is None else r.hour)
            for r in rows]


def _plan_mails(due: dict[_User, tuple[date, list[tuple[_Task, Point]]]]) -> list[_Mail]:
    """The mails that carry the reminders: a digest per person and day, or one each; none
    for people who turned reminder mails off."""
    mails = []
    for user, (day, pairs) in due.items():
        if user.mode == ReminderMode.NONE:
            continue
        if user.mode == ReminderMode.DIGEST:
            mails.append(_Mail(f"digest:{user.id}:{day.isoformat()}", user, True, day, pairs))
        else:
            mails.extend(
                _Mail(f"item:{t.id}:{user.id}:{p.kind}:{t.due.isoformat()}", user, False,
                      p.day, [(t, p)]) for t, p in pairs)
    return mails


def mail_settings(config) -> MailSettings:
    """The sender and site address every mail shares, from the config."""
    return MailSettings(sender=config["MAIL_DEFAULT_SENDER"], base_url=config["BASE_URL"])


def _render(mail: _Mail, items, today: date, now: datetime, settings: MailSettings, config):
    return compose(mail.key, mail.user, [
        MailItem(t.id, t.unit, t.title, t.title_en, t.due, p.kind, t.status) for t, p in items
    ], mail.digest, today, now, settings, config)


def compose(key: str, user, items: list[MailItem], digest: bool, today: date, now: datetime,
            settings: MailSettings, config):
    """The mail with outbox key ``key`` for ``user`` (anything with email, name, locale,
    role and id)."""
    recipient = Recipient(user.email, user.name, user.locale, user.role == Role.ADMIN)
    return build_message(
        recipient, items, key=key, today=today, now=now, settings=settings, digest=digest,
        unsubscribe_url=unsubscribe_url(config, user.id))


def unsubscribe_url(config, user_id: int) -> str:
    """The user's one-click unsubscribe link (RFC 8058)."""
    token = unsubscribe_token(config["SECRET_KEY"], user_id)
    return f"{config['BASE_URL'].rstrip('/')}/reminders/unsubscribe/{token}"


# -- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    subject: str
    message_id: str
    message: bytes
    attempts: int


def deliver(engine, now: datetime, config, instance_path: str, report: DispatchReport) -> None:
    """Send queued mails over one connection until none is left or the server is away."""
    with engine.connect() as marks, no_flush_per_commit(marks):
        if marks.dialect.name == "postgresql":
            # Each mark is a transaction of its own: sent as one statement, one round trip
            # (not the statement, then COMMIT).
            marks.execution_options(isolation_level="AUTOCOMMIT")
        _deliver(engine, marks, now, config, instance_path, report)


def _deliver(engine, marks, now, config, instance_path, report) -> None:
    sender = envelope_sender(config["MAIL_DEFAULT_SENDER"])
    lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
    connection = None
    try:
        while batch := claim(engine, now, config["REMINDERS_BATCH_SIZE"], lease):
            for i, mail in enumerate(batch):
                if connection is None:
                    try:
                        connection = open_connection(config, instance_path)
                    except (smtplib.SMTPException, OSError) as exc:
                        # Not the mails' fault, whatever the code: they all wait.
                        _failed(engine, batch[i:], SendFailure(
                            False, True, f"cannot connect: {classify(exc).error}"), now, report)
                        return
                try:
                    connection.send(sender, mail.recipient, mail.message, mail.message_id)
                except (smtplib.SMTPException, OSError) as exc:
                    failure = classify(exc, connection.alive)
                    if failure.connection_lost:
                        _close(connection)
                        connection = None
                        # This one failed; the rest of the batch waits like it.
                        _failed(engine, batch[i:i + 1], failure, now, report)
                        _failed(engine, batch[i + 1:], SendFailure(
                            False, True, f"not tried: {failure.error}"), now, report)
                        return
                    _failed(engine, [mail], failure, now, report)
                    continue
                # Its own commit, at once: a crash from here on resends this mail only.
                marks.execute(_MARK_SENT, {"oid": mail.id, "now": now})
                marks.commit()
                report.sent.append((mail.id, mail.recipient, mail.subject))
    finally:
        if connection is not None:
            _close(connection)


_MARK_SENT = (sa.update(OUTBOX)
              .where(OUTBOX.c.id == sa.bindparam("oid"))
              .values(status=OutboxStatus.SENT, sent_at=sa.bindparam("now"),
                      attempts=OUTBOX.c.attempts + 1, last_error=None))


def claim(engine, now: datetime, limit: int, lease: timedelta) -> list[_Claimed]:
    """Take up to ``limit`` mails that are due to be sent, so that no other pass sends them:
    those of a pass that died first, then the queued ones, longest due first."""
    columns = (OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.message_id,
               OUTBOX.c.message, OUTBOX.c.attempts)
    mail = OUTBOX.c.channel == Channel.MAIL
    with write_session(engine) as session:
        # Two statements rather than one with sendable()'s OR: each walks its index in the
        # order asked and stops at the limit (with the OR, every claim read and sorted all
        # the queued mails: quadratic in a large pass).
        rows = session.execute(
            sa.select(*columns)
            .where(mail, OUTBOX.c.status == OutboxStatus.SENDING,
                   OUTBOX.c.claimed_at < now - lease)
            .order_by(OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True)).all()
        if len(rows) < limit:
            rows += session.execute(
                sa.select(*columns)
                .where(mail, OUTBOX.c.status == OutboxStatus.QUEUED,
                       OUTBOX.c.next_attempt_at <= now)
                .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit - len(rows))
                .with_for_update(skip_locked=True)).all()
        if rows:
            session.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_([r.id for r in rows]))
                            .values(status=OutboxStatus.SENDING, claimed_at=now))
    return [_Claimed(*r) for r in rows]


def _failed(engine, mails: list[_Claimed], failure: SendFailure, now: datetime,
            report: DispatchReport) -> None:
    """Record a failed try: another one later, or failed for good."""
    if not mails:
        return
    updates = []
    for mail in mails:
        attempts = mail.attempts + 1
        if failure.permanent or attempts >= MAX_ATTEMPTS:
            updates.append({"oid": mail.id, "new_status": OutboxStatus.FAILED,
                            "new_attempts": attempts, "retry_at": now, "error": failure.error})
            report.failed.append((mail.id, mail.recipient, failure.error))
        else:
            updates.append({"oid": mail.id, "new_status": OutboxStatus.QUEUED,
                            "new_attempts": attempts,
                            "retry_at": now + RETRY_DELAYS[attempts - 1],
                            "error": failure.error})
            report.retrying += 1
    with engine.begin() as conn:
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == sa.bindparam("oid")).values(
            status=sa.bindparam("new_status"), attempts=sa.bindparam("new_attempts"),
            next_attempt_at=sa.bindparam("retry_at"), last_error=sa.bindparam("error")),
            updates)


def _close(connection) -> None:
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        pass
