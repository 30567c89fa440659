"""The group robot transport: the day's message to each unit's robot (and the notice of a
feedback sheet), queued; then sent, claimed a robot at a time, paced, the robot's answer
deciding what becomes of each.

A pass claims every due message of a robot at once, and only of robots no other
pass is sending to (claims are taken one pass at a time: an advisory lock on
PostgreSQL, the immediate transaction on SQLite). So one pass at a time talks
to a robot, and it knows what the robot got lately from the outbox (``robot``,
``sent_at``): two passes never send the same message, nor together more than
the robot takes (its vendor's ``pace``). Each message is posted with the unit's
address and secret as they are when it is sent, checked again against the
allowed hosts: a refused address is never asked.

What the robot answers decides (``robots.classify``, from the vendor's table): sent;
tried again later (network errors, busy; a rate limit also holds the robot and
postpones the rest of its messages); or failed at once (a bad key, token or
signature), listed for the coordinator with the failed mails. A message the pacer would make wait
longer than REMINDERS_ROBOT_MAX_WAIT_SECONDS goes back to the queue for a later
pass rather than keeping this one waiting.
"""

import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.reminders.channels import (CHANNELS, allowed_hosts, get_channel, more_url,
                                        pace_from_outbox, rebuild_robot_message, webhook_of)
from tracker.reminders.models import Channel, OutboxMessage, OutboxStatus, UnitChannel
from tracker.reminders.outbox import (MAX_ATTEMPTS, OUTBOX, RETRY_DELAYS, DispatchReport,
                                      no_flush_per_commit, sendable, write_session)
from tracker.reminders.pace import Pacer
from tracker.reminders.robot_text import (RobotItem, feedback_heading, feedback_lines, headline,
                                          sign_for)
from tracker.reminders.robots import (NAMES, WebhookError, build_notice_payload, build_payload,
                                      send)
from tracker.reminders.transports import (Audience, FeedbackIssued, Message, Status, Transport,
                                          register)
from tracker.reminders.vendors import Vendor

#: The PostgreSQL advisory lock that makes robot claims one at a time (a signed 64-bit
#: number; held to the end of the claim's transaction only).
CLAIM_LOCK_KEY = int.from_bytes(hashlib.sha256(b"tracker.reminders.robot-claims").digest()[:8],
                                "big", signed=True)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Robot:
    """A unit's group robot, as a pass finds it."""

    vendor: Vendor
    robot: str


@register
class RobotTransport(Transport):
    """The day's message to each unit's group robot, whatever its vendor; the notice of a
    feedback sheet too."""

    name = Channel.ROBOT.value
    audience = Audience.UNIT
    order = 20

    def reach(self, session, ids):
        """The units that have a group robot, and their robot."""
        if not ids:
            return {}
        return {r.unit_id: _Robot(r.vendor, r.robot) for r in session.execute(
            sa.select(UnitChannel.unit_id, UnitChannel.vendor, UnitChannel.robot)
            .where(UnitChannel.unit_id.in_(sorted(ids))).order_by(UnitChannel.unit_id))}

    def messages(self, due, today, now, config):
        """One message per unit and day."""
        messages = []
        for entry in sorted(due, key=lambda e: e.to.id):
            unit = entry.to
            message = Message(f"robot:{unit.id}:{entry.day.isoformat()}", unit.name[:254],
                              "", b"", entry.reminders, unit_id=unit.id,
                              robot=entry.address.robot, context=(entry.address.vendor, unit))
            message.subject, message.data = self.render(message, entry.reminders, today, now,
                                                        config)
            messages.append(message)
        return messages

    def render(self, message, reminders, today, now, config):
        """The subject (at most 300 characters) and the payload, unsigned."""
        vendor, unit = message.context
        subject, payload = robot_message(vendor, unit.id, unit.name, [t for t, _ in reminders],
                                         today, config)
        return subject[:300], payload

    def notice(self, session, notice, now, config) -> None:
        """A feedback sheet issued: a message to the unit's group robot, if it has one."""
        if not isinstance(notice, FeedbackIssued):
            return
        unit = notice.unit
        channel = get_channel(unit.id)
        if channel is None:
            return
        heading = feedback_heading(unit.name, notice.year)
        session.add(OutboxMessage(
            key=f"feedback:{unit.id}:{notice.year}:{notice.number}:robot", channel=self.name,
            unit_id=unit.id, recipient=unit.name[:254], subject=heading[:300], message_id="",
            message=build_notice_payload(channel.vendor, heading,
                                         feedback_lines(notice.summary, notice.tasks),
                                         link=notice.url, link_text=sign_for()),
            robot=channel.robot, status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now,
            created_at=now))

    def rebuild(self, message, now) -> None:
        """For the unit's robot as it is now (its vendor's format); refused if it has none."""
        channel = get_channel(message.unit_id) if message.unit_id is not None else None
        if channel is None:
            raise TrackerError(_("The unit has no group robot now: set one up on the unit's "
                                 "robot page, then send the message again."))
        rebuild_robot_message(message, message.unit, channel.vendor, now)
        message.robot = channel.robot

    def deliver(self, engine, now, config, report, **kwargs) -> None:
        """Each robot's messages, paced (see the module's docstring)."""
        deliver_robots(engine, now, config, report, **kwargs)


def robot_message(vendor: Vendor, unit_id: int, unit: str, tasks, today: date,
                  config) -> tuple[str, bytes]:
    """The one-line subject and the payload (unsigned) of the day's message for a unit's
    group; ``tasks`` have ``id``, ``title`` and ``due``."""
    items = [RobotItem(t.id, t.title, t.due) for t in tasks]
    return headline(unit, items, today), build_payload(
        vendor, unit, items, today=today, base_url=config["BASE_URL"],
        more_url=more_url(config, unit_id))


@dataclass(frozen=True)
class _Claimed:
    id: int
    unit_id: int | None
    recipient: str
    subject: str
    message: bytes
    attempts: int
    #: The unit's robot as it is now (None: the unit has none any more).
    vendor: Vendor | None
    url: str | None
    secret: str | None
    robot: str | None


def claim_robots(engine, now: datetime, lease: timedelta
                 ) -> tuple[list[_Claimed], list[tuple[str, datetime]]]:
    """Take every due message of each robot that no other pass is sending to and that is
    not held (it answered "too fast"); returns them, and what those robots were sent
    lately, ``(robot, sent_at)``."""
    with write_session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": CLAIM_LOCK_KEY})
        rows = session.execute(
            sa.select(OUTBOX.c.id, OUTBOX.c.unit_id, OUTBOX.c.recipient, OUTBOX.c.subject,
                      OUTBOX.c.message, OUTBOX.c.attempts, CHANNELS.c.vendor,
                      CHANNELS.c.webhook_url, CHANNELS.c.secret, CHANNELS.c.robot)
            .select_from(OUTBOX.outerjoin(CHANNELS, CHANNELS.c.unit_id == OUTBOX.c.unit_id))
            .where(sendable(now, lease, Channel.ROBOT)).order_by(OUTBOX.c.id)).all()
        if not rows:
            return [], []
        busy = set(session.scalars(
            sa.select(OUTBOX.c.robot).distinct()
            .where(OUTBOX.c.channel == Channel.ROBOT, OUTBOX.c.status == OutboxStatus.SENDING,
                   OUTBOX.c.claimed_at >= now - lease, OUTBOX.c.robot.is_not(None))))
        held = set(session.scalars(sa.select(CHANNELS.c.robot).distinct()
                                   .where(CHANNELS.c.held_until > now)))
        taken = [_Claimed(r.id, r.unit_id, r.recipient, r.subject, r.message, r.attempts,
                          Vendor(r.vendor) if r.vendor else None, r.webhook_url, r.secret,
                          r.robot)
                 for r in rows if r.robot is None or (r.robot not in busy
                                                      and r.robot not in held)]
        if not taken:
            return [], []
        session.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id == sa.bindparam("oid"))
            .values(status=OutboxStatus.SENDING, claimed_at=now, robot=sa.bindparam("rid")),
            [{"oid": m.id, "rid": m.robot} for m in taken])
        robots = sorted({m.robot for m in taken if m.robot})
        recent = pace_from_outbox(session, robots, now) if robots else []
    return taken, recent


def deliver_robots(engine, now: datetime, config, report: DispatchReport, *,
                   clock=None, sleep=time.sleep) -> None:
    """Send the robot messages that are due, each robot paced, until none is left that may
    go now. ``clock()`` is the instant while sending (default: ``now`` plus the time
    this call has taken); ``sleep`` waits out short pauses."""
    try:
        allowed = allowed_hosts(config)
    except WebhookError as exc:
        # Not the messages' fault: they wait until the setting is mended.
        log.error("robot messages not sent: %s", exc)
        return
    started = time.monotonic()
    clock = clock or (lambda: now + timedelta(seconds=time.monotonic() - started))
    lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
    claimed, recent = claim_robots(engine, now, lease)
    if not claimed:
        return
    with engine.connect() as marks, no_flush_per_commit(marks):
        _Sender(engine, marks, config, allowed, report, clock, sleep, lease).run(
            claimed, recent)


class _Sender:
    """One pass's sending of the robot messages it claimed."""

    def __init__(self, engine, marks, config, allowed, report, clock, sleep, lease):
        self.engine, self.marks, self.config, self.allowed = engine, marks, config, allowed
        self.report, self.clock, self.sleep = report, clock, sleep
        self.max_wait = timedelta(seconds=config["REMINDERS_ROBOT_MAX_WAIT_SECONDS"])
        self.timeout = config["REMINDERS_ROBOT_TIMEOUT_SECONDS"]
        # Claims are let go well before another pass may take them over: no message is
        # begun past this, and none is still being sent then (each request's whole time is
        # bounded by it).
        self.deadline = clock() + lease / 2
        self.pacer = Pacer()

    def run(self, claimed, recent) -> None:
        queues: dict[str | None, deque[_Claimed]] = {}
        for message in claimed:
            queues.setdefault(message.robot, deque()).append(message)
        for message in queues.pop(None, ()):
            self._fail(message, f"{message.recipient}: the unit has no group robot any more")
        webhooks = {}
        for robot, queue in list(queues.items()):
            first = queue[0]
            try:
                webhooks[robot] = webhook_of(first.vendor, first.url, self.allowed)
            except WebhookError as exc:
                # The address was taken when saved; the allowed hosts have changed since.
                for message in queue:
                    self._fail(message, f"{NAMES[first.vendor]}: {exc}")
                del queues[robot]
        for robot, at in recent:
            if robot in webhooks:
                self.pacer.sent(webhooks[robot], at)
        # Round robin: every robot's first message before any robot's second.
        order = deque(queues)
        while order:
            robot = order.popleft()
            queue, webhook = queues[robot], webhooks[robot]
            wait = self.pacer.delay(webhook, self.clock())
            if wait > self.max_wait:
                self._release(queue, self.clock() + wait, None)
                continue
            if self.clock() + wait >= self.deadline:
                self._release(queue, self.clock(), "not tried: the pass ran out of time")
                for other in order:
                    self._release(queues[other], self.clock(),
                                  "not tried: the pass ran out of time")
                return
            if wait > timedelta(0):
                self.sleep(wait.total_seconds())
            message = queue.popleft()
            if not self._send(message, webhook, queue):
                continue  # the rest of this robot's messages wait
            if queue:
                order.append(robot)

    def _send(self, message: _Claimed, webhook, queue: deque) -> bool:
        """Post one message; False if the robot's other messages must wait."""
        # Each message with its own unit's secret (units may share a group), signed at the
        # real instant whatever instant the pass runs as: the robot checks it against its
        # own clock. The whole request within the pass's deadline: the claim outlives the
        # pass, so no later pass takes the message over while this one still talks to it.
        left = (self.deadline - self.clock()).total_seconds()
        outcome = send(webhook, message.message, secret=message.secret, now=utcnow(),
                       timeout=max(min(self.timeout, left), 0.1))
        at = self.clock()
        if outcome.status == Status.SENT:
            self.pacer.sent(webhook, at)
            self.marks.execute(sa.update(OUTBOX).where(OUTBOX.c.id == message.id).values(
                status=OutboxStatus.SENT, sent_at=at, attempts=OUTBOX.c.attempts + 1,
                last_error=None, robot=webhook.robot_id))
            self.marks.commit()
            self.report.sent.append((message.id, self._who(message), message.subject))
            return True
        if outcome.status == Status.FAILED:
            self._fail(message, outcome.error)
            return True
        attempts = message.attempts + 1
        later = at + max(RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1],
                         outcome.retry_after or timedelta(0))
        if attempts >= MAX_ATTEMPTS:
            self._fail(message, outcome.error, attempts)
        else:
            self._update(message.id, OutboxStatus.QUEUED, attempts, later, outcome.error)
            self.report.retrying += 1
        if outcome.retry_after:
            # "Too fast": nothing more to this robot, from any pass, until it is over.
            until = at + outcome.retry_after
            self.pacer.hold(webhook, until)
            self.marks.execute(sa.update(CHANNELS).where(
                CHANNELS.c.robot == webhook.robot_id,
                sa.or_(CHANNELS.c.held_until.is_(None), CHANNELS.c.held_until < until))
                .values(held_until=until))
            self.marks.commit()
            log.warning("robot %s rate limited; holding it until %s", webhook.robot_id,
                        until.isoformat())
            self._release(queue, until, None)
        else:
            # Unreachable or busy: its other messages would only wait as long.
            self._release(queue, later, None)
        return False

    def _who(self, message: _Claimed) -> str:
        return f"{message.recipient} ({NAMES[message.vendor]})"

    def _fail(self, message: _Claimed, error: str, attempts: int | None = None) -> None:
        attempts = message.attempts + 1 if attempts is None else attempts
        self._update(message.id, OutboxStatus.FAILED, attempts, self.clock(), error)
        self.report.failed.append((message.id, message.recipient, error))

    def _update(self, oid, status, attempts, next_at, error) -> None:
        self.marks.execute(sa.update(OUTBOX).where(OUTBOX.c.id == oid).values(
            status=status, attempts=attempts, next_attempt_at=next_at, last_error=error))
        self.marks.commit()

    def _release(self, queue: deque, at: datetime, error: str | None) -> None:
        """Give these back to the queue, untried, for a pass from ``at`` on."""
        if not queue:
            return
        values = {"status": OutboxStatus.QUEUED, "next_attempt_at": at}
        if error:
            values["last_error"] = error
        self.marks.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_([m.id for m in queue]))
                           .values(**values))
        self.marks.commit()
        queue.clear()
