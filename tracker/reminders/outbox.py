"""What every dispatch pass shares, for every transport's messages alike: the retry
schedule, the report, transactions that write, inserts that skip what another pass
wrote, commits that need not wait for the disk, claiming messages to send and recording
a failed try."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tracker.reminders.backends import SendFailure
from tracker.reminders.models import Channel, OutboxMessage, OutboxStatus, ReminderLedgerEntry

#: Waits after the 1st, 2nd, ... temporary failure; after the last one the message fails.
RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

OUTBOX = OutboxMessage.__table__
LEDGER = ReminderLedgerEntry.__table__


@dataclass
class DispatchReport:
    """What one pass did."""

    queued: int = 0
    #: (outbox id, recipient, subject) of each mail the server accepted, and of each robot
    #: message its robot took (the recipient is then the unit and its robot).
    sent: list[tuple[int, str, str]] = field(default_factory=list)
    #: Messages that failed for now and wait for another try.
    retrying: int = 0
    #: (outbox id, recipient, error) of messages that failed for good in this pass.
    failed: list[tuple[int, str, str]] = field(default_factory=list)


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


def insert_ignoring_duplicates(engine, table):
    """An INSERT that skips rows another pass wrote first (ON CONFLICT DO NOTHING)."""
    if engine.dialect.name != "postgresql":
        return sqlite.insert(table).on_conflict_do_nothing()
    # Batches of a few rows: psycopg keeps a statement's conversion only while its text is
    # under 4 KB, and parses a longer one anew each time (SQLAlchemy's default, 1,000 rows
    # a statement, spent more time there than the database did).
    return postgresql.insert(table).on_conflict_do_nothing().execution_options(
        insertmanyvalues_page_size=PG_ROWS_PER_INSERT)


#: Rows per INSERT statement on PostgreSQL (see insert_ignoring_duplicates).
PG_ROWS_PER_INSERT = 20


def sendable(now: datetime, lease: timedelta, channel: str | None = None):
    """Outbox rows due to be sent at ``now`` (of ``channel``, a transport's name, or of any)."""
    due = sa.or_(
        sa.and_(OUTBOX.c.status == OutboxStatus.QUEUED, OUTBOX.c.next_attempt_at <= now),
        # Claimed by a pass that died (or hangs) longer than the lease ago.
        sa.and_(OUTBOX.c.status == OutboxStatus.SENDING, OUTBOX.c.claimed_at < now - lease))
    return due if channel is None else sa.and_(OUTBOX.c.channel == channel, due)


@contextmanager
def no_flush_per_commit(conn):
    """Commits on ``conn`` that survive a crash of this process but need not wait for the
    disk: a power cut or a database crash may undo the last few marks, and those messages
    are sent again (a mail with the same Message-ID); none is lost, nothing is corrupted.

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


@dataclass(frozen=True)
class Claimed:
    """An outbox message a pass took to send."""

    id: int
    recipient: str
    subject: str
    message_id: str
    message: bytes
    attempts: int


def claim(engine, now: datetime, limit: int, lease: timedelta,
          channel: str = Channel.MAIL) -> list[Claimed]:
    """Take up to ``limit`` messages of ``channel`` that are due to be sent, so that no other
    pass sends them: those of a pass that died first, then the queued ones, longest due
    first."""
    columns = (OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.message_id,
               OUTBOX.c.message, OUTBOX.c.attempts)
    mine = OUTBOX.c.channel == channel
    with write_session(engine) as session:
        # Two statements rather than one with sendable()'s OR: each walks its index in the
        # order asked and stops at the limit (with the OR, every claim read and sorted all
        # the queued mails: quadratic in a large pass).
        rows = session.execute(
            sa.select(*columns)
            .where(mine, OUTBOX.c.status == OutboxStatus.SENDING,
                   OUTBOX.c.claimed_at < now - lease)
            .order_by(OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True)).all()
        if len(rows) < limit:
            rows += session.execute(
                sa.select(*columns)
                .where(mine, OUTBOX.c.status == OutboxStatus.QUEUED,
                       OUTBOX.c.next_attempt_at <= now)
                .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(limit - len(rows))
                .with_for_update(skip_locked=True)).all()
        if rows:
            session.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_([r.id for r in rows]))
                            .values(status=OutboxStatus.SENDING, claimed_at=now))
    return [Claimed(*r) for r in rows]


#: Marks one message sent (``oid``, ``now``), on a connection of the pass's own.
MARK_SENT = (sa.update(OUTBOX)
             .where(OUTBOX.c.id == sa.bindparam("oid"))
             .values(status=OutboxStatus.SENT, sent_at=sa.bindparam("now"),
                     attempts=OUTBOX.c.attempts + 1, last_error=None))


def record_failure(engine, messages: list[Claimed], failure: SendFailure, now: datetime,
                   report: DispatchReport) -> None:
    """Record a failed try: another one later, or failed for good."""
    if not messages:
        return
    updates = []
    for message in messages:
        attempts = message.attempts + 1
        if failure.permanent or attempts >= MAX_ATTEMPTS:
            updates.append({"oid": message.id, "new_status": OutboxStatus.FAILED,
                            "new_attempts": attempts, "retry_at": now, "error": failure.error})
            report.failed.append((message.id, message.recipient, failure.error))
        else:
            updates.append({"oid": message.id, "new_status": OutboxStatus.QUEUED,
                            "new_attempts": attempts,
                            "retry_at": now + RETRY_DELAYS[attempts - 1],
                            "error": failure.error})
            report.retrying += 1
    with engine.begin() as conn:
        conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == sa.bindparam("oid")).values(
            status=sa.bindparam("new_status"), attempts=sa.bindparam("new_attempts"),
            next_attempt_at=sa.bindparam("retry_at"), last_error=sa.bindparam("error")),
            updates)
