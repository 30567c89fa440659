"""``tracker unit``: add, import and list units."""

from pathlib import Path

import click
import sqlalchemy as sa

from tracker.core import signals
from tracker.core.cli import TrackerGroup, emit
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.units.models import Unit, UnitKind
from tracker.units.services import add_units, clean_name, parse_kind, read_units_csv

unit_cli = TrackerGroup("unit", help="Units: the branches, offices and enterprises.")


def _add_and_report(entries):
    units = add_units(entries)
    # The tasks area gives the new units their tasks for every loaded year.
    made = [f"{count} for {what}" for result in signals.values(
        signals.units_added.send(units, now=utcnow())) for what, count in result]
    db.session.commit()
    return units, (f"; tasks made: {', '.join(made)}" if made else "")


@unit_cli.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in UnitKind]),
              help="village (村党（总）支部), community (居民区党支部), branch (other party "
                   "branches, e.g. 机关党支部), office (机关科室), enterprise (镇属企事业单位) or "
                   "coordinator (the propaganda office).")
def add(name, kind):
    """Add a unit; it gets its tasks for every year a plan is loaded for."""
    units, tasks = _add_and_report([(clean_name(name), parse_kind(kind))])
    click.echo(f"Added unit {units[0].name} ({kind}){tasks}.")


@unit_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_units(file):
    """Import units from a CSV file with the header name,kind (all or nothing)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise TrackerError(f"{file}: cannot read the file: {exc.strerror}") from None
    units, tasks = _add_and_report(read_units_csv(data, str(file)))
    click.echo(f"Imported {len(units)} units{tasks}.")


@unit_cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
def list_units(fmt):
    """List the units."""
    units = db.session.scalars(sa.select(Unit).order_by(Unit.kind, Unit.name)).all()
    emit([{"id": u.id, "name": u.name, "kind": u.kind.value, "active": u.active} for u in units],
         fmt, ["id", "name", "kind", "active"])
