"""``tracker reminders dispatch`` and ``tracker scheduler``."""

import logging
import signal
import time
from datetime import timezone

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app
from flask.cli import with_appcontext

from tracker.core.cli import TrackerGroup, handle_errors, now_option

reminders_cli = TrackerGroup("reminders", help="Reminder e-mails.")


@reminders_cli.command("dispatch")
@now_option("Dispatch as at this instant (without an offset: in the plan timezone).")
def dispatch_command(now):
    """Run one pass: queue the reminders due now, send what is queued, print what was sent."""
    from tracker.reminders.dispatch import dispatch

    report = dispatch(now)
    for _, recipient, subject in report.sent:
        click.echo(f"sent    {recipient}  {subject}")
    for _, recipient, error in report.failed:
        click.echo(f"failed  {recipient}  {error}")
    click.echo(f"{report.queued} queued, {len(report.sent)} sent, {report.retrying} to retry, "
               f"{len(report.failed)} failed.")


@reminders_cli.command("prune")
@click.option("--keep-days", type=click.IntRange(min=1), metavar="DAYS",
              help="Keep the text of mails sent within this many days "
                   "(default: REMINDERS_KEEP_SENT_DAYS).")
@now_option("Prune as at this instant (without an offset: in the plan timezone).")
def prune_command(keep_days, now):
    """Drop the text of mails sent long ago; the record that they were sent stays."""
    from tracker.extensions import db
    from tracker.reminders.services import prune_sent

    keep_days = keep_days or current_app.config["REMINDERS_KEEP_SENT_DAYS"]
    pruned = prune_sent(now, keep_days)
    db.session.commit()
    click.echo(f"{pruned} sent mails older than {keep_days} days pruned.")


@click.command("scheduler")
@click.option("--interval", type=click.IntRange(min=1), metavar="SECONDS",
              help="Seconds between dispatch passes (default: REMINDERS_INTERVAL_SECONDS).")
@with_appcontext
@handle_errors
def scheduler_command(interval):
    """Run the reminder scheduler in the foreground (one per database; a second one waits)."""
    from tracker.reminders.jobs import SchedulerLock, add_jobs

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    lock = SchedulerLock(app)
    if not lock.try_acquire():
        click.echo("Another reminder scheduler is running on this database; waiting until "
                   "it stops.")
        while not lock.try_acquire():
            time.sleep(app.config["REMINDERS_LOCK_POLL_SECONDS"])
    scheduler = BlockingScheduler(timezone=timezone.utc)
    add_jobs(scheduler, app, lock, interval)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    click.echo(f"Reminder scheduler running: a dispatch pass every "
               f"{interval or app.config['REMINDERS_INTERVAL_SECONDS']} s (Ctrl+C stops it).")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown(wait=False)
    finally:
        lock.release()
