"""The units' group robots: their settings (checked, stored, shown masked), a test
message, and what the dispatch pass needs to reach them. Flush, never commit.

A robot's address and secret are credentials. They are checked when saved and
again whenever a message goes (``robots.parse_webhook`` against the vendors'
hosts and TRACKER_WEBHOOK_ALLOWED_HOSTS), shown only masked, and never written to
a log or an error text.
"""

import math
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from babel.lists import format_list
from flask_babel import get_locale, gettext as _

from tracker.auth.models import User
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.reminders.models import (Channel, OutboxMessage, OutboxStatus, ReminderLedgerEntry,
                                      UnitChannel)
from tracker.reminders.pace import Pacer
from tracker.reminders.robot_text import RobotItem, headline, test_heading
from tracker.reminders.robots import (NAMES, Webhook, WebhookError, build_payload,
                                      build_test_payload, parse_allowed_hosts, parse_webhook,
                                      send)
from tracker.reminders.transports import Outcome, Status
from tracker.reminders.vendors import VENDORS, Vendor
from tracker.tasks.models import Task
from tracker.tasks.scope import may_act_for
from tracker.units.models import Unit

CHANNELS = UnitChannel.__table__
#: How far back the outbox is read to pace a robot: its longest window, and then some.
PACE_MEMORY = timedelta(minutes=2)
#: A secret as the vendors issue them: DingTalk's "SEC" and 64 hex digits, Feishu's
#: 20-odd letters and digits.
SECRET_LENGTH = (8, 200)


class ChannelError(TrackerError):
    """Robot settings that are refused; ``field`` names what is wrong: ``vendor``, ``url``
    or ``secret``."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def allowed_hosts(config) -> frozenset[str]:
    """TRACKER_WEBHOOK_ALLOWED_HOSTS, checked (a WebhookError says what is wrong)."""
    value = config.get("WEBHOOK_ALLOWED_HOSTS")
    if isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(str(v) for v in value)
    return parse_allowed_hosts(None if value is None else str(value))


def more_url(config, unit_id: int) -> str:
    """The page of all the unit's open work, linked from its robot messages (the task list
    narrows to the reader's unit for the unit's own people)."""
    return f"{config['BASE_URL'].rstrip('/')}/tasks?unit={unit_id}&status=pending"


def webhook_of(vendor: Vendor, url: str, allowed: frozenset[str]) -> Webhook:
    """The stored address, checked again as it is about to be used."""
    return parse_webhook(url, allowed, vendor)


def pace_from_outbox(session, robots: list[str], now: datetime) -> list[tuple[str, datetime]]:
    """``(robot, sent_at)`` of what these robots were sent lately, from any process."""
    return [tuple(r) for r in session.execute(
        sa.select(OutboxMessage.robot, OutboxMessage.sent_at)
        .where(OutboxMessage.robot.in_(robots), OutboxMessage.sent_at > now - PACE_MEMORY)
        .order_by(OutboxMessage.sent_at))]


def can_manage_robot(user: User, unit_id: int) -> bool:
    """The coordinator, for any unit; a unit's manager, for theirs."""
    return may_act_for(user, unit_id)


def get_channel(unit_id: int) -> UnitChannel | None:
    """The unit's group robot, or None."""
    return db.session.get(UnitChannel, unit_id)


def _vendor_names() -> str:
    """The registered vendors as the page's language lists them: 企业微信、钉钉或飞书."""
    return format_list([str(v.label) for v in VENDORS.values()], style="or",
                       locale=get_locale() or "zh_Hans_CN")


def parse_vendor(value) -> Vendor:
    """A registered vendor's key (``wecom``, ``dingtalk``, ``feishu``)."""
    try:
        return Vendor(value)
    except ValueError:
        raise ChannelError(_("%(value)s is not a robot kind: choose %(vendors)s.",
                             value=repr(value), vendors=_vendor_names()), "vendor") from None


def clean_secret(vendor: Vendor, secret: str | None) -> str | None:
    """The signing secret as stored, or None; refused where it cannot be right."""
    secret = (secret or "").strip()
    if not secret:
        return None
    table = VENDORS[vendor]
    if table.sign is None:
        raise ChannelError(_("A %(vendor)s robot takes no secret: its key is part of the "
                             "address.", vendor=table.label), "secret")
    if (not secret.isascii() or any(c.isspace() or not c.isprintable() for c in secret)
            or not SECRET_LENGTH[0] <= len(secret) <= SECRET_LENGTH[1]):
        raise ChannelError(_("The secret is not one the robot's settings give (8 to 200 "
                             "plain letters and digits): copy it again."), "secret")
    if not secret.startswith(table.secret_prefix):
        raise ChannelError(_("A %(vendor)s signing secret starts with %(prefix)s: copy it "
                             "again from the robot's security settings.", vendor=table.label,
                             prefix=table.secret_prefix), "secret")
    return secret


def set_channel(unit: Unit, vendor, url: str | None, secret: str | None = None, *,
                keep_secret: bool = False, by: User | None = None,
                now: datetime) -> UnitChannel:
    """Give the unit a group robot, or change it.

    ``url`` None or blank keeps the stored address (same vendor only); with
    ``keep_secret`` a blank ``secret`` keeps the stored one. The address is
    refused unless it is a vendor's robot address (or on an allowed host).
    """
    vendor = parse_vendor(vendor)
    channel = get_channel(unit.id)
    same = channel is not None and channel.vendor == vendor
    url = (url or "").strip()
    if not url:
        if not same:
            raise ChannelError(_("Give the robot's webhook address."), "url")
        url = channel.webhook_url
    try:
        webhook = parse_webhook(url, allowed_hosts(current_app.config), vendor)
    except WebhookError as exc:
        raise ChannelError(_("This robot address is refused: %(reason)s.", reason=str(exc)),
                           "url") from None
    if keep_secret and not (secret or "").strip() and same:
        secret = channel.secret
    secret = clean_secret(vendor, secret)
    if channel is None:
        channel = UnitChannel(unit_id=unit.id)
        db.session.add(channel)
    changed_vendor = channel.vendor is not None and channel.vendor != vendor
    channel.vendor, channel.webhook_url, channel.secret = vendor, webhook.url, secret
    if channel.robot != webhook.robot_id:
        channel.robot, channel.held_until = webhook.robot_id, None
    channel.updated_at, channel.updated_by_id = now, by.id if by else None
    db.session.flush()
    if changed_vendor:
        # Messages waiting were written for the other vendor's format.
        for message in db.session.scalars(sa.select(OutboxMessage).where(
                OutboxMessage.unit_id == unit.id, OutboxMessage.channel == Channel.ROBOT,
                OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.FAILED]))):
            rebuild_robot_message(message, unit, vendor, now)
    db.session.flush()
    return channel


def remove_channel(unit: Unit) -> bool:
    """Take the unit's group robot away, with the messages still waiting for it (their
    reminders go to the robot again if one is set up the same day); False if it had none."""
    channel = get_channel(unit.id)
    if channel is None:
        return False
    db.session.execute(sa.delete(OutboxMessage).where(
        OutboxMessage.unit_id == unit.id, OutboxMessage.channel == Channel.ROBOT,
        OutboxMessage.status == OutboxStatus.QUEUED))
    db.session.delete(channel)
    db.session.flush()
    return True


def rebuild_robot_message(message: OutboxMessage, unit: Unit, vendor: Vendor,
                          now: datetime) -> None:
    """Write a robot message again from the ledger: for ``vendor``, with the unit's and
    the tasks' names as they are now (a message without reminders stays as it was)."""
    tasks = db.session.scalars(
        sa.select(Task).join(ReminderLedgerEntry, ReminderLedgerEntry.task_id == Task.id)
        .where(ReminderLedgerEntry.outbox_id == message.id).order_by(Task.id)).all()
    if not tasks:
        return
    config = current_app.config
    today = local_today(now, config["TIMEZONE"])
    items = [RobotItem(t.id, t.title, t.due_date) for t in tasks]
    message.subject = headline(unit.name, items, today)[:300]
    message.recipient = unit.name[:254]
    message.message = build_payload(vendor, unit.name, items, today=today,
                                    base_url=config["BASE_URL"],
                                    more_url=more_url(config, unit.id))


def send_test(unit: Unit, now: datetime) -> Outcome:
    """Post a test message to the unit's group robot at once and say what it answered.

    Paced like the day's messages (a robot that had its fill this minute, or asked to
    wait, is not asked); a message the robot took is recorded as sent, for the pace.
    """
    channel = get_channel(unit.id)
    if channel is None:
        raise TrackerError(_("The unit has no group robot."))
    config = current_app.config
    try:
        webhook = webhook_of(channel.vendor, channel.webhook_url, allowed_hosts(config))
    except WebhookError as exc:
        raise TrackerError(_("This robot address is refused: %(reason)s.", reason=str(exc))
                           ) from None
    pacer = Pacer()
    for _robot, at in pace_from_outbox(db.session, [channel.robot], now):
        pacer.sent(webhook, at)
    held = db.session.scalar(sa.select(sa.func.max(UnitChannel.held_until))
                             .where(UnitChannel.robot == channel.robot))
    if held is not None:
        pacer.hold(webhook, held)
    wait = pacer.delay(webhook, now)
    if wait > timedelta(0):
        raise TrackerError(_("The robot has had as many messages as it takes for now: try "
                             "again in %(seconds)d seconds.",
                             seconds=math.ceil(wait.total_seconds())))
    payload = build_test_payload(channel.vendor, unit.name, link=more_url(config, unit.id))
    outcome = send(webhook, payload, secret=channel.secret, now=now,
                   timeout=config["REMINDERS_ROBOT_TIMEOUT_SECONDS"])
    if outcome.status == Status.SENT:
        db.session.add(OutboxMessage(
            key=f"robot-test:{unit.id}:{now.isoformat()}:{secrets.token_hex(3)}",
            channel=Channel.ROBOT, unit_id=unit.id, recipient=unit.name[:254],
            subject=test_heading(unit.name)[:300], message_id="", message=payload,
            robot=webhook.robot_id, status=OutboxStatus.SENT, attempts=1, next_attempt_at=now,
            created_at=now, sent_at=now))
    elif outcome.retry_after:
        db.session.execute(sa.update(UnitChannel).where(UnitChannel.robot == channel.robot)
                           .values(held_until=now + outcome.retry_after))
    db.session.flush()
    return outcome


def channel_names(unit_ids: list[int]) -> dict[int, str]:
    """Which vendor's robot each of these units has (units without one are left out)."""
    return {unit_id: NAMES[Vendor(vendor)] for unit_id, vendor in db.session.execute(
        sa.select(UnitChannel.unit_id, UnitChannel.vendor)
        .where(UnitChannel.unit_id.in_(unit_ids)))}


def recent_robot_messages(unit_id: int, limit: int = 10) -> list[OutboxMessage]:
    """The unit's latest robot messages (newest first), for its robot page."""
    return list(db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.unit_id == unit_id,
                                       OutboxMessage.channel == Channel.ROBOT)
        .order_by(OutboxMessage.id.desc()).limit(limit)))

