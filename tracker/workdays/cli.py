"""``tracker workdays``: the working-day calendar and the coordinator's overrides."""

import json

import click

from tracker.core.cli import TrackerGroup, format_table
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.extensions import db
from tracker.workdays.calendar import schedule_known
from tracker.workdays.services import set_override, unset_override, work_calendar

workdays_cli = TrackerGroup("workdays", help="Working days: holidays, 调休, overrides.")

DATE = click.DateTime(formats=["%Y-%m-%d"])


def unknown_year_note(year: int) -> str:
    """What to say of a year whose holidays the package does not know yet."""
    return (f"The State Council's holiday schedule for {year} is not known to this version "
            f"of chinese-calendar: only weekends are days off. Add the holidays and adjusted "
            f"working days as overrides, e.g. `tracker workdays set {year}-10-01 off "
            f"--name 国庆节`, or upgrade chinese-calendar once it carries {year}.")


@workdays_cli.command("list")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def list_days(year, fmt):
    """Every date of the year that differs from Monday to Friday: holidays, adjusted working
    days (调休) and overrides."""
    from datetime import date

    days = work_calendar().special_days(date(year, 1, 1), date(year, 12, 31))
    if not schedule_known(year):
        click.echo(unknown_year_note(year), err=True)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in days], ensure_ascii=False, indent=2))
        return
    click.echo(format_table(["date", "day", "working", "name", "source"], [
        [d.day.isoformat(), d.day.strftime("%a"), "yes" if d.working else "no", d.name,
         d.source] for d in days]))


@workdays_cli.command("set")
@click.argument("day", type=DATE, metavar="DATE")
@click.argument("state", type=click.Choice(["off", "on"]))
@click.option("--name", default="", help="What the day is, e.g. 国庆节 or 调休上班.")
def set_day(day, state, name):
    """Make DATE a day off or a working day; open tasks due then move at once."""
    set_override(day.date(), state == "on", name, None, utcnow())
    db.session.commit()
    click.echo(f"{day:%Y-%m-%d} is a {'working day' if state == 'on' else 'day off'}"
               + (f" ({name})" if name else "") + ".")


@workdays_cli.command("unset")
@click.argument("day", type=DATE, metavar="DATE")
def unset_day(day):
    """Give DATE back to the State Council's schedule."""
    if not unset_override(day.date(), utcnow()):
        raise TrackerError(f"{day:%Y-%m-%d} has no override")
    db.session.commit()
    click.echo(f"{day:%Y-%m-%d} follows the schedule again.")
