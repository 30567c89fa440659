"""The mail transport: a person's reminders as mails (a digest a day, one per reminder, or
none, as they chose), the notices of returned work and of a feedback sheet, and the
sending of the queued mails over one connection per pass."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from tracker.auth.models import Role
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.reminders.backends import SendFailure, backend_name, classify, open_connection
from tracker.reminders.mail import (HeaderError, MailItem, MailSettings, Recipient,
                                    build_feedback_message, build_message,
                                    build_returned_message, envelope_sender,
                                    unsubscribe_token)
from tracker.reminders.models import (Channel, OutboxMessage, OutboxStatus, ReminderLedgerEntry,
                                      ReminderMode)
from tracker.reminders.outbox import (MARK_SENT, DispatchReport, claim, no_flush_per_commit,
                                      record_failure)
from tracker.reminders.transports import (Audience, Due, FeedbackIssued, Message, Person,
                                          Returned, Transport, register)
from tracker.tasks.models import Task

log = logging.getLogger(__name__)


@dataclass
class _Mail:
    key: str
    user: Person
    digest: bool
    day: date


@register
class MailTransport(Transport):
    """Reminder mails to each person, by the mail backend (SMTP, or .eml files)."""

    name = Channel.MAIL.value
    audience = Audience.PERSON
    order = 10

    def check(self, config) -> None:
        """A misconfigured backend is refused before anything is claimed."""
        backend_name(config)

    def messages(self, due: list[Due], today: date, now: datetime, config) -> list[Message]:
        """A digest per person and day, or one mail each; none for people who turned
        reminder mails off. A mail that cannot be written is left out (and logged)."""
        settings = mail_settings(config)
        messages = []
        for mail, reminders in _plan_mails(due):
            message = Message(mail.key, mail.user.email, "", b"", reminders,
                              user_id=mail.user.id, context=mail)
            try:
                message.subject, message.data = self.render(message, reminders, today, now,
                                                            config, settings)
            except HeaderError as exc:
                # Stored before addresses were checked at the boundary: this person's mail
                # cannot be written, the others' can. Not recorded, so it is tried again
                # once the address is corrected.
                log.error("reminder mail %s not queued: %s", mail.key, exc)
                message.data = None
            messages.append(message)
        # Sorted keys: concurrent passes on PostgreSQL wait for each other in one
        # order, never in a cycle.
        return sorted(messages, key=lambda m: m.key)

    def render(self, message, reminders, today, now, config, settings=None):
        """The mail's subject (at most 300 characters) and bytes, with these reminders."""
        mail = message.context
        built = compose(mail.key, mail.user, [
            MailItem(t.id, t.unit, t.title, t.title_en, t.due, p.kind, t.status)
            for t, p in reminders], mail.digest, today, now, settings or mail_settings(config),
            config)
        message.message_id = built.message_id
        return built.subject[:300], built.data

    def notice(self, session, notice, now, config) -> None:
        """A mail to each of the unit's people, but those who turned reminder mails off."""
        settings = mail_settings(config)
        for user, mode in notice.people:
            if mode == ReminderMode.NONE:
                continue
            recipient = Recipient(user.email, user.name, user.locale)
            if isinstance(notice, Returned):
                task = notice.task
                key = f"returned:{task.id}:{notice.number}:{user.id}"
                mail = build_returned_message(
                    recipient, MailItem(task.id, task.unit.name, task.title, task.title_en,
                                        task.due_date, "returned", task.status.value),
                    reviewer=notice.reviewer.display_name, comment=notice.comment, key=key,
                    today=notice.today, now=now, settings=settings,
                    unsubscribe_url=unsubscribe_url(config, user.id))
            elif isinstance(notice, FeedbackIssued):
                key = f"feedback:{notice.unit.id}:{notice.year}:{notice.number}:{user.id}"
                mail = build_feedback_message(
                    recipient, unit=notice.unit.name, year=notice.year, url=notice.url,
                    summary=notice.summary, tasks=notice.tasks, key=key, now=now,
                    settings=settings, unsubscribe_url=unsubscribe_url(config, user.id))
            else:
                return
            session.add(OutboxMessage(
                key=key, user=user, recipient=user.email, subject=mail.subject[:300],
                message_id=mail.message_id, message=mail.data, status=OutboxStatus.QUEUED,
                attempts=0, next_attempt_at=now, created_at=now))

    def rebuild(self, message: OutboxMessage, now: datetime) -> None:
        """To the user's current address, name and language, with the same Message-ID;
        one whose tasks are gone goes as it was."""
        rows = db.session.execute(
            sa.select(Task, ReminderLedgerEntry.kind)
            .join(ReminderLedgerEntry, ReminderLedgerEntry.task_id == Task.id)
            .where(ReminderLedgerEntry.outbox_id == message.id)
            .options(selectinload(Task.unit))).all()
        if message.user is None or not rows:
            return
        config = current_app.config
        items = [MailItem(t.id, t.unit.name, t.title, t.title_en, t.due_date, kind,
                          t.status.value) for t, kind in rows]
        msg = compose(message.key, message.user, items, message.key.startswith("digest:"),
                      local_today(now, config["TIMEZONE"]), now, mail_settings(config), config)
        message.recipient = message.user.email
        message.subject = msg.subject[:300]
        message.message = msg.data

    def deliver(self, engine, now, config, report, **kwargs) -> None:
        """Send queued mails over one connection until none is left or the server is away."""
        deliver(engine, now, config, current_app.instance_path, report)


def _plan_mails(due: list[Due]) -> list[tuple[_Mail, list]]:
    """The mails that carry the reminders, with the reminders each carries."""
    mails = []
    for entry in due:
        user, day = entry.to, entry.day
        if user.mode == ReminderMode.NONE:
            continue
        if user.mode == ReminderMode.DIGEST:
            mails.append((_Mail(f"digest:{user.id}:{day.isoformat()}", user, True, day),
                          entry.reminders))
        else:
            mails.extend(
                (_Mail(f"item:{t.id}:{user.id}:{p.kind}:{t.due.isoformat()}", user, False,
                       p.day), [(t, p)]) for t, p in entry.reminders)
    return mails


def mail_settings(config) -> MailSettings:
    """The sender and site address every mail shares, from the config."""
    return MailSettings(sender=config["MAIL_DEFAULT_SENDER"], base_url=config["BASE_URL"])


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
                        record_failure(engine, batch[i:], SendFailure(
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
                        record_failure(engine, batch[i:i + 1], failure, now, report)
                        record_failure(engine, batch[i + 1:], SendFailure(
                            False, True, f"not tried: {failure.error}"), now, report)
                        return
                    record_failure(engine, [mail], failure, now, report)
                    continue
                # Its own commit, at once: a crash from here on resends this mail only.
                marks.execute(MARK_SENT, {"oid": mail.id, "now": now})
                marks.commit()
                report.sent.append((mail.id, mail.recipient, mail.subject))
    finally:
        if connection is not None:
            _close(connection)


def _close(connection) -> None:
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        pass
