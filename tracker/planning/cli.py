"""``tracker plan export`` (the plan as loaded for a year) and ``tracker plan rollover``
(next year's draft), on the ``plan`` group."""

from pathlib import Path

import click

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.extensions import db
from tracker.phases.cli import plan_cli
from tracker.planning.services import export_source, rollover

YEAR = click.IntRange(MIN_YEAR, MAX_YEAR)


@plan_cli.command("export")
@click.argument("name")
@click.option("--year", type=YEAR, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The plan file (.toml) to write.")
def export(name, year, output):
    """Write the plan as loaded for a year; it loads back unchanged."""
    source = export_source(name, year)
    try:
        output.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise TrackerError(f"{output}: cannot write: {exc.strerror}") from None
    click.echo(f"Wrote {output}: the plan {name} as loaded for {year}.")


@plan_cli.command("rollover")
@click.option("--year", type=YEAR, required=True, help="The year whose plan to start from.")
@click.option("--to", "to_year", type=YEAR, required=True, help="The year of the new draft.")
def rollover_command(year, to_year):
    """Make next year's draft from a year's published plan (edit it on /plans, then publish)."""
    if to_year <= year:
        raise TrackerError("--to must come after --year")
    draft = rollover(year, to_year, None, utcnow())
    db.session.commit()
    click.echo(f"Draft {draft.name} (version {draft.number} of {to_year}) made from the plan "
               f"of {year}: edit and publish it on /plans.")
