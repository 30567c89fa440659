"""The coordinator's unit management."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.forms import choices
from tracker.core.timeutil import utcnow
from tracker.core.web import admin_required, today
from tracker.extensions import db
from tracker.phases.kinds import PARTY_ORG_KINDS
from tracker.units.forms import RowRuleForm, UnitForm
from tracker.units.models import KIND_LABELS, RowRuleMode, Unit, UnitRowRule
from tracker.units.services import (add_units, clean_name, clear_row_rule, parse_kind,
                                    set_party_org, set_row_rule)

bp = Blueprint("units", __name__, url_prefix="/admin/units")
bp.app_context_processor(lambda: {"KIND_LABELS": KIND_LABELS})


def units_added(units: list[Unit]) -> int:
    """Tell the areas above that units were added (the tasks area gives them their tasks);
    how many tasks were made."""
    results = signals.values(signals.units_added.send(units, now=utcnow()))
    return sum(count for result in results for _, count in result)


def _with_orgs(form, unit: Unit | None = None):
    """The form, with the party organisations a unit may name as its own."""
    orgs = db.session.execute(sa.select(Unit.id, Unit.name).where(
        Unit.kind.in_(PARTY_ORG_KINDS), Unit.party_org_id.is_(None),
        Unit.id != (unit.id if unit else 0)).order_by(Unit.name)).all()
    form.party_org.choices = choices([(0, "—")] + [(org_id, name) for org_id, name in orgs])
    return form


def _party_org(form) -> Unit | None:
    return db.session.get(Unit, form.party_org.data) if form.party_org.data else None


@bp.route("", methods=["GET", "POST"])
@admin_required
def units():
    """Every unit, with what other areas show of it (its task count); the form adds one."""
    form = _with_orgs(UnitForm())
    if form.validate_on_submit():
        try:
            unit, = add_units([(clean_name(form.name.data), parse_kind(form.kind.data))])
            set_party_org(unit, _party_org(form))
            unit.active = form.active.data
            made = units_added([unit]) if unit.active else 0
        except TrackerError as exc:
            db.session.rollback()
            form.name.errors = [str(exc)]
        else:
            db.session.commit()
            flash(ngettext("Unit %(name)s added with %(num)d task.",
                           "Unit %(name)s added with %(num)d tasks.", made, name=unit.name),
                  "success")
            return redirect(url_for("units.units"))
    rows = db.session.scalars(sa.select(Unit).order_by(Unit.kind, Unit.name)).all()
    columns = signals.values(signals.unit_columns.send([u.id for u in rows]))
    return render_template("units/units.html", form=form, units=rows, columns=columns), (
        400 if form.errors else 200)


@bp.route("/<id:unit_id>", methods=["GET", "POST"])
@admin_required
def edit(unit_id):
    """Rename a unit, change its kind, or deactivate it; below, what other areas add."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    form = _with_orgs(UnitForm(obj=unit) if request.method == "GET" else UnitForm(), unit)
    if request.method == "GET":
        form.kind.data = unit.kind.value
        form.party_org.data = unit.party_org_id or 0
    if form.validate_on_submit():
        try:
            name = clean_name(form.name.data)
            taken = db.session.scalar(sa.select(Unit.id).where(Unit.name == name,
                                                               Unit.id != unit.id))
            if taken:
                raise TrackerError(_("Another unit has this name."))
            became_active = form.active.data and not unit.active
            kind = parse_kind(form.kind.data)
            changed = kind != unit.kind or (form.party_org.data or None) != unit.party_org_id
            unit.name, unit.kind, unit.active = name, kind, form.active.data
            set_party_org(unit, _party_org(form))
        except TrackerError as exc:
            db.session.rollback()
            form.name.errors = [str(exc)]
        else:
            if became_active:
                units_added([unit])
            elif changed and unit.active:
                # The new kind's duties are made; the old kind's open work not yet due
                # is cancelled (the record of the rest stays); a party organisation named
                # takes the party rows.
                signals.units_changed.send([unit], now=utcnow())
            db.session.commit()
            flash(_("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("units.units"))
    return _edit_page(unit, form, RowRuleForm(year=today().year))


def _edit_page(unit: Unit, form, rule_form, status=None):
    # What other areas show of the unit (the reminders area: its group robot).
    panels = signals.values(signals.unit_page_panels.send(unit))
    rules = db.session.scalars(sa.select(UnitRowRule).where(UnitRowRule.unit_id == unit.id)
                               .order_by(UnitRowRule.year.desc(), UnitRowRule.code)).all()
    return render_template("units/edit.html", form=form, unit=unit, rule_form=rule_form,
                           rules=rules,
                           panels=[html for _, html in sorted(panels, key=lambda p: p[0])]
                           ), status or (400 if form.errors or rule_form.errors else 200)


@bp.post("/<id:unit_id>/rows")
@admin_required
def row_rule(unit_id):
    """Exempt the unit from a rubric row of a year, or include one; its tasks follow."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    rule_form = RowRuleForm()
    if rule_form.validate_on_submit():
        try:
            set_row_rule(unit, rule_form.year.data, rule_form.code.data.strip(),
                         RowRuleMode(rule_form.mode.data), rule_form.reason.data or "",
                         current_user, utcnow())
            signals.units_changed.send([unit], now=utcnow())
        except TrackerError as exc:
            db.session.rollback()
            rule_form.code.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Row %(code)s of %(year)d set for %(name)s.", code=rule_form.code.data,
                    year=rule_form.year.data, name=unit.name), "success")
            return redirect(url_for("units.edit", unit_id=unit.id))
    form = _with_orgs(UnitForm(obj=unit), unit)
    form.kind.data = unit.kind.value
    form.party_org.data = unit.party_org_id or 0
    return _edit_page(unit, form, rule_form, status=400)


@bp.post("/<id:unit_id>/rows/<id:rule_id>/delete")
@admin_required
def clear_rule(unit_id, rule_id):
    """Undo an exemption or inclusion: the row follows the unit's kind again."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    rule = db.session.get(UnitRowRule, rule_id)
    if rule is None or rule.unit_id != unit.id:
        abort(404)
    try:
        clear_row_rule(unit, rule.year, rule.code)
        signals.units_changed.send([unit], now=utcnow())
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Row %(code)s of %(year)d follows the unit's kind again.", code=rule.code,
                year=rule.year), "success")
    return redirect(url_for("units.edit", unit_id=unit.id))
