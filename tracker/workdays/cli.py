"""``tracker workdays``: the working-day calendar and the coordinator's overrides."""

import json

import click

from tracker.core.cli import TrackerGroup, format_table
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.extensions import db
from tracker.workdays.services import (import_notice, notice_changes, set_override,
                                       unset_override, work_calendar, year_confirmed)

workdays_cli = TrackerGroup("workdays", help="Working days: holidays, 调休, overrides.")

DATE = click.DateTime(formats=["%Y-%m-%d"])


def unknown_year_note(year: int) -> str:
    """What to say of a year whose holidays are unconfirmed (no notice, not in the package)."""
    return (f"{year} is unconfirmed: the State Council's holiday schedule for {year} is not "
            f"known to this version of chinese-calendar and its notice has not been imported, "
            f"so only weekends are days off. Import the notice once it is published "
            f"(`tracker workdays import NOTICE.txt --year {year}`), or add the days as "
            f"overrides, e.g. `tracker workdays set {year}-10-01 off --name 国庆节`.")


@workdays_cli.command("list")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def list_days(year, fmt):
    """Every date of the year that differs from Monday to Friday: holidays, adjusted working
    days (调休) and overrides."""
    from datetime import date

    days = work_calendar().special_days(date(year, 1, 1), date(year, 12, 31))
    confirmed = year_confirmed(year)
    if not confirmed:
        click.echo(unknown_year_note(year), err=True)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() | {"source": d.source, "confirmed": confirmed}
                               for d in days], ensure_ascii=False, indent=2))
        return
    if not confirmed:
        click.echo(f"{year}: unconfirmed (only weekends and overrides)")
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


@workdays_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR),
              help="The notice's year, where its text does not name it (else checked).")
@click.option("--dry-run", is_flag=True, help="Print what would be set; change nothing.")
def import_days(file, year, dry_run):
    """Set a year's holidays and adjusted working days from the State Council's notice
    (国务院办公厅关于YYYY年部分节假日安排的通知) as .txt, .html or .docx."""
    from pathlib import Path

    from tracker.workdays.notice import MAX_NOTICE_BYTES, notice_text, read_notice

    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_NOTICE_BYTES + 1)
    except OSError as exc:
        raise TrackerError(f"{file}: cannot read the notice: {exc.strerror}") from None
    notice = read_notice(notice_text(data, Path(file).name), year)
    changes = import_notice(notice, None, utcnow()) if not dry_run else notice_changes(notice)
    click.echo(format_table(["date", "day", "working", "name", "change"], [
        [c.day.isoformat(), c.day.strftime("%a"), "yes" if c.working else "no", c.name,
         c.action] for c in changes]))
    kept = sum(c.action == "kept" for c in changes)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run: nothing set. {notice.year}: {len(notice.days)} days in the "
                   f"notice ({', '.join(notice.holidays())}).")
        return
    db.session.commit()
    set_ = sum(c.action in ("new", "changed") for c in changes)
    click.echo(f"{notice.year}: {set_} days set from the notice"
               + (f", {kept} kept as you set them" if kept else "") + ".")
