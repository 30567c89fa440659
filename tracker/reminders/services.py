"""Reminder preferences, unsubscribing, the returned-work notice, the coordinator's failed
mails and robot messages, pruning the outbox, the inbox. Flush, never commit."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.models import User
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.reminders.mail import unsubscribe_user_id
from tracker.reminders.models import (DEFAULT_HOUR, Notification, OutboxMessage, OutboxStatus,
                                      ReminderMode, ReminderPreference)
from tracker.reminders.transports import FeedbackIssued, Returned, transport, transports
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


def queue_returned_notice(task: Task, reviewer: User, comment: str, now: datetime) -> None:
    """Tell the unit's people that ``task`` was returned for rework: each transport queues
    (or keeps) its notice (a mail, unless they turned reminder mails off; the inbox).

    Called in the review's transaction: the notice is queued if and only if the
    return is stored, once per return and person (the outbox key); the next
    dispatch pass sends it.
    """
    config = current_app.config
    returns = db.session.scalar(sa.select(sa.func.count(TaskEvent.id)).where(
        TaskEvent.task_id == task.id, TaskEvent.kind == TaskEventKind.RETURNED))
    people = db.session.execute(
        sa.select(User, ReminderPreference.mode)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.unit_id == task.unit_id, User.active.is_(True), User.id != reviewer.id)
        .order_by(User.id)).all()
    _tell(Returned(task, reviewer, comment, people, returns,
                   local_today(now, config["TIMEZONE"])), now)


def queue_feedback_notice(unit, year: int, path: str, url: str, summary: str, tasks: list,
                          now: datetime) -> None:
    """Tell the unit's people that its 问题反馈单 was issued: each transport queues (or
    keeps) its notice (an inbox notice each, a mail each unless they turned reminder mails
    off, a message to the unit's group robot).

    Called in the transaction that issues it; a sheet issued again is told again (the
    outbox key counts the issues)."""
    config = current_app.config
    issue = db.session.scalar(sa.select(sa.func.count(Notification.id)).join(User).where(
        User.unit_id == unit.id, Notification.kind == "feedback",
        Notification.link == path)) or 0
    people = db.session.execute(
        sa.select(User, ReminderPreference.mode)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.unit_id == unit.id, User.active.is_(True)).order_by(User.id)).all()
    _tell(FeedbackIssued(unit, year, path, url, summary, tasks, people, issue,
                         local_today(now, config["TIMEZONE"])), now)


def _tell(notice, now: datetime) -> None:
    for each in transports():
        each.notice(db.session, notice, now, current_app.config)
    db.session.flush()


def failed_messages(limit: int = 200) -> list[OutboxMessage]:
    """Mails and robot messages that failed for good, newest first, with their user or
    unit (and its robot) loaded."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        .options(selectinload(OutboxMessage.user), selectinload(OutboxMessage.unit))
        .order_by(OutboxMessage.id.desc()).limit(limit)))


def resend(outbox_id: int, now: datetime) -> OutboxMessage:
    """Queue a failed mail or robot message again; the next pass sends it.

    Its transport writes it anew where that matters: a mail goes to the user's
    current address, name and language and keeps its Message-ID; a robot message
    takes the unit's robot as it is now. One whose tasks are gone goes as it was.
    """
    message = db.session.get(OutboxMessage, outbox_id)
    if message is None:
        raise TrackerError(f"there is no queued message with id {outbox_id}")
    if message.status != OutboxStatus.FAILED:
        raise TrackerError(f"message {outbox_id} is {message.status.value}, not failed: "
                           f"only a failed message can be sent again")
    carrier = transport(message.channel)
    if carrier is not None:
        carrier.rebuild(message, now)
    return _requeue(message, now)


def _requeue(message: OutboxMessage, now: datetime) -> OutboxMessage:
    """Back in the queue, to be sent at once, its tries counted afresh."""
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


def inbox(user_id: int, page: int, per_page: int) -> tuple[list[Notification], int]:
    """A page of the user's inbox (newest first, each with its task and unit), and how many
    notices there are in all."""
    total = db.session.scalar(sa.select(sa.func.count(Notification.id))
                              .where(Notification.user_id == user_id))
    notices = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user_id)
        .options(joinedload(Notification.task).joinedload(Task.unit))
        .order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return list(notices), total


def mark_read(user_id: int, notification_id: int | None, now: datetime) -> int:
    """Mark one of the user's notices read, or (``notification_id`` None) all of them;
    how many were unread. Another user's notice is as if it did not exist."""
    query = sa.update(Notification).where(Notification.user_id == user_id,
                                          Notification.read_at.is_(None))
    if notification_id is not None:
        if db.session.scalar(sa.select(Notification.id).where(
                Notification.id == notification_id, Notification.user_id == user_id)) is None:
            raise LookupError(notification_id)
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(query.values(read_at=now))
    db.session.flush()
    return result.rowcount


def unread_count_column(user_id_column):
    """The number of unread notices of the user in the enclosing query (a correlated
    subquery, loaded with the signed-in user for the header's bell)."""
    return (sa.select(sa.func.count(Notification.id))
            .where(Notification.user_id == user_id_column, Notification.read_at.is_(None))
            .scalar_subquery())
