"""Reminder preferences, unsubscribing, the coordinator's failed mails, pruning the outbox.
Flush, never commit."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from tracker.auth.models import User
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.reminders.dispatch import compose, mail_settings, unsubscribe_url
from tracker.reminders.mail import (MailItem, Recipient, build_returned_message,
                                    unsubscribe_user_id)
from tracker.reminders.models import (DEFAULT_HOUR, OutboxMessage, OutboxStatus,
                                      ReminderLedgerEntry, ReminderMode, ReminderPreference)
from tracker.tasks.models import Task, TaskEvent, TaskEventKind


def get_preferences(user_id: int) -> ReminderPreference:
    """The user's reminder settings; the defaults (not added to the session) if never set."""
    preference = db.session.get(ReminderPreference, user_id)
    if preference is None:
        preference = ReminderPreference(user_id=user_id, mode=ReminderMode.DIGEST,
                                        hour=DEFAULT_HOUR)
    return preference


def set_preferences(user_id: int, mode: ReminderMode | str | None = None,
                    hour: int | None = None) -> ReminderPreference:
    """Change the user's reminder mode (digest, each, none) and/or hour (0-23, plan time)."""
    if mode is not None:
        try:
            mode = ReminderMode(mode)
        except ValueError:
            raise TrackerError(f"reminder mode {mode!r} is not one of "
                               f"{', '.join(m.value for m in ReminderMode)}") from None
    if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int)
                             or not 0 <= hour <= 23):
        raise TrackerError(f"reminder hour {hour!r} is not a whole hour from 0 to 23")
    if db.session.get(User, user_id) is None:
        raise TrackerError(f"there is no user with id {user_id}")
    preference = db.session.get(ReminderPreference, user_id)
    if preference is None:
        preference = ReminderPreference(user_id=user_id, mode=ReminderMode.DIGEST,
                                        hour=DEFAULT_HOUR)
        db.session.add(preference)
    if mode is not None:
        preference.mode = mode
    if hour is not None:
        preference.hour = hour
    db.session.flush()
    return preference


def user_for_unsubscribe_token(token: str) -> User | None:
    """The user an unsubscribe link was made for, or None if the token is not ours."""
    user_id = unsubscribe_user_id(current_app.config["SECRET_KEY"], token)
    return db.session.get(User, user_id) if user_id is not None else None


def unsubscribe(user: User) -> None:
    """Stop every reminder mail to ``user`` (the one-click unsubscribe)."""
    set_preferences(user.id, mode=ReminderMode.NONE)


def queue_returned_notice(task: Task, reviewer: User, comment: str,
                          now: datetime) -> list[OutboxMessage]:
    """Queue a notice to the unit's people that ``task`` was returned for rework.

    Called in the review's transaction: the notice is queued if and only if the
    return is stored, once per return and person (the outbox key); the next
    dispatch pass sends it. People who turned reminder mails off get none.
    """
    config = current_app.config
    returns = db.session.scalar(sa.select(sa.func.count(TaskEvent.id)).where(
        TaskEvent.task_id == task.id, TaskEvent.kind == TaskEventKind.RETURNED))
    people = db.session.execute(
        sa.select(User, ReminderPreference.mode)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.unit_id == task.unit_id, User.active.is_(True), User.id != reviewer.id)
        .order_by(User.id)).all()
    settings, today = mail_settings(config), local_today(now, config["TIMEZONE"])
    item = MailItem(task.id, task.unit.name, task.title, task.title_en, task.due_date,
                    "returned", task.status.value)
    queued = []
    for user, mode in people:
        if mode == ReminderMode.NONE:
            continue
        key = f"returned:{task.id}:{returns}:{user.id}"
        mail = build_returned_message(
            Recipient(user.email, user.name, user.locale), item,
            reviewer=reviewer.display_name, comment=comment, key=key,
            today=today, now=now, settings=settings,
            unsubscribe_url=unsubscribe_url(config, user.id))
        queued.append(OutboxMessage(
            key=key, user=user, recipient=user.email, subject=mail.subject[:300],
            message_id=mail.message_id, message=mail.data, status=OutboxStatus.QUEUED,
            attempts=0, next_attempt_at=now, created_at=now))
    db.session.add_all(queued)
    db.session.flush()
    return queued


def failed_messages(limit: int = 200) -> list[OutboxMessage]:
    """Mails that failed for good, newest first, with their user loaded."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        .options(selectinload(OutboxMessage.user))
        .order_by(OutboxMessage.id.desc()).limit(limit)))


def resend(outbox_id: int, now: datetime) -> OutboxMessage:
    """Queue a failed mail again, to the user's current address; the next pass sends it.

    It keeps its Message-ID. Rebuilt from the ledger so that a corrected address
    (or name, or language) is used; a mail whose tasks are gone goes as it was.
    """
    message = db.session.get(OutboxMessage, outbox_id)
    if message is None:
        raise TrackerError(f"there is no queued mail with id {outbox_id}")
    if message.status != OutboxStatus.FAILED:
        raise TrackerError(f"mail {outbox_id} is {message.status.value}, not failed: "
                           f"only a failed mail can be sent again")
    rows = db.session.execute(
        sa.select(Task, ReminderLedgerEntry.kind)
        .join(ReminderLedgerEntry, ReminderLedgerEntry.task_id == Task.id)
        .where(ReminderLedgerEntry.outbox_id == outbox_id)
        .options(selectinload(Task.unit))).all()
    if message.user is not None and rows:
        config = current_app.config
        items = [MailItem(t.id, t.unit.name, t.title, t.title_en, t.due_date, kind, t.status.value)
                 for t, kind in rows]
        msg = compose(message.key, message.user, items, message.key.startswith("digest:"),
                      local_today(now, config["TIMEZONE"]), now, mail_settings(config), config)
        message.recipient = message.user.email
        message.subject = msg.subject[:300]
        message.message = msg.data
    message.status = OutboxStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_at = None
    db.session.flush()
    return message


def prune_sent(now: datetime, keep_days: int) -> int:
    """Drop the bytes of mails sent more than ``keep_days`` ago; returns how many.

    The rows stay, as the record that a reminder went out (recipient, subject,
    Message-ID, when) and as the ledger's proof that it must not go out again;
    only the message itself, the bulk of the outbox, goes. Queued and failed
    mails keep theirs: they may still be sent.
    """
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 1:
        raise TrackerError(f"days to keep sent mails must be a whole number of at least 1, "
                           f"not {keep_days!r}")
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENT,
               OutboxMessage.sent_at < now - timedelta(days=keep_days),
               sa.func.length(OutboxMessage.message) > 0)
        .values(message=b""))
    db.session.flush()
    return result.rowcount
