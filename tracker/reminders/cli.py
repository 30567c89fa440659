"""``tracker reminders dispatch|prune``, ``tracker scheduler``, and ``tracker unit channel``
(a unit's group robot, a command of the units' group defined here, where robots are)."""

import logging
import signal
import time
from datetime import timezone

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app
from flask.cli import with_appcontext

from tracker.core import inuse
from tracker.core.cli import CLIError, TrackerGroup, handle_errors, now_option
from tracker.reminders.vendors import VENDORS
from tracker.units.cli import unit_cli

reminders_cli = TrackerGroup("reminders", help="Reminders: e-mails and group robot messages.")


@reminders_cli.command("dispatch")
@now_option("Dispatch as at this instant (without an offset: in the plan timezone).")
def dispatch_command(now):
    """Run one pass: queue the reminders due now, send what is queued, print what was sent.
    Refused while a restore runs; a restore is refused while the pass runs."""
    from tracker.reminders.dispatch import dispatch

    with inuse.holding(current_app):
        report = dispatch(now)
    for _, recipient, subject in report.sent:
        click.echo(f"sent    {recipient}  {subject}")
    for _, recipient, error in report.failed:
        click.echo(f"failed  {recipient}  {error}")
    click.echo(f"{report.queued} queued, {len(report.sent)} sent, {report.retrying} to retry, "
               f"{len(report.failed)} failed.")


@reminders_cli.command("prune")
@click.option("--keep-days", type=click.IntRange(1, 36_500), metavar="DAYS",
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
    inuse.hold(app)  # a restore waits until the scheduler stops
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


def _vendor_options(command):
    """An option ``--<vendor> URL`` for each robot vendor, in the vendors' order."""
    for vendor in reversed(VENDORS.values()):
        command = click.option(f"--{vendor.key}", metavar="URL",
                               help=f"A {vendor.name} ({vendor.native}) group robot's webhook "
                                    "address.")(command)
    return command


def _either(names: list[str]) -> str:
    return " or ".join(", ".join(names).rsplit(", ", 1))


@unit_cli.command("channel")
@click.argument("name")
@_vendor_options
@click.option("--secret", metavar="S",
              help="The robot's signing secret: DingTalk's 加签 (SEC...) or Feishu's.")
@click.option("--none", "remove", is_flag=True, help="Take the unit's group robot away.")
@click.option("--test", is_flag=True, help="Then post a test message to the robot.")
def channel_command(name, secret, remove, test, **urls):
    """Set, show or remove a unit's group robot; the address is shown masked, the secret
    never."""
    from tracker.core.timeutil import utcnow
    from tracker.extensions import db
    from tracker.reminders.channels import get_channel, remove_channel, send_test, set_channel
    from tracker.reminders.robots import NAMES
    from tracker.reminders.transports import Status
    from tracker.units.services import get_unit

    given = [(vendor, urls[vendor]) for vendor in VENDORS if urls[vendor] is not None]
    if len(given) + remove > 1:
        raise CLIError(f"give one of {', '.join(f'--{v}' for v in VENDORS)} and --none")
    signing = [v for v in VENDORS.values() if v.sign is not None]
    if secret is not None and not (given and VENDORS[given[0][0]].sign is not None):
        raise CLIError(f"--secret goes with {_either([f'--{v.key}' for v in signing])} (a "
                       f"{_either([v.name for v in VENDORS.values() if v.sign is None])} "
                       "robot signs nothing)")
    for vendor, url in given:
        if not url.strip():
            raise CLIError(f"--{vendor} needs the robot's webhook address")
    unit = get_unit(name)
    now = utcnow()
    if remove:
        removed = remove_channel(unit)
        db.session.commit()
        click.echo(f"{unit.name}: group robot removed." if removed
                   else f"{unit.name} had no group robot.")
    elif given:
        (vendor, url), = given
        channel = set_channel(unit, vendor, url, secret, now=now)
        db.session.commit()
        click.echo(f"{unit.name}: {NAMES[channel.vendor]} robot {channel.masked_url}"
                   f"{' (signed)' if channel.secret else ''} saved.")
    else:
        channel = get_channel(unit.id)
        click.echo(f"{unit.name}: {NAMES[channel.vendor]} robot {channel.masked_url}"
                   f"{' (signed)' if channel.secret else ''}." if channel
                   else f"{unit.name} has no group robot.")
    if test:
        outcome = send_test(unit, now)
        db.session.commit()
        if outcome.status != Status.SENT:
            raise CLIError(f"the robot did not take the test message: {outcome.error}")
        click.echo("The robot took the test message.")
