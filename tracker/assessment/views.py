"""The year-end assessment pages, actions and exports."""

from collections import Counter
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from tracker.assessment.exports import SHEET, scoring_sheet
from tracker.assessment.cycle import rectify_deduction
from tracker.assessment.feedback import issued as issued_sheets
from tracker.assessment.models import Deduction
from tracker.assessment.scoring import GAP_NO_TASK, GAP_NOT_DUE
from tracker.assessment.services import (add_deduction, assessed_units, gap_reason,
                                         get_or_start, layout_for, lock, ranked, ranking_groups,
                                         refresh_from_evidence, remove_deduction,
                                         results, set_self_assessment, statement_caps,
                                         waive_minimum)
from tracker.core import exports
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.core.web import MAX_ID, admin_required, int_arg, today
from tracker.extensions import db
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.phases.services import plan_for_year
from tracker.tasks.scope import may_act_for
from tracker.units.models import Unit

bp = Blueprint("assessment", __name__, url_prefix="/assessment")


def _unit(unit_id: int) -> Unit:
    """The unit, if the user may see its assessment (the coordinator, or its own people)."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not (current_user.is_admin or current_user.unit_id == unit.id):
        abort(404)
    return unit


def _plan(year: int):
    try:
        return plan_for_year(year)
    except TrackerError:
        abort(404)


@bp.get("")
@login_required
def index():
    """The coordinator's overview; a unit's people go to their unit's sheet."""
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or today().year
    if not current_user.is_admin:
        if current_user.unit_id is None:
            abort(404)
        return redirect(url_for("assessment.sheet", year=year, unit_id=current_user.unit_id))
    return overview(year)


def overview(year: int):
    plan = _plan(year)
    layout, groups = layout_for(plan)
    units = assessed_units()
    scored = results(plan, year, units, today())
    ranks, within = ranked(plan, scored)
    ordered = sorted(scored.values(), key=lambda r: (ranks[r.unit.id], r.unit.name))
    return render_template("assessment/overview.html", year=year, plan=plan, groups=groups,
                           layout=layout, results=ordered, ranks=ranks, within=within,
                           ranking=ranking_groups(plan),
                           provisional=any(not r.final for r in ordered),
                           chart=_histogram(scored.values()))


def _histogram(scored) -> Markup:
    """The distribution of total scores in bands of 10 points, as inline SVG."""
    bands = Counter(min(int(r.total) // 10, 9) for r in scored)
    highest = max(bands.values(), default=1)
    width, height, left, bottom = 640, 200, 30, 30
    bar = (width - left) / 10
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(_("Units by total score"))}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for band in range(10):
        n = bands.get(band, 0)
        h = (height - bottom - 10) * n / highest
        x = left + band * bar
        parts.append(f'<rect x="{x + 4:.1f}" y="{height - bottom - h:.1f}" '
                     f'width="{bar - 8:.1f}" height="{h:.1f}" fill="#1565c0">'
                     f"<title>{band * 10}–{band * 10 + 9 if band < 9 else 100}: {n}</title>"
                     f'</rect><text x="{x + bar / 2:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{band * 10}–{band * 10 + 9 if band < 9 else 100}'
                     f'</text><text x="{x + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" '
                     f'font-size="10" text-anchor="middle">{n or ""}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@bp.get("/<year:year>/units/<id:unit_id>")
@login_required
def sheet(year, unit_id):
    """One unit's scoring sheet: evidence, suggested, self and final scores, deductions."""
    unit, plan = _unit(unit_id), _plan(year)
    return _render_sheet(unit, plan, year, "assessment/sheet.html")


@bp.get("/<year:year>/units/<id:unit_id>/print")
@login_required
def print_sheet(year, unit_id):
    """The unit's sheet for printing on A4."""
    unit, plan = _unit(unit_id), _plan(year)
    return exports.send_export(exports.get(SHEET, "print"),
                               scoring_sheet(plan, year, [unit], today()), "")


def _render_sheet(unit, plan, year, template, status=200):
    layout, groups = layout_for(plan)
    result = results(plan, year, [unit], today())[unit.id]
    gaps = {node_id: gap_reason(r.node, r.evidence, r.gap)
            for node_id, r in result.rows.items() if r.gap}
    can_self = may_act_for(current_user, unit.id)
    return render_template(template, unit=unit, plan=plan, year=year, layout=layout,
                           groups=groups, result=result, caps=statement_caps(plan),
                           gaps=gaps, GAP_NOT_DUE=GAP_NOT_DUE, GAP_NO_TASK=GAP_NO_TASK,
                           can_self=can_self and not (result.assessment and
                                                      result.assessment.locked)), status


def _act(unit_id: int, year: int, action, message: str, *, self_service=False):
    """Load the assessment (begun if new), run ``action``, commit; errors become a 400."""
    unit, plan = _unit(unit_id), _plan(year)
    if self_service:
        if not may_act_for(current_user, unit.id):
            abort(403)
    elif not current_user.is_admin:  # behind admin_required already; never let one through
        abort(404)
    now = utcnow()
    try:
        # A unit's self-assessment does not begin the coordinator's assessment.
        assessment = get_or_start(unit, plan, year, current_user, now,
                                  begin=current_user.is_admin)
        action(assessment, now)
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_sheet(unit, plan, year, "assessment/sheet.html", status=400)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("assessment.sheet", year=year, unit_id=unit.id))


def _deduction(assessment, deduction_id: int) -> Deduction:
    deduction = db.session.get(Deduction, deduction_id)
    if deduction is None or deduction.assessment_id != assessment.id:
        abort(404)
    return deduction


@bp.post("/<year:year>/units/<id:unit_id>/start")
@admin_required
def start(year, unit_id):
    """Begin the assessment: the deductions the evidence suggests are recorded."""
    return _act(unit_id, year, lambda a, now: None, _("Assessment begun."))


@bp.post("/<year:year>/units/<id:unit_id>/refresh")
@admin_required
def refresh(year, unit_id):
    """Recompute the evidence deductions."""
    return _act(unit_id, year, lambda a, now: refresh_from_evidence(a, current_user, now),
                _("Deductions recomputed from the evidence."))


@bp.post("/<year:year>/units/<id:unit_id>/deductions")
@admin_required
def deduct(year, unit_id):
    """Take points off a row, with the reason."""
    form = request.form
    return _act(unit_id, year, lambda a, now: add_deduction(
        a, _node_id(), form.get("points", ""), form.get("reason", ""),
        current_user, now), _("Deduction recorded."))


@bp.post("/<year:year>/units/<id:unit_id>/deductions/<id:deduction_id>/delete")
@admin_required
def withdraw(year, unit_id, deduction_id):
    """Withdraw a deduction."""
    return _act(unit_id, year, lambda a, now: remove_deduction(
        a, _deduction(a, deduction_id), now), _("Deduction withdrawn."))


@bp.post("/<year:year>/units/<id:unit_id>/deductions/<id:deduction_id>/rectify")
@admin_required
def rectification(year, unit_id, deduction_id):
    """Turn a deduction into a rectification task for the unit."""
    return _act(unit_id, year, lambda a, now: rectify_deduction(
        a, _deduction(a, deduction_id), None, _due_date(), current_user, now),
        _("Rectification task added."))


@bp.post("/<year:year>/units/<id:unit_id>/waivers")
@admin_required
def waive(year, unit_id):
    """Waive a minimum of a row's 工作要求 for the unit, with the reason."""
    form = request.form
    return _act(unit_id, year, lambda a, now: waive_minimum(
        a, _node_id(), form.get("label", ""), form.get("reason", ""), current_user, now),
        _("Minimum waived; the reason is kept on the sheet."))


def _node_id() -> int:
    """The rubric row a form names, or 0 (no such row) for anything but a row id."""
    value = request.form.get("node_id", type=int) or 0
    return value if 0 < value <= MAX_ID else 0


def _due_date() -> date:
    try:
        return date.fromisoformat(request.form.get("due_date", ""))
    except ValueError:
        raise TrackerError(_("Give the due date as YYYY-MM-DD.")) from None


@bp.post("/<year:year>/units/<id:unit_id>/self")
@login_required
def self_assess(year, unit_id):
    """The unit's self-assessment of one row."""
    form = request.form
    return _act(unit_id, year, lambda a, now: set_self_assessment(
        a, _node_id(), form.get("score", ""), form.get("note", ""),
        form.get("statement", ""), now), _("Self-assessment saved."), self_service=True)


@bp.post("/<year:year>/units/<id:unit_id>/lock")
@admin_required
def lock_sheet(year, unit_id):
    """Declare the assessment final."""
    return _act(unit_id, year, lambda a, now: lock(a, current_user, now),
                _("Assessment locked."))


@bp.get("/<year:year>/export.<fmt>")
@login_required
def download(year, fmt):
    """The scoring sheet of every unit (coordinator) or of one's own unit, in any format
    registered for it (``tracker.assessment.exports``)."""
    export = exports.get(SHEET, fmt, web=True)
    if export is None or export.inline:
        abort(404)
    plan = _plan(year)
    unit_id = int_arg("unit")
    if not current_user.is_admin:
        unit_id = current_user.unit_id or abort(404)
    units = [_unit(unit_id)] if unit_id else assessed_units()
    if not export.may(current_user, unit_id):
        abort(404)
    name = f"assessment-{year}" + (f"-{units[0].name}" if unit_id else "")
    return exports.send_export(export, scoring_sheet(plan, year, units, today()), name,
                               fallback="assessment")


@bp.get("/<year:year>/feedback")
@admin_required
def feedback(year):
    """Every unit's deductions (问题反馈), to send back and to turn into rectification."""
    plan = _plan(year)
    scored = results(plan, year, assessed_units(), today())
    issued = {u.id: record for u, record in issued_sheets(year) if record is not None}
    return render_template("assessment/feedback.html", year=year, plan=plan,
                           results=[r for r in scored.values() if r.assessment], issued=issued)
