"""``tracker unit``: add, import and list units."""

from pathlib import Path

import click
import sqlalchemy as sa

from tracker.core import signals
from tracker.core.cli import FormatChoice, TrackerGroup, emit
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.extensions import db
from tracker.units.models import RowRuleMode, Unit, UnitKind
from tracker.units.services import (add_units, clean_name, clear_row_rule, get_unit, parse_kind,
                                    read_units_csv, set_party_org, set_row_rule)

unit_cli = TrackerGroup("unit", help="Units: the branches, offices and enterprises.")


#: Units given their tasks at a time: a batch's tasks are written, then let go of, so that
#: a large import holds a batch's objects in memory, not all of them (one transaction still).
TASK_BATCH = 200


def _add_and_report(entries, party_org=None):
    units = add_units(entries)
    for unit in units if party_org is not None else ():
        set_party_org(unit, party_org)
    count, now, made = len(units), utcnow(), {}
    ids = [unit.id for unit in units]
    for start in range(0, len(ids), TASK_BATCH):
        batch = db.session.scalars(sa.select(Unit).where(
            Unit.id.in_(ids[start:start + TASK_BATCH])).order_by(Unit.id)).all()
        # The tasks area gives the new units their tasks for every loaded year.
        for result in signals.values(signals.units_added.send(batch, now=now)):
            for what, created in result:
                made[what] = made.get(what, 0) + created
        db.session.flush()
        db.session.expunge_all()
    db.session.commit()
    report = [f"{created} for {what}" for what, created in made.items()]
    return count, (f"; tasks made: {', '.join(report)}" if report else "")


@unit_cli.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in UnitKind]),
              help="village (村党（总）支部), community (居民区党支部), branch (other party "
                   "branches, e.g. 机关党支部), office (机关科室), enterprise (镇属企业), "
                   "institution (镇属事业单位) or coordinator (the propaganda office).")
@click.option("--party-org", "party_org", metavar="NAME",
              help="The party organisation the unit belongs to (its 党支部): the rubric "
                   "rows that are a party organisation's are asked of it, once.")
def add(name, kind, party_org):
    """Add a unit; it gets its tasks for every year a plan is loaded for."""
    name = clean_name(name)
    org = get_unit(party_org) if party_org else None
    _count, tasks = _add_and_report([(name, parse_kind(kind))], org)
    click.echo(f"Added unit {name} ({kind}){tasks}.")


@unit_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_units(file):
    """Import units from a CSV file with the header name,kind (all or nothing; at most
    5,000 a file)."""
    count, tasks = _add_and_report(read_units_csv(file, str(file)))
    click.echo(f"Imported {count} units{tasks}.")


@unit_cli.command("list")
@click.option("--format", "fmt", type=FormatChoice(), default="table")
def list_units(fmt):
    """List the units."""
    units = db.session.scalars(sa.select(Unit).order_by(Unit.kind, Unit.name)).all()
    emit([{"id": u.id, "name": u.name, "kind": u.kind.value, "active": u.active} for u in units],
         fmt, ["id", "name", "kind", "active"])


def _row_rule(name: str, code: str, year: int, mode: RowRuleMode, reason: str,
              clear: bool) -> None:
    """Set (or with ``clear`` undo) an exemption or inclusion; the tasks area follows, and
    what it made is reported."""
    unit, now = get_unit(name), utcnow()
    if clear:
        clear_row_rule(unit, year, code)
        said = "follows the unit's kind again"
    else:
        set_row_rule(unit, year, code, mode, reason, None, now)
        said = (f"does not apply ({reason})" if mode == RowRuleMode.EXEMPT else "applies")
    made = [count for result in signals.values(signals.units_changed.send([unit], now=now))
            for _what, count in result]
    db.session.commit()
    click.echo(f"{unit.name}: row {code} of {year} {said}"
               + (f"; tasks made: {sum(made)}." if sum(made) else "."))


@unit_cli.command("exempt")
@click.argument("name")
@click.option("--row", "code", required=True, help="The rubric row's code, e.g. 2-8-2.")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--reason", default="", help="Why the row does not apply (shown on the sheet).")
@click.option("--clear", is_flag=True, help="Undo the exemption.")
def exempt(name, code, year, reason, clear):
    """Exempt a unit from a rubric row for a year: its sheet reads 不适用 with the reason,
    and the row's duties ask nothing more of it (open work not yet due is cancelled)."""
    _row_rule(name, code, year, RowRuleMode.EXEMPT, reason, clear)


@unit_cli.command("include")
@click.argument("name")
@click.option("--row", "code", required=True, help="The rubric row's code, e.g. 2-7-1.")
@click.option("--year", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True)
@click.option("--reason", default="", help="Why the unit carries the row (optional).")
@click.option("--clear", is_flag=True, help="Undo the inclusion.")
def include(name, code, year, reason, clear):
    """Give a unit a rubric row its kind does not carry, for a year, with the duties that
    serve it (their tasks are made at once)."""
    _row_rule(name, code, year, RowRuleMode.INCLUDE, reason, clear)
