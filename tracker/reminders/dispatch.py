"""One dispatch pass: reminders due now → ledger → every registered transport (mail,
group robots, the inbox, …: tracker.reminders.transports) → outbox → sent.

The pass decides; the transports carry. It finds the reminders due to each person
and to each unit's group (the groups some transport reaches), records each once in
the ledger, and gives each transport of that audience what it may carry: a
transport makes outbox messages of them (``messages``), or keeps them itself in the
same transaction (``recorded``: the inbox). Then each transport sends what it has
queued, in the transports' order (mails first, then robot messages).

The pass is a background job and owns its transactions, on a session of its
own. Any number of passes may run at once, in any number of processes:

* the ledger's unique keys (task, person or unit, kind, due date) and the
  outbox's unique key (one digest per person per day, one mail per reminder, one
  robot message per unit per day) make a reminder recorded and queued once,
  whoever scans first; the inserts skip what another pass already wrote (ON
  CONFLICT DO NOTHING). A reminder whose every message was refused that way
  (another pass queued it) is not recorded, and goes on a later day. A message
  keeps only the reminders this pass recorded, or goes;
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

from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from tracker.auth.models import Role, User
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.reminders.models import (DEFAULT_HOUR, OutboxStatus, ReminderMode,
                                      ReminderPreference)
from tracker.reminders.outbox import (LEDGER, MAX_ATTEMPTS, OUTBOX, RETRY_DELAYS,
                                      DispatchReport, claim, insert_ignoring_duplicates,
                                      sendable, write_session)
from tracker.reminders.rules import Rule, latest_point, max_lead_days, reminder_day
from tracker.reminders.transports import Audience, Due, DueTask, Group, Person, transports
from tracker.tasks.models import PENDING, Task
from tracker.units.models import Unit
from tracker.workdays.services import work_calendar

__all__ = ["MAX_ATTEMPTS", "RETRY_DELAYS", "DispatchReport", "claim", "dispatch", "enqueue_due",
           "write_session"]

#: The hour (plan timezone) from which a unit's group gets the day's message.
ROBOT_HOUR = DEFAULT_HOUR
#: Days a reminder may move ahead of its date to leave a break of days off.
HOLIDAY_MARGIN_DAYS = 16
#: The ledger's column for each audience.
_WHO = {Audience.PERSON: "user_id", Audience.UNIT: "unit_id"}


def dispatch(now: datetime) -> DispatchReport:
    """One pass at the instant ``now``: queue the reminders due, then let each transport
    send what it has queued."""
    config = current_app.config
    sending = [t for t in transports() if t.outbox]
    for transport in sending:
        transport.check(config)  # a misconfigured one is refused before anything is claimed
    report = DispatchReport()
    lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
    # Most passes find nothing to do: look first, without taking the write lock.
    with Session(db.engine) as session:
        reminders_due = any(_due_reminders(session, now, config["TIMEZONE"]).values())
        waiting = {t.name for t in sending if session.scalar(
            sa.select(OUTBOX.c.id).where(sendable(now, lease, t.name)).limit(1)) is not None}
    if reminders_due:
        report.queued = enqueue_due(db.engine, now, config)
    for transport in sending:
        if reminders_due or transport.name in waiting:
            transport.deliver(db.engine, now, config, report)
    return report


def reminder_day_for(now: datetime, tz: str, hour: int, calendar) -> date | None:
    """The day whose reminders are due at ``now`` for someone (or a unit's group) taking
    them from ``hour`` o'clock, plan time; None: no reminders go out at ``now``, a day off
    (working days only: no mail, inbox item or robot message on a weekend or holiday).

    The one place a reminder's day is decided, for every transport alike.
    """
    day = reminder_day(now, tz, hour)
    return day if calendar.is_working(day) else None


# -- scanning and queueing ---------------------------------------------------------------


def enqueue_due(engine, now: datetime, config) -> int:
    """Record the reminders due at ``now`` in the ledger and hand them to the transports;
    returns how many outbox messages were queued."""
    tz = config["TIMEZONE"]
    with write_session(engine) as session:
        due = _due_reminders(session, now, tz)
        if not any(due.values()):
            return 0
        today = local_today(now, tz)
        return sum(_enqueue(session, engine, audience, due[audience], today, now, config)
                   for audience in Audience)


def _enqueue(session, engine, audience: Audience, due: dict, today: date, now: datetime,
             config) -> int:
    """Queue the messages of every transport of ``audience``, record the reminders they
    carry, and let each transport keep what it keeps; how many messages were queued."""
    if not due:
        return 0
    who = _WHO[audience]
    kept = transports(audience)
    planned = []  # (transport, message), in the order queued
    for transport in kept:
        reach = transport.reach(session, {to.id for to in due})
        entries = [Due(to, day, reminders, None if reach is None else reach[to.id])
                   for to, (day, reminders) in due.items() if reach is None or to.id in reach]
        if entries:
            planned += [(transport, m) for m in
                        transport.messages(entries, today, now, config)]
    outbox_ids = {}
    for transport in kept:
        rows = [{"key": m.key, "channel": t.name, "user_id": m.user_id, "unit_id": m.unit_id,
                 "recipient": m.recipient, "subject": m.subject, "message_id": m.message_id,
                 "message": m.data, "robot": m.robot, "status": OutboxStatus.QUEUED,
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
                for t, m in planned if t is transport and m.data is not None]
        if rows:
            outbox_ids.update(session.execute(
                insert_ignoring_duplicates(engine, OUTBOX).returning(OUTBOX.c.key, OUTBOX.c.id),
                rows).all())
    queued = [(t, m) for t, m in planned if m.key in outbox_ids]

    # A reminder is recorded with the first message queued that carries it; with none if
    # no transport makes a message of it (a person who takes no mails: the inbox only);
    # not at all if every message that would carry it was refused.
    carried, carriers = set(), {}
    for _t, message in planned:
        owner = message.user_id if audience == Audience.PERSON else message.unit_id
        for t, p in message.reminders:
            carried.add((t.id, owner, p.kind))
    for _t, message in queued:
        owner = message.user_id if audience == Audience.PERSON else message.unit_id
        for t, p in message.reminders:
            carriers.setdefault((t.id, owner, p.kind), outbox_ids[message.key])
    ledger_rows = [{"task_id": t.id, "user_id": None, "unit_id": None, who: to.id,
                    "kind": p.kind, "due_date": t.due, "day": p.day,
                    "outbox_id": carriers.get((t.id, to.id, p.kind)), "created_at": now}
                   for to, (_day, reminders) in due.items() for t, p in reminders
                   if (t.id, to.id, p.kind) in carriers or (t.id, to.id, p.kind) not in carried]
    if not ledger_rows:
        return 0
    ledger_rows.sort(key=lambda r: (r["task_id"], r[who], r["kind"], r["due_date"]))
    recorded = {tuple(r) for r in session.execute(
        insert_ignoring_duplicates(engine, LEDGER).returning(
            LEDGER.c.task_id, getattr(LEDGER.c, who), LEDGER.c.kind),
        ledger_rows)}

    count = 0
    for transport, message in queued:
        # Another pass may have recorded some of these reminders for another message in
        # the meantime: a message keeps only what is its own, or goes.
        owner = message.user_id if audience == Audience.PERSON else message.unit_id
        mine = [(t, p) for t, p in message.reminders if (t.id, owner, p.kind) in recorded]
        outbox_id = outbox_ids[message.key]
        if not mine:
            session.execute(sa.delete(OUTBOX).where(OUTBOX.c.id == outbox_id))
            continue
        count += 1
        if len(mine) < len(message.reminders):
            subject, data = transport.render(message, mine, today, now, config)
            session.execute(sa.update(OUTBOX).where(OUTBOX.c.id == outbox_id)
                            .values(message=data, subject=subject))
    mine = [Due(to, day, [(t, p) for t, p in reminders if (t.id, to.id, p.kind) in recorded])
            for to, (day, reminders) in due.items()]
    mine = [entry for entry in mine if entry.reminders]
    for transport in kept:
        transport.recorded(session, mine, now)
    return count


def _due_reminders(session, now: datetime, tz: str) -> dict[Audience, dict]:
    """The reminders due at ``now`` not yet in the ledger, with the day they are for: each
    person's, and each unit group's that a transport reaches."""
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
    tasks = [DueTask(r.id, r.unit_id, r.name, r.title, r.title_en, r.due_date,
                     rule(r.reminders), r.status.value)
             for r in session.execute(
                 sa.select(Task.id, Task.unit_id, Unit.name, Task.title, Task.title_en,
                           Task.due_date, Duty.reminders, Task.status)
                 .join(Unit, Unit.id == Task.unit_id)
                 .outerjoin(Duty, Duty.id == Task.duty_id)
                 .where(*where))]
    if not tasks:
        return {Audience.PERSON: {}, Audience.UNIT: {}}
    people_done, units_done = set(), set()
    for task_id, user_id, unit_id, kind in session.execute(
            sa.select(LEDGER.c.task_id, LEDGER.c.user_id, LEDGER.c.unit_id, LEDGER.c.kind)
            .join(Task, sa.and_(Task.id == LEDGER.c.task_id,
                                Task.due_date == LEDGER.c.due_date))
            .join(Unit, Unit.id == Task.unit_id)
            .where(*where)):
        if user_id is not None:
            people_done.add((task_id, user_id, kind))
        else:
            units_done.add((task_id, unit_id, kind))
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

    groups = {}
    day = reminder_day_for(now, tz, ROBOT_HOUR, calendar)
    for unit_id in sorted(_reached(session, set(by_unit))) if day is not None else ():
        # A unit's group hears of the unit's own tasks, due soon and overdue.
        pairs = [(task, point) for task in by_unit[unit_id]
                 if (point := latest_point(task.due, task.rule, day, calendar=calendar))
                 is not None
                 and (task.id, unit_id, point.kind) not in units_done]
        if pairs:
            groups[Group(unit_id, by_unit[unit_id][0].unit)] = day, pairs
    return {Audience.PERSON: people, Audience.UNIT: groups}


def _reached(session, unit_ids: set[int]) -> set[int]:
    """The units whose group some transport reaches."""
    reached = set()
    for transport in transports(Audience.UNIT):
        reach = transport.reach(session, unit_ids)
        reached |= unit_ids if reach is None else set(reach)
    return reached


def _recipients(session) -> list[Person]:
    """Active users who take reminders (by mail, or in their inbox only): unit members, and
    the coordinator."""
    rows = session.execute(
        sa.select(User.id, User.email, User.name, User.locale, User.role, User.unit_id,
                  ReminderPreference.mode, ReminderPreference.hour)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.active.is_(True), sa.or_(User.unit_id.is_not(None), User.role == Role.ADMIN))
        .order_by(User.id))
    return [Person(r.id, r.email, r.name, r.locale, r.role, r.unit_id,
                   r.mode or ReminderMode.DIGEST, DEFAULT_HOUR if r.hour is None else r.hour)
            for r in rows]
