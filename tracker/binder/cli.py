"""``tracker binder export`` (the 工作台账) and ``tracker stats`` (the year in figures)."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from tracker.assessment.services import assessed_units
from tracker.binder import stats
from tracker.binder.collect import collect
from tracker.binder.exports import TOWN, UNIT, TownBinder, UnitBinder
from tracker.core import exports
from tracker.core.cli import (FormatChoice, TrackerGroup, emit, handle_errors, output_export,
                              write_export)
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.phases.services import plan_for_year
from tracker.units.services import get_unit

binder_cli = TrackerGroup("binder", help="The 工作台账: each unit's evidence filed by rubric row.")


@binder_cli.command("export")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="One unit's binder (default: the town's ZIP, a "
              "folder per unit).")
@click.option("--without-pdf", is_flag=True, help="ZIP only: leave out the binder PDF(s) "
              "(the files and the 目录 only; much faster for a whole town).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="FILE.pdf (one unit) or FILE.zip.")
def export_binder(year, unit_name, without_pdf, output):
    """Write a unit's binder as PDF or ZIP, or the town's ZIP."""
    export = exports.for_file(UNIT if unit_name else TOWN, output)
    if export is None:
        output_export(UNIT, output)  # an extension no binder is written as: named
        town = exports.either([e.extension for e in exports.exports_of(TOWN, cli=True)])
        raise TrackerError(f"a {output.suffix.lstrip('.').upper()} holds one unit's binder: "
                           f"give --unit NAME, or write the town's binders to a {town}")
    if without_pdf and export.extension != ".zip":
        raise TrackerError("--without-pdf goes with a .zip")
    plan_for_year(year)  # refuse a year without a plan before writing anything
    now = utcnow()
    if unit_name:
        binder = collect(get_unit(unit_name), year, now)
        size = write_export(export, UnitBinder(binder, with_pdf=not without_pdf), output)
        click.echo(f"Wrote {output}: {binder.unit.name}, {year}, {len(binder.rows)} rows, "
                   f"{sum(len(r.files) for r in binder.rows)} evidence files ({size} bytes).")
        return
    units = assessed_units()
    size = write_export(export, TownBinder([u.id for u in units], year, now,
                                           with_pdf=not without_pdf), output)
    click.echo(f"Wrote {output}: {len(units)} units, {year} ({size} bytes).")


@click.command("stats")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--unit", "unit_name", help="Only this unit (default: every assessed unit).")
@click.option("--format", "fmt", type=FormatChoice(), default="table")
@with_appcontext
@handle_errors
def stats_command(year, unit_name, fmt):
    """The year in figures: per unit and duty, sessions held, attendance, marked sessions,
    work accepted on time and late, work returned."""
    plan = plan_for_year(year)
    units = [get_unit(unit_name)] if unit_name else assessed_units()
    rows = stats.figures(plan, year, units)
    emit([r.as_dict() for r in rows], fmt, stats.COLUMNS)
