"""The dispatch pass (and the daily outbox prune) on a schedule (APScheduler 3), and the
lock that keeps the scheduler single.

Two ways to run it, never both on one database (the lock sees to that):

* ``tracker scheduler``: a process of its own (BlockingScheduler), for
  deployments with several web workers;
* inside the development server (``tracker run``), only when SCHEDULER_ENABLED
  is set; never at import, in web workers, in other commands, or in tests.

The schedule lives in memory: a restarted scheduler runs a pass at once, and
the pass catches up on its own (each reminder's latest point is sent if it was
not), so nothing rests on the job store surviving a restart.
"""

import atexit
import fcntl
import hashlib
import logging
from datetime import timezone
from pathlib import Path

import click
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from flask.cli import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from tracker.core.timeutil import utcnow
from tracker.extensions import db

JOB_ID = "tracker.reminders.dispatch"
PRUNE_JOB_ID = "tracker.reminders.prune"
EVIDENCE_JOB_ID = "tracker.tasks.evidence_cleanup"
#: The PostgreSQL advisory lock key of the reminder scheduler (a signed 64-bit number).
LOCK_KEY = int.from_bytes(hashlib.sha256(b"tracker.reminders.scheduler").digest()[:8],
                          "big", signed=True)
LOCK_FILE = "reminders-scheduler.lock"

log = logging.getLogger(__name__)


class SchedulerLock:
    """At most one scheduler per database: a PostgreSQL advisory lock held on a
    connection of its own, or, on SQLite, an exclusive flock on a file in the
    instance folder. Either goes away with the process that held it."""

    def __init__(self, app):
        self.app = app
        self._connection = None
        self._file = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True if this process holds it now."""
        if self.held:
            return True
        with self.app.app_context():
            engine = db.engine
        if engine.dialect.name == "postgresql":
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Out of the pool: closing it really closes the session, and the lock with it.
            connection.detach()
            if connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
                self._connection = connection
                return True
            connection.close()
            return False
        path = Path(self.app.instance_path) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115  (held open as long as the lock)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (a lost database connection loses it)."""
        if self._file is not None:
            return True
        if self._connection is None:
            return False
        try:
            self._connection.scalar(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            self.release()
            return False

    def release(self) -> None:
        """Let another scheduler run."""
        if self._connection is not None:
            try:
                self._connection.close()
            except sa.exc.DBAPIError:
                pass
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the file drops the flock
            self._file = None


def beat(now) -> None:
    """Record that the scheduler is alive (shown by /healthz)."""
    from tracker.reminders.models import SchedulerHeartbeat

    heartbeat = db.session.get(SchedulerHeartbeat, "reminders")
    if heartbeat is None:
        db.session.add(SchedulerHeartbeat(name="reminders", beat_at=now))
    else:
        heartbeat.beat_at = now
    db.session.commit()


def run_dispatch(app, lock: SchedulerLock | None = None) -> None:
    """The scheduled job: one dispatch pass, if this process holds the scheduler lock."""
    from tracker.reminders.dispatch import dispatch

    with app.app_context():
        if lock is not None and not lock.try_acquire():
            log.info("another reminder scheduler runs on this database; this pass is skipped")
            return
        try:
            beat(utcnow())
            report = dispatch(utcnow())
        except Exception:  # a failed pass must not end the scheduler: the next one retries
            log.exception("reminder dispatch pass failed")
            return
        finally:
            db.session.remove()
        log.info("reminders: %d queued, %d sent, %d to retry, %d failed", report.queued,
                 len(report.sent), report.retrying, len(report.failed))


def run_prune(app, lock: SchedulerLock | None = None) -> None:
    """The daily job: drop the text of mails sent long ago (REMINDERS_KEEP_SENT_DAYS),
    and old sign-in records and guess counts (LOGIN_RECORDS_KEEP_DAYS)."""
    from tracker.auth import throttle
    from tracker.reminders.services import prune_sent

    with app.app_context():
        if lock is not None and not lock.try_acquire():
            return
        try:
            now = utcnow()
            pruned = prune_sent(now, app.config["REMINDERS_KEEP_SENT_DAYS"])
            logins = throttle.prune(now, app.config["LOGIN_RECORDS_KEEP_DAYS"])
            db.session.commit()
        except Exception:  # like a failed pass: tomorrow's run tries again
            log.exception("pruning the outbox failed")
            return
        finally:
            db.session.remove()
        log.info("reminders: the text of %d sent mails pruned; %d old sign-in records",
                 pruned, logins)


def run_evidence_cleanup(app, lock: SchedulerLock | None = None) -> None:
    """The nightly job: remove evidence files that interrupted uploads left (no row, or
    half-written), once a day old."""
    from tracker.tasks.services import cleanup_evidence

    with app.app_context():
        if lock is not None and not lock.try_acquire():
            return
        try:
            removed = cleanup_evidence(utcnow())
        except Exception:  # tomorrow's run tries again
            log.exception("cleaning up evidence files failed")
            return
        finally:
            db.session.remove()
        log.info("evidence: %d orphaned files removed", len(removed))


def add_jobs(scheduler, app, lock: SchedulerLock | None, interval: int | None = None):
    """Add (or replace) the one periodic dispatch job, first run now, the daily prune
    (at 03:00 in the plan's timezone) and the evidence cleanup (at 04:00)."""
    scheduler.add_job(
        run_evidence_cleanup, "cron", args=(app, lock), hour=4, timezone=app.config["TIMEZONE"],
        id=EVIDENCE_JOB_ID, name="evidence cleanup", replace_existing=True, coalesce=True,
        max_instances=1, misfire_grace_time=app.config["REMINDERS_MISFIRE_GRACE_SECONDS"])
    scheduler.add_job(
        run_prune, "cron", args=(app, lock), hour=3, timezone=app.config["TIMEZONE"],
        id=PRUNE_JOB_ID, name="outbox prune", replace_existing=True, coalesce=True,
        max_instances=1, misfire_grace_time=app.config["REMINDERS_MISFIRE_GRACE_SECONDS"])
    return scheduler.add_job(
        run_dispatch, "interval", args=(app, lock),
        seconds=interval or app.config["REMINDERS_INTERVAL_SECONDS"],
        id=JOB_ID, name="reminder dispatch", replace_existing=True,
        # A late or missed run (a stalled process, a sleeping laptop) runs once, late:
        # the pass catches up by itself.
        coalesce=True, max_instances=1,
        misfire_grace_time=app.config["REMINDERS_MISFIRE_GRACE_SECONDS"],
        next_run_time=utcnow())


def serving_with_flask_run() -> bool:
    """Whether this process is the one ``tracker run`` serves from (not the reloader's parent)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


def start_in_app(app) -> BackgroundScheduler:
    """Run the jobs in a background thread of this process."""
    scheduler = BackgroundScheduler(timezone=timezone.utc, daemon=True)
    add_jobs(scheduler, app, SchedulerLock(app))
    scheduler.start()
    atexit.register(lambda: scheduler.running and scheduler.shutdown(wait=False))
    app.extensions["reminders.scheduler"] = scheduler
    return scheduler
