"""The year-end cycle's pages: the coordinator's records (inputs, 督导, 抽查, the
questionnaire), the 问题反馈单 and its acknowledgement, and the public questionnaire.

A service's refusal (TrackerError) becomes the 400 page (tracker.core.web), with nothing
of the request kept.
"""

import io
from datetime import date

from flask import (Blueprint, abort, current_app, flash, make_response, redirect,
                   render_template, request, send_file, url_for)
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required
from markupsafe import Markup

from tracker.assessment import feedback as sheets
from tracker.assessment import survey as surveys
from tracker.assessment.cycle import (INPUT_NAMES, add_finding, add_visit, combined,
                                      draw_sample, draws_of, findings_of, import_inputs,
                                      inputs_of, open_rectifications, rectify_finding,
                                      set_input, visits_of)
from tracker.assessment.cycle import input_file as cycle_input_file
from tracker.assessment.exports import FEEDBACK
from tracker.assessment.records import Finding, FindingKind, Survey
from tracker.assessment.services import assessed_units
from tracker.auth.models import Role
from tracker.core import exports
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.core.web import MAX_ID, admin_required, attachment
from tracker.extensions import db
from tracker.phases.services import plan_for_year
from tracker.units.models import ASSESSED_KINDS, Unit

bp = Blueprint("yearend", __name__, url_prefix="/assessment")
survey_bp = Blueprint("survey", __name__, url_prefix="/survey")

#: A year of cookie: the device keeps its mark for the next year's questionnaire too.
DEVICE_COOKIE_SECONDS = 366 * 24 * 3600


def _plan(year: int):
    try:
        return plan_for_year(year)
    except TrackerError:
        abort(404)


def _assessed_unit(unit_id) -> Unit:
    unit = db.session.get(Unit, unit_id) if isinstance(unit_id, int) and \
        0 < unit_id <= MAX_ID else None
    if unit is None or str(unit.kind) not in ASSESSED_KINDS:
        raise TrackerError(_("Choose a unit."))
    return unit


def _form_date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise TrackerError(_("Give the date as YYYY-MM-DD.")) from None


def _done(year: int, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("yearend.cycle", year=year))


@bp.app_context_processor
def _sheet_panel():
    """What the unit's scoring sheet shows beside the rubric: the inputs with their
    figures and sources, its 反馈单 (issued, acknowledged), and 整改 of earlier years
    still open."""

    def yearend_panel(plan, year, unit, rubric_total):
        lines, total, caption = combined(plan, rubric_total,
                                         inputs_of(year, [unit.id])[unit.id])
        return {"inputs": lines, "total": total, "caption": caption,
                "open": open_rectifications(unit.id, year),
                "feedback": sheets.feedback_record(unit.id, year)}

    return {"yearend_panel": yearend_panel}


# -- the coordinator's records ----------------------------------------------------------

@bp.get("/<year:year>/cycle")
@admin_required
def cycle(year):
    """The year-end cycle: inputs per unit, 督导 visits, 抽查 draws, the questionnaire."""
    plan = _plan(year)
    units = assessed_units()
    inputs = inputs_of(year, [u.id for u in units])
    findings = findings_of(year)
    links = surveys.surveys_of(year)
    urls = {s.id: surveys.link(s) for s in links}
    return render_template(
        "assessment/cycle.html", year=year, plan=plan, units=units, inputs=inputs,
        kinds=INPUT_NAMES, visits=visits_of(year), draws=draws_of(year), findings=findings,
        surveys=links, urls=urls, tallies=surveys.tallies(year),
        qr={sid: Markup(surveys.qr_svg(url)) for sid, url in urls.items()})


@bp.post("/<year:year>/inputs")
@admin_required
def save_inputs(year):
    """年中评估 (or another input) for every unit, from one table."""
    kind, now, saved = request.form.get("kind", ""), utcnow(), 0
    for unit in assessed_units():
        score = request.form.get(f"score-{unit.id}", "").strip()
        grade = request.form.get(f"grade-{unit.id}", "").strip()
        note = request.form.get(f"note-{unit.id}", "")
        if score or grade:
            set_input(unit, year, kind, score, grade, note, "录入", current_user, now)
            saved += 1
    return _done(year, _("%(n)d results saved.", n=saved))


@bp.post("/<year:year>/inputs/import")
@admin_required
def import_sheet(year):
    """年中评估 or 群众评议 from a CSV or .xlsx file (a 问卷星 export)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise TrackerError(_("Choose a file."))
    entries = import_inputs(upload.filename, upload.read(), year, request.form.get("kind", ""),
                            current_user, utcnow())
    return _done(year, _("%(n)d results imported.", n=len(entries)))


@bp.post("/<year:year>/visits")
@admin_required
def visit(year):
    """A 日常督导 visit with its findings (one a line)."""
    unit = _assessed_unit(request.form.get("unit_id", type=int))
    day = _form_date("visited_on")
    if day.year != year:
        raise TrackerError(_("The date must lie in %(year)d.", year=year))
    lines = [line for line in request.form.get("findings", "").splitlines() if line.strip()]
    add_visit(unit, day, request.form.get("visitors", ""), lines, current_user, utcnow())
    return _done(year, _("Visit recorded."))


@bp.post("/<year:year>/draws")
@admin_required
def new_draw(year):
    """Draw the 抽查's units (seeded, recorded)."""
    count = request.form.get("count", type=int) or 0
    spot = draw_sample(year, count, request.form.get("seed", ""), current_user, utcnow())
    return _done(year, _("Drawn with seed %(seed)s: %(units)s.", seed=spot.seed,
                         units="、".join(spot.drawn)))


@bp.post("/<year:year>/findings")
@admin_required
def spot_finding(year):
    """What the 抽查 found at a unit."""
    unit = _assessed_unit(request.form.get("unit_id", type=int))
    add_finding(unit, year, FindingKind.SPOT, request.form.get("text", ""), utcnow())
    return _done(year, _("Finding recorded."))


@bp.post("/<year:year>/findings/<id:finding_id>/rectify")
@admin_required
def rectify(year, finding_id):
    """Turn a finding into a 整改 task for its unit."""
    plan = _plan(year)
    finding = db.session.get(Finding, finding_id)
    if finding is None or finding.year != year:
        abort(404)
    rectify_finding(plan, finding, request.form.get("title", ""), _form_date("due_date"),
                    current_user, utcnow())
    return _done(year, _("Rectification task added."))


@bp.post("/<year:year>/surveys")
@admin_required
def open_links(year):
    """A questionnaire link for every unit that has none."""
    made = surveys.open_surveys(year, utcnow())
    return _done(year, ngettext("%(num)d questionnaire link made.",
                                "%(num)d questionnaire links made.", len(made)))


@bp.post("/<year:year>/surveys/close")
@admin_required
def close_links(year):
    """Every questionnaire of the year closed to further answers."""
    closed = surveys.set_closed(year, True)
    return _done(year, ngettext("%(num)d questionnaire closed.", "%(num)d questionnaires closed.",
                                closed))


@bp.post("/<year:year>/surveys/<id:survey_id>/<any(close, reopen):action>")
@admin_required
def close_link(year, survey_id, action):
    """One unit's questionnaire closed to further answers, or opened again."""
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey.year != year:
        abort(404)
    surveys.set_closed(year, action == "close", survey.unit_id)
    return _done(year, _("Questionnaire closed.") if action == "close"
                 else _("Questionnaire open again."))


@bp.post("/<year:year>/surveys/<id:survey_id>/adopt")
@admin_required
def adopt(year, survey_id):
    """The questionnaire's 满意率 as the unit's 群众评议 result."""
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey.year != year:
        abort(404)
    surveys.adopt(survey, current_user, utcnow())
    return _done(year, _("Result taken as the unit's 群众评议."))


@bp.get("/<year:year>/units/<id:unit_id>/inputs/<any(midyear, public, spot, supervision):kind>"
        "/file")
@login_required
def input_file(year, unit_id, kind):
    """The file attached to a unit's 年中评估, 群众评议, 抽查 or 督导 result, to the
    coordinator and the unit's own people (who see it on their sheet), as a download."""
    found = cycle_input_file(unit_id, year, kind) \
        if exports.own_unit(current_user, unit_id) else None
    if found is None:  # no such unit or file, or not one of the user's
        abort(404)
    name, data = found
    return attachment(send_file(io.BytesIO(data), mimetype="application/octet-stream"), name,
                      fallback=f"{kind}-{year}")


# -- the 问题反馈单 ------------------------------------------------------------------------

def _sheet_unit(year: int, unit_id: int):
    """The unit and plan, if the user may see its 反馈单: the coordinator always, the
    unit's own people once it is issued."""
    plan = _plan(year)
    unit = db.session.get(Unit, unit_id)
    if unit is None or str(unit.kind) not in ASSESSED_KINDS:
        abort(404)
    if not current_user.is_admin:
        if current_user.unit_id != unit.id or sheets.feedback_record(unit.id, year) is None:
            abort(404)
    return unit, plan


@bp.get("/<year:year>/units/<id:unit_id>/feedback")
@login_required
def feedback_page(year, unit_id):
    """The unit's 反馈单, its acknowledgement, and (coordinator) issuing it."""
    unit, plan = _sheet_unit(year, unit_id)
    sheet = sheets.feedback_for(plan, year, unit)
    can_ack = (not current_user.is_admin and current_user.role == Role.MANAGER
               and sheet.record is not None and sheet.record.acknowledged_at is None)
    return render_template("assessment/feedback_unit.html", sheet=sheet, year=year,
                           can_ack=can_ack)


@bp.get("/<year:year>/units/<id:unit_id>/feedback/print")
@login_required
def feedback_print(year, unit_id):
    """The 反馈单 for printing."""
    return _feedback_export(year, unit_id, "print")


@bp.get("/<year:year>/units/<id:unit_id>/feedback.<fmt>")
@login_required
def feedback_export(year, unit_id, fmt):
    """The 反馈单 in a format registered for it (``feedback.pdf``)."""
    return _feedback_export(year, unit_id, fmt)


def _feedback_export(year: int, unit_id: int, fmt: str):
    export = exports.get(FEEDBACK, fmt, web=True)
    if export is None:
        abort(404)
    unit, plan = _sheet_unit(year, unit_id)
    if not export.may(current_user, unit.id):
        abort(404)
    return exports.send_export(export, sheets.feedback_for(plan, year, unit),
                               f"问题反馈单-{year}-{unit.name}", fallback="feedback")


@bp.post("/<year:year>/units/<id:unit_id>/feedback/issue")
@admin_required
def feedback_issue(year, unit_id):
    """Issue the 反馈单 to the unit (mail, group robot, inbox)."""
    unit, plan = _sheet_unit(year, unit_id)
    sheets.issue(sheets.feedback_for(plan, year, unit), current_user, utcnow())
    db.session.commit()
    flash(_("Feedback sheet issued to %(unit)s.", unit=unit.name), "success")
    return redirect(url_for("assessment.feedback", year=year))


@bp.post("/<year:year>/units/<id:unit_id>/feedback/acknowledge")
@login_required
def feedback_acknowledge(year, unit_id):
    """The unit confirms it received the 反馈单 (its 单位填报人)."""
    unit, _plan_ = _sheet_unit(year, unit_id)
    if current_user.is_admin or current_user.role != Role.MANAGER:
        abort(403)
    sheets.acknowledge(unit, year, current_user, utcnow())
    db.session.commit()
    flash(_("Receipt acknowledged."), "success")
    return redirect(url_for("yearend.feedback_page", year=year, unit_id=unit.id))


# -- the public questionnaire -------------------------------------------------------------

@survey_bp.route("/<token>", methods=["GET", "POST"])
def answer(token):
    """The anonymous 群众评议 questionnaire: no sign-in, one answer per device."""
    survey = surveys.survey_by_token(token)
    if survey is None:
        abort(404)
    device = request.cookies.get(surveys.DEVICE_COOKIE, "")
    status, done = 200, surveys.has_answered(survey, device)
    if request.method == "POST" and not done:
        try:
            surveys.answer(survey, request.form.get("choice", ""), device,
                           request.remote_addr or "unknown", utcnow())
        except surveys.Throttled as exc:
            db.session.rollback()
            abort(429, description=str(exc))
        db.session.commit()
        done = True
    elif request.method == "POST":
        status = 409
    response = make_response(render_template(
        "assessment/survey.html", survey=survey, unit=survey.unit, done=done,
        choices=surveys.SURVEY_CHOICES), status)
    if not device:
        response.set_cookie(surveys.DEVICE_COOKIE, surveys.new_device_token(),
                            max_age=DEVICE_COOKIE_SECONDS, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                            path="/survey/")
    response.headers["Cache-Control"] = "no-store"
    return response
