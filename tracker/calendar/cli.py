"""``tracker ics export`` and ``tracker feed issue|revoke``."""

from pathlib import Path

import click
import sqlalchemy as sa

from tracker.auth.models import Role
from tracker.tasks.scope import task_scope
from tracker.auth.services import get_user
from tracker.calendar import ical
from tracker.calendar.queries import FeedFilters, calendar_name, export_ics, feed_options
from tracker.calendar.services import feed_urls, issue_token, revoke_token
from tracker.core.cli import TrackerGroup
from tracker.core.errors import TrackerError
from tracker.core.i18n import DEFAULT_LOCALE, language
from tracker.core.timeutil import utcnow
from tracker.core.web import today
from tracker.extensions import db
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.tasks.models import Task
from tracker.units.services import get_unit

ics_cli = TrackerGroup("ics", help="Calendar files (.ics).")
feed_cli = TrackerGroup("feed", help="Users' calendar subscription feeds.")


@ics_cli.command("export")
@click.option("--unit", "unit_name", help="Only this unit's tasks.")
@click.option("--user", "email", help="What this user may see (their feed's content).")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), help="Only this year.")
@click.option("--kind", type=click.Choice(ical.KINDS), default=ical.KIND_EVENT,
              show_default=True, help="VEVENT (every calendar) or VTODO (task lists).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .ics file to write.")
def export(unit_name, email, year, kind, output):
    """Write the tasks as an .ics calendar: all of them, one unit's, or one user's view."""
    if unit_name and email:
        raise TrackerError("give --unit or --user, not both")
    locale = DEFAULT_LOCALE
    if unit_name:
        unit = get_unit(unit_name)
        scope, name = Task.unit_id == unit.id, calendar_name(unit.name)
    elif email:
        user = get_user(email)
        if not user.active:
            raise TrackerError(f"{user.email} is deactivated and may see no tasks")
        scope, locale = task_scope(user), language(user.locale)  # as the user's feed
        unit = user.unit if user.role != Role.ADMIN else None
        name = calendar_name(unit.name if unit else None, locale)
    else:
        scope, name = sa.true(), calendar_name()
    data = export_ics(scope, FeedFilters(year=year), feed_options(kind=kind, locale=locale),
                      name, today(), cache=None)
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise TrackerError(f"cannot write {output}: {exc.strerror}") from None
    events = data.count(b"BEGIN:VTODO" if kind == ical.KIND_TODO else b"BEGIN:VEVENT")
    click.echo(f"Wrote {output} ({events} {'to-dos' if kind == ical.KIND_TODO else 'events'}).")


@feed_cli.command("issue")
@click.argument("email")
def issue(email):
    """Make a new feed URL for a user (the old one stops working); printed once."""
    user = get_user(email)
    secret = issue_token(user, utcnow())
    db.session.commit()
    urls = feed_urls(secret)
    click.echo(f"Calendar feed of {user.email} (shown once; any earlier URL no longer works):")
    click.echo(f"  {urls.https}")
    click.echo(f"  {urls.webcal}")


@feed_cli.command("revoke")
@click.argument("email")
def revoke(email):
    """Stop a user's feed URL from working."""
    user = get_user(email)
    revoked = revoke_token(user, utcnow())
    db.session.commit()
    click.echo(f"Revoked the calendar feed of {user.email}." if revoked
               else f"{user.email} had no active calendar feed.")
