"""Adding and importing units. Flush, never commit."""

import csv
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from tracker.core.errors import TrackerError
from tracker.core.text import check_text
from tracker.extensions import db
from tracker.phases.kinds import PARTY_ORG_KINDS
from tracker.phases.services import plan_for_year
from tracker.units.models import ASSESSED_KINDS, RowRuleMode, Unit, UnitKind, UnitRowRule

KIND_NAMES = ", ".join(k.value for k in UnitKind)
MAX_NAME = 200
#: Units one import may add: far more than a town has (tens to a few hundred), few enough
#: that their tasks for every loaded year are made in one go.
MAX_IMPORT_ROWS = 5000
#: Longest line of a units CSV (a name, a kind, quotes and spaces).
MAX_LINE = 4096


def parse_kind(value: str) -> UnitKind:
    """A UnitKind from its value, with a message listing the valid ones."""
    try:
        return UnitKind(value.strip().lower())
    except ValueError:
        raise TrackerError(f"unknown unit kind {value!r} (expected {KIND_NAMES})") from None


def clean_name(value: str) -> str:
    """A unit name with surrounding space removed; refused if empty or too long."""
    name = " ".join(check_text(value, _l("The unit name")).split())
    if not name:
        raise TrackerError("a unit needs a name")
    if len(name) > MAX_NAME:
        raise TrackerError(f"unit name longer than {MAX_NAME} characters")
    return name


def get_unit(name: str) -> Unit:
    """The unit of that name, or a TrackerError."""
    unit = db.session.scalar(sa.select(Unit).where(Unit.name == clean_name(name)))
    if unit is None:
        raise TrackerError(f"no unit named {name!r} (see `tracker unit list`)")
    return unit


def set_party_org(unit: Unit, org: Unit | None) -> None:
    """Name the party organisation ``unit`` belongs to (None: none); the rubric rows that
    are a party organisation's own are then asked of it, once."""
    if org is not None:
        if org.id == unit.id:
            raise TrackerError(_("A unit cannot be its own party organisation."))
        if org.kind not in PARTY_ORG_KINDS:
            raise TrackerError(_("%(name)s is not a party organisation (a village, "
                                 "neighbourhood or other party branch).", name=org.name))
        if org.party_org_id is not None:
            raise TrackerError(_("%(name)s belongs to a party organisation itself.",
                                 name=org.name))
        if unit.kind in PARTY_ORG_KINDS:
            raise TrackerError(_("%(name)s is a party organisation itself.", name=unit.name))
    unit.party_org_id = org.id if org is not None else None
    db.session.flush()


def add_units(entries: list[tuple[str, UnitKind]]) -> list[Unit]:
    """Add units; refuse all if any name is taken or repeated."""
    names = [name for name, _ in entries]
    repeated = {n for n, times in Counter(names).items() if times > 1}
    if repeated:
        raise TrackerError(f"unit {sorted(repeated)[0]!r} is listed twice")
    taken = db.session.scalars(sa.select(Unit.name).where(Unit.name.in_(names))).all()
    if taken:
        raise TrackerError(f"a unit named {taken[0]!r} already exists")
    units = [Unit(name=name, kind=kind) for name, kind in entries]
    db.session.add_all(units)
    db.session.flush()
    return units


def read_units_csv(path: Path, source: str,
                   max_rows: int = MAX_IMPORT_ROWS) -> list[tuple[str, UnitKind]]:
    """Parse a units CSV (header ``name,kind``) as it is read, never holding more than a
    line of it beyond the rows kept; report a bad row by its line number. More than
    ``max_rows`` units is refused as soon as the one too many is read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return _read_units(_lines(fh), source, max_rows)
    except UnicodeDecodeError:
        raise TrackerError(f"{source}: not UTF-8 text; save the CSV as UTF-8") from None
    except OSError as exc:
        raise TrackerError(f"{source}: cannot read the file: {exc.strerror}") from None


def _lines(fh):
    """The file's lines, refusing one longer than any unit's row could be."""
    number = 0
    while line := fh.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise _LineTooLong(number)
        yield line


class _LineTooLong(Exception):
    pass


def _read_units(lines, source: str, max_rows: int) -> list[tuple[str, UnitKind]]:
    reader = csv.DictReader(lines)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if "name" not in header or "kind" not in header:
            raise TrackerError(f"{source}: line 1: the header must name the columns "
                               f"'name' and 'kind'")
        reader.fieldnames = header
        entries, seen = [], {}
        for row in reader:
            line = reader.line_num
            if None in row:
                raise TrackerError(f"{source}: line {line}: more fields than the header has")
            if not any((v or "").strip() for v in row.values()):
                continue
            if len(entries) >= max_rows:
                raise TrackerError(f"{source}: line {line}: more than {max_rows} units in one "
                                   f"file; import them in parts")
            try:
                name = clean_name(row["name"] or "")
                kind = parse_kind(row["kind"] or "")
            except TrackerError as exc:
                raise TrackerError(f"{source}: line {line}: {exc}") from None
            if name in seen:
                raise TrackerError(f"{source}: line {line}: unit {name!r} already on line "
                                   f"{seen[name]}")
            seen[name] = line
            entries.append((name, kind))
    except csv.Error as exc:
        raise TrackerError(f"{source}: line {reader.line_num}: unreadable CSV: {exc}") from None
    except _LineTooLong as exc:
        raise TrackerError(f"{source}: line {exc.args[0]}: longer than {MAX_LINE} characters; "
                           f"is this a units CSV?") from None
    if not entries:
        raise TrackerError(f"{source}: no units in the file")
    return entries


#: Longest reason for an exemption.
MAX_REASON = 500


def set_row_rule(unit: Unit, year: int, code: str, mode: RowRuleMode, reason: str, actor,
                 now) -> UnitRowRule:
    """Exempt ``unit`` from a rubric row of ``year``'s plan (it reads 不适用, with the
    reason) or include a row its kind does not carry (its duties become the unit's)."""
    if unit.kind == UnitKind.COORDINATOR:
        raise TrackerError(_("The coordinator's office is not assessed on the rubric."))
    node = _row(year, code)
    reason = " ".join(check_text(reason or "", _("The reason")).split())
    if len(reason) > MAX_REASON:
        raise TrackerError(_("The reason is longer than %(n)d characters.", n=MAX_REASON))
    carried = str(unit.kind) in (node.applies_to or ASSESSED_KINDS)
    if mode == RowRuleMode.EXEMPT and not reason:
        raise TrackerError(_("Give the reason for the exemption; the sheet shows it."))
    if mode == RowRuleMode.INCLUDE and carried:
        raise TrackerError(_("Row %(code)s applies to this unit's kind already.", code=code))
    rule = db.session.scalar(sa.select(UnitRowRule).where(
        UnitRowRule.unit_id == unit.id, UnitRowRule.year == year, UnitRowRule.code == code))
    if mode == RowRuleMode.EXEMPT and not carried and (rule is None
                                                      or rule.mode != RowRuleMode.INCLUDE):
        raise TrackerError(_("Row %(code)s does not apply to this unit's kind: there is "
                              "nothing to exempt.", code=code))
    if rule is None:
        rule = UnitRowRule(unit_id=unit.id, year=year, code=code)
        db.session.add(rule)
    rule.mode, rule.reason = mode, reason
    rule.created_by_id, rule.created_at = getattr(actor, "id", None), now
    db.session.flush()
    return rule


def clear_row_rule(unit: Unit, year: int, code: str) -> None:
    """Undo an exemption or inclusion: the row follows the unit's kind again."""
    _row(year, code)
    rule = db.session.scalar(sa.select(UnitRowRule).where(
        UnitRowRule.unit_id == unit.id, UnitRowRule.year == year, UnitRowRule.code == code))
    if rule is None:
        raise TrackerError(_("Row %(code)s is neither exempted nor included for %(unit)s in "
                              "%(year)d.", code=code, unit=unit.name, year=year))
    db.session.delete(rule)
    db.session.flush()


def _row(year: int, code: str):
    plan = plan_for_year(year)
    node = next((n for n in plan.rubric_nodes if n.active and n.is_leaf and n.code == code),
                None)
    if node is None:
        raise TrackerError(_("The plan of %(year)d has no rubric row %(code)s.", year=year,
                              code=code))
    return node
