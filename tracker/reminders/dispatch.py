"""One dispatch pass: reminders due now → ledger → outbox → mail server.

The pass is a background job and owns its transactions, on a session of its
own. Any number of passes may run at once, in any number of processes:

* the ledger's unique key (task, person, kind, due date) and the outbox's
  unique key (one digest per person per day, or one mail per reminder) make a
  reminder recorded and queued once, whoever scans first; the inserts skip
  what another pass already wrote (ON CONFLICT DO NOTHING);
* a pass claims outbox rows in a transaction (FOR UPDATE SKIP LOCKED on
  PostgreSQL; on SQLite an immediate transaction, which takes the write lock
  at BEGIN), so no two passes send the same mail; a claim older than the
  lease is taken over, so a pass that died loses nothing;
* each mail is marked sent in a commit of its own right after the server
  accepted it: a crash in between may send that one mail again, with the same
  Message-ID; none is ever dropped.
"""

import logging
import smtplib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker.auth.models import Role, User
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.reminders.backends import SendFailure, backend_name, classify, open_connection
from tracker.reminders.mail import (HeaderError, MailItem, MailSettings, Recipient,
                                    build_message, envelope_sender, unsubscribe_token)
from tracker.reminders.models import (DEFAULT_HOUR, OutboxMessage, OutboxStatus,
                                      ReminderLedgerEntry, ReminderMode, ReminderPreference)
from tracker.reminders.rules import Point, Rule, latest_point, max_lead_days, reminder_day
from tracker.tasks.models import PENDING, Task
from tracker.units.models import Unit
from tracker.workdays.services import work_calendar

#: Waits after the 1st, 2nd, ... temporary failure; after the last one the mail fails.
#: Days a reminder may move ahead of its date to leave a break of days off.
HOLIDAY_MARGIN_DAYS = 16
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

log = logging.getLogger(__name__)
OUTBOX = OutboxMessage.__table__
LEDGER = ReminderLedgerEntry.__table__


@dataclass
class DispatchReport:
    """What one pass did."""

    queued: int = 0
    #: (outbox id, recipient, subject) of each mail the server accepted.
    sent: list[tuple[int, str, str]] = field(default_factory=list)
    #: Mails that failed for now and wait for another try.
    retrying: int = 0
    #: (outbox id, recipient, error) of mails that failed for good in this pass.
    failed: list[tuple[int, str, str]] = field(default_factory=list)


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


def dispatch(now: datetime) -> DispatchReport:
    """One pass at the instant ``now``: queue the reminders due, then send what is queued."""
    config = current_app.config
    backend_name(config)  # a misconfigured backend is refused before anything is claimed
    report = DispatchReport()
    lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
    # Most passes find nothing to do: look first, without taking the write lock.
    with Session(db.engine) as session:
        reminders_due = bool(_due_reminders(session, now, config["TIMEZONE"]))
        mail_due = session.scalar(sa.select(OUTBOX.c.id).where(_sendable(now, lease)).limit(1))
    if reminders_due:
        report.queued = enqueue_due(db.engine, now, config)
    if reminders_due or mail_due is not None:
        deliver(db.engine, now, config, current_app.instance_path, report)
    return report


@contextmanager
def write_session(engine):
    """A session whose transaction writes: on SQLite it holds the write lock from BEGIN.

    A deferred SQLite transaction that reads and then writes can fail at once
    with "database is locked" when another writer got there in between; an
    immediate one waits its turn (busy_timeout) instead.
    """
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.execute(sa.text("BEGIN IMMEDIATE"))
        yield session
        session.commit()


def _insert_ignoring_duplicates(engine, table):
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


# -- scanning and queueing ---------------------------------------------------------------


def enqueue_due(engine, now: datetime, config) -> int:
    """Record the reminders due at ``now`` in the ledger and queue their mails; returns
    how many mails were queued."""
    tz = config["TIMEZONE"]
    with write_session(engine) as session:
        mails = _plan_mails(_due_reminders(session, now, tz))
        if not mails:
            return 0
        settings = mail_settings(config)
        today = local_today(now, tz)
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
        if not mails:
            return 0
        rows = [{"key": m.key, "user_id": m.user.id, "recipient": m.user.email,
                 "subject": messages[m.key].subject[:300],
                 "message_id": messages[m.key].message_id,
                 "message": messages[m.key].data, "status": OutboxStatus.QUEUED,
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
                for m in sorted(mails, key=lambda m: m.key)]
        # Sorted keys: concurrent passes on PostgreSQL wait for each other in one
        # order, never in a cycle.
        outbox_ids = dict(session.execute(
            _insert_ignoring_duplicates(engine, OUTBOX).returning(OUTBOX.c.key, OUTBOX.c.id),
            rows).all())
        mine = [m for m in mails if m.key in outbox_ids]
        if not mine:
            return 0
        ledger_rows = sorted(
            ({"task_id": t.id, "user_id": m.user.id, "kind": p.kind, "due_date": t.due,
              "day": p.day, "outbox_id": outbox_ids[m.key], "created_at": now}
             for m in mine for t, p in m.items),
            key=lambda r: (r["task_id"], r["user_id"], r["kind"], r["due_date"]))
        recorded = {tuple(r) for r in session.execute(
            _insert_ignoring_duplicates(engine, LEDGER).returning(
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
        return queued


def _due_reminders(session, now: datetime, tz: str
                   ) -> dict[_User, tuple[date, list[tuple[_Task, Point]]]]:
    """Each person's reminder day and reminders due at ``now`` not yet in the ledger."""
    today = local_today(now, tz)
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
    # that a reminder may be due (a reminder on a day off goes earlier: a margin for the
    # longest break, 春节 or 国庆 with the weekends around them).
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
        return {}
    done = set(session.execute(
        sa.select(LEDGER.c.task_id, LEDGER.c.user_id, LEDGER.c.kind)
        .join(Task, sa.and_(Task.id == LEDGER.c.task_id, Task.due_date == LEDGER.c.due_date))
        .join(Unit, Unit.id == Task.unit_id)
        .where(*where)).all())
    by_unit = defaultdict(list)
    for task in tasks:
        by_unit[task.unit_id].append(task)

    due = {}
    for user in _recipients(session):
        day = reminder_day(now, tz, user.hour)
        pairs = []
        for task in tasks if user.role == Role.ADMIN else by_unit.get(user.unit_id, ()):
            # The coordinator hears of every unit's overdue tasks (the town-wide
            # summary); everyone, the coordinator included, of their own unit's tasks.
            point = latest_point(task.due, task.rule, day,
                                 overdue_only=task.unit_id != user.unit_id, calendar=calendar)
            if point is not None and (task.id, user.id, point.kind) not in done:
                pairs.append((task, point))
        if pairs:
            due[user] = day, pairs
    return due


def _recipients(session) -> list[_User]:
    """Active users who take reminders: unit members, and the coordinator."""
    rows = session.execute(
        sa.select(User.id, User.email, User.name, User.locale, User.role, User.unit_id,
                  ReminderPreference.mode, ReminderPreference.hour)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.active.is_(True), sa.or_(User.unit_id.is_not(None), User.role == Role.ADMIN))
        .order_by(User.id))
    users = [_User(r.id, r.email, r.name, r.locale, r.role, r.unit_id,
                   r.mode or ReminderMode.DIGEST, DEFAULT_HOUR if r.hour is None else r.hour)
             for r in rows]
    return [u for u in users if u.mode != ReminderMode.NONE]


def _plan_mails(due: dict[_User, tuple[date, list[tuple[_Task, Point]]]]) -> list[_Mail]:
    """The mails that carry the reminders: a digest per person and day, or one each."""
    mails = []
    for user, (day, pairs) in due.items():
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
    with engine.connect() as marks, _no_flush_per_commit(marks):
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


@contextmanager
def _no_flush_per_commit(conn):
    """Commits on ``conn`` that survive a crash of this process but need not wait for the
    disk: a power cut or a database crash may undo the last few marks, and those mails are
    sent again (same Message-ID); none is lost, nothing is corrupted.

    PostgreSQL: asynchronous commit. SQLite: synchronous=NORMAL, safe so only in WAL mode.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET synchronous_commit TO OFF")
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()
            conn.exec_driver_sql("RESET synchronous_commit")
            conn.commit()
        return
    before = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    wal = conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    if wal:
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        if wal:
            conn.rollback()
            conn.exec_driver_sql(f"PRAGMA synchronous={int(before)}")


_MARK_SENT = (sa.update(OUTBOX)
              .where(OUTBOX.c.id == sa.bindparam("oid"))
              .values(status=OutboxStatus.SENT, sent_at=sa.bindparam("now"),
                      attempts=OUTBOX.c.attempts + 1, last_error=None))


def _sendable(now: datetime, lease: timedelta):
    return sa.or_(
        sa.and_(OUTBOX.c.status == OutboxStatus.QUEUED, OUTBOX.c.next_attempt_at <= now),
        # Claimed by a pass that died (or hangs) longer than the lease ago.
        sa.and_(OUTBOX.c.status == OutboxStatus.SENDING, OUTBOX.c.claimed_at < now - lease))


def claim(engine, now: datetime, limit: int, lease: timedelta) -> list[_Claimed]:
    """Take up to ``limit`` mails that are due to be sent, so that no other pass sends them."""
    with write_session(engine) as session:
        rows = session.execute(
            sa.select(OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.message_id,
                      OUTBOX.c.message, OUTBOX.c.attempts)
            .where(_sendable(now, lease)).order_by(OUTBOX.c.id).limit(limit)
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
