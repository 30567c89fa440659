"""The seam between deciding reminders and carrying them: a registry of transports.

The dispatch pass decides what is due (the ledger records each reminder once: per
person, or per unit for its group) and hands it to every registered transport of
that audience; each says what becomes of it. Built in: ``mail`` (a person's mails:
tracker.reminders.mail_delivery), ``robot`` (a unit's group robot, whatever its vendor:
tracker.reminders.robot_delivery; the vendors are tables in tracker.reminders.vendors)
and ``inbox`` (each person's inbox in the app: tracker.reminders.inbox).

A transport is a subclass of ``Transport`` registered with ``@register``. It says

* ``name``: stored in ``reminder_outbox.channel`` for its messages (at most 20
  characters; a stored name must keep its transport);
* ``audience``: whose reminders it carries, a person's or a unit group's;
* ``reach``: whom of the audience it can reach, and at what address;
* ``messages``/``render``: how the reminders due to each become its outbox messages;
* ``recorded``: what it keeps of reminders without the outbox (the inbox);
* ``notice``: what it makes of a one-off notice (work returned, a feedback sheet);
* ``send``, its failure sorted into an ``Outcome``, and ``pace``: how one message goes
  (the default ``deliver`` claims, paces, sends and marks each); a transport with a
  connection to keep or receivers to pace one by one has its own ``deliver``.

A pass calls the transports in ``order`` (mail, robots, inbox, then the others).
"""

import enum
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tracker.reminders.backends import SendFailure
from tracker.reminders.models import OutboxStatus
from tracker.reminders.outbox import (MARK_SENT, OUTBOX, Claimed, DispatchReport, claim,
                                      record_failure)
from tracker.reminders.pace import Pacer
from tracker.reminders.rules import Point, Rule


class Audience(enum.StrEnum):
    """Whose reminders a transport carries."""

    #: Each person's: their unit's work (and the coordinator's, every unit's overdue work).
    PERSON = "person"
    #: Each unit's group: the unit's own work.
    UNIT = "unit"


@dataclass(frozen=True)
class DueTask:
    """A task a reminder is about, as the pass read it."""

    id: int
    unit_id: int
    unit: str
    title: str
    title_en: str
    due: date
    rule: Rule
    status: str


@dataclass(frozen=True)
class Person:
    """Someone who takes reminders (``mode`` and ``hour``: their reminder settings)."""

    id: int
    email: str
    name: str
    locale: str | None
    role: Any
    unit_id: int | None
    mode: Any
    hour: int


@dataclass(frozen=True)
class Group:
    """A unit's group."""

    id: int
    name: str


#: One reminder: the task, and the point (kind and day) it is for.
Reminder = tuple[DueTask, Point]


@dataclass
class Due:
    """The reminders due for one person or group, on the day (plan timezone) they are for."""

    to: Person | Group
    day: date
    reminders: list[Reminder]
    #: What the transport's ``reach`` gave for it (an address); None if it reaches all.
    address: Any = None


@dataclass
class Message:
    """An outbox message a transport makes of reminders (or of a notice)."""

    key: str
    recipient: str
    subject: str
    #: The message as sent. None: it cannot be written now (a stored address a header
    #: cannot hold): it is not queued, and its reminders are not recorded, so they are
    #: tried again by later passes.
    data: bytes | None
    #: The reminders it carries.
    reminders: list[Reminder] = field(default_factory=list)
    user_id: int | None = None
    unit_id: int | None = None
    message_id: str = ""
    #: The receiver whose pace it keeps (a group robot), if the transport paces by receiver.
    robot: str | None = None
    #: The transport's own, for ``render``.
    context: Any = None


class Status(enum.StrEnum):
    """What became of a message."""

    SENT = "sent"
    RETRY = "retry"  # not now: the same message again later
    FAILED = "failed"  # never: the address, key, signature or message is wrong


@dataclass(frozen=True)
class Outcome:
    """What a receiver's answer means for the message."""

    status: Status
    error: str | None = None
    #: After a rate limit: the least wait before the receiver takes another message.
    retry_after: timedelta | None = None

    def failure(self) -> SendFailure | None:
        """The outcome in the outbox's terms (None: sent)."""
        if self.status == Status.SENT:
            return None
        return SendFailure(self.status == Status.FAILED, False, self.error or "")


@dataclass(frozen=True)
class Returned:
    """A notice: the coordinator returned ``task`` for rework (the ``number``-th time)."""

    task: Any
    reviewer: Any
    comment: str
    #: The unit's people to tell: ``(user, reminder mode or None)``.
    people: list
    number: int
    today: date


@dataclass(frozen=True)
class FeedbackIssued:
    """A notice: the unit's 问题反馈单 of ``year`` was issued (the ``number``-th time)."""

    unit: Any
    year: int
    #: The sheet's site path, and its whole address.
    path: str
    url: str
    summary: str
    #: The 整改 tasks it set.
    tasks: list
    people: list
    number: int
    today: date


class Transport:
    """A way reminders reach people or groups; subclass it and ``@register`` an instance's
    class. Everything but ``name`` and ``audience`` has a default that does nothing."""

    name: str
    audience: Audience
    #: Where in a pass it comes: queued, then sent, after the transports of a lower order.
    order: int = 100
    #: Whether it keeps its messages in the outbox (the inbox does not).
    outbox: bool = True
    #: The most messages it takes in a window, ``(count, window)`` pairs; () for no limit.
    pace: tuple[tuple[int, timedelta], ...] = ()

    @property
    def pace_key(self) -> str:
        """Its messages share one pace (see ``Pacer``)."""
        return self.name

    def check(self, config) -> None:
        """Raise a TrackerError if the config cannot work, before a pass claims anything."""

    def reach(self, session, ids: set[int]) -> dict[int, Any] | None:
        """Of these people (or units), those it can reach, with their address; None: all."""
        return None

    def messages(self, due: list[Due], today: date, now: datetime, config) -> list[Message]:
        """The outbox messages that carry these reminders, in the order to queue them."""
        return []

    def render(self, message: Message, reminders: list[Reminder], today: date, now: datetime,
               config) -> tuple[str, bytes]:
        """``message`` again with fewer reminders (another pass recorded the others): its
        subject and data."""
        raise NotImplementedError

    def recorded(self, session, due: list[Due], now: datetime) -> None:
        """Keep what it keeps of the reminders this pass recorded, in the pass's
        transaction (the outbox's messages are already queued)."""

    def notice(self, session, notice: Returned | FeedbackIssued, now: datetime,
               config) -> None:
        """Queue (or keep) what it makes of a notice, in the caller's session."""

    def rebuild(self, message, now: datetime) -> None:
        """A failed message of its is about to be queued again: write it anew where the
        recipient or what it tells has changed."""

    def send(self, message: Claimed, config) -> Outcome:
        """Send one message and say what became of it."""
        raise NotImplementedError

    def deliver(self, engine, now: datetime, config, report: DispatchReport, *,
                sleep=time.sleep) -> None:
        """Send its queued messages one by one, each marked in a commit of its own; paced
        by ``pace`` (one that would wait longer than REMINDERS_ROBOT_MAX_WAIT_SECONDS, and
        those after it, go with a later pass). A failure is retried with the mails' delays,
        or fails for good, as its ``Outcome`` says."""
        lease = timedelta(seconds=config["REMINDERS_LEASE_SECONDS"])
        max_wait = timedelta(seconds=config["REMINDERS_ROBOT_MAX_WAIT_SECONDS"])
        started = time.monotonic()

        def clock():
            return now + timedelta(seconds=time.monotonic() - started)

        pacer = Pacer()
        with engine.connect() as marks:
            while batch := claim(engine, now, config["REMINDERS_BATCH_SIZE"], lease, self.name):
                for i, message in enumerate(batch):
                    wait = pacer.delay(self, clock()) if self.pace else timedelta(0)
                    if wait > max_wait:  # the rest go to a later pass
                        marks.execute(sa.update(OUTBOX).where(
                            OUTBOX.c.id.in_([m.id for m in batch[i:]])).values(
                            status=OutboxStatus.QUEUED, next_attempt_at=clock() + wait))
                        marks.commit()
                        return
                    if wait > timedelta(0):
                        sleep(wait.total_seconds())
                    outcome = self.send(message, config)
                    if outcome.status != Status.SENT:
                        record_failure(engine, [message], outcome.failure(), now, report)
                        continue
                    if self.pace:
                        pacer.sent(self, clock())
                    marks.execute(MARK_SENT, {"oid": message.id, "now": now})
                    marks.commit()
                    report.sent.append((message.id, message.recipient, message.subject))


_REGISTRY: dict[str, Transport] = {}


def register(cls: type[Transport]) -> type[Transport]:
    """Class decorator: the transport takes part in every pass from now on (a name
    registered again is replaced: a test may register its own)."""
    transport = cls()
    if not transport.name or len(transport.name) > 20:
        raise ValueError(f"a transport's name is 1 to 20 characters, not {transport.name!r}")
    _REGISTRY[transport.name] = transport
    return cls


def unregister(name: str) -> None:
    """Take a transport out of the passes (a test's, when it is done)."""
    _REGISTRY.pop(name, None)


def transports(audience: Audience | None = None) -> list[Transport]:
    """The registered transports (of ``audience``), in their order."""
    return sorted((t for t in _REGISTRY.values() if audience in (None, t.audience)),
                  key=lambda t: (t.order, t.name))


def transport(name: str) -> Transport | None:
    """The transport of an outbox message's channel, or None."""
    return _REGISTRY.get(name)
