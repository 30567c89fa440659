"""The 工作台账 pages: export (built in the background, with a progress page) and the year
in figures."""

from collections import defaultdict
from datetime import date

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, send_file,
                   url_for)
from flask_babel import format_date, gettext as _
from flask_login import current_user, login_required

from tracker.assessment.services import assessed_units
from tracker.binder import jobs, stats
from tracker.binder.archive import pdf_name
from tracker.binder.chart import bars_svg, unit_bars_svg
from tracker.binder.collect import safe_name
from tracker.binder.exports import TOWN, UNIT
from tracker.core import exports
from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import admin_required, attachment, int_arg, today
from tracker.extensions import db
from tracker.phases.services import plan_for_year
from tracker.units.models import Unit

bp = Blueprint("binder", __name__)


def _plan(year: int):
    try:
        return plan_for_year(year)
    except TrackerError:
        abort(404)


def _unit(unit_id: int) -> Unit:
    """The unit, if the user may have its binder: the coordinator, or the unit's own
    people (as for its assessment sheet); 404 for anyone else."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not (current_user.is_admin or current_user.unit_id == unit.id):
        abort(404)
    return unit


@bp.get("/binder")
@login_required
def index():
    """Export the 工作台账: a unit's own, or (the coordinator) any unit's and the town's."""
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or today().year
    if current_user.is_admin:
        units = assessed_units()
    elif current_user.unit_id:
        units = [current_user.unit]
    else:
        abort(404)
    return render_template("binder/index.html", year=year, units=units,
                           running=jobs.running_for(current_app, current_user.id))


def _start(year: int, subject: str, fmt: str, unit: Unit | None):
    export = exports.get(subject, fmt, web=True)
    if export is None or not export.may(current_user, unit.id if unit else None):
        abort(404)
    _plan(year)
    app = current_app._get_current_object()
    running = jobs.running_for(app, current_user.id)
    if running:
        flash(_("Your previous export is still being built; it is shown below."), "info")
        return redirect(url_for("binder.job", token=running["token"]))
    stem = pdf_name(unit.name, year).removesuffix(".pdf") if unit else f"{year}年工作台账（全镇）"
    filename = export.filename(stem)
    job = jobs.start(app, current_user.id, year, fmt, unit.id if unit else None, filename,
                     utcnow())
    return redirect(url_for("binder.job", token=job["token"]))


@bp.post("/binder/<year:year>/units/<id:unit_id>.<fmt>")
@login_required
def export_unit(year, unit_id, fmt):
    """Begin building a unit's binder (``unit.pdf``, ``unit.zip``: any format registered
    for it); on to its progress page."""
    return _start(year, UNIT, fmt, _unit(unit_id))


@bp.post("/binder/<year:year>/town.<fmt>")
@admin_required
def export_town(year, fmt):
    """Begin building the town's ZIP (the coordinator only)."""
    return _start(year, TOWN, fmt, None)


def _job(token: str) -> dict:
    job = jobs.load(current_app, token)
    if job is None or job["user_id"] != current_user.id:
        abort(404)
    return job


@bp.get("/binder/jobs/<token>")
@login_required
def job(token):
    """How far the build is; the page reloads itself until the file is ready."""
    job = _job(token)
    return render_template("binder/job.html", job=job,
                           percent=round(100 * job["done"] / max(job["total"], 1)))


@bp.get("/binder/jobs/<token>/file")
@login_required
def download(token):
    """The built binder."""
    job = _job(token)
    path = jobs.file_of(current_app, job)
    if job["state"] != "done" or not path.is_file():
        abort(404)
    export = exports.get(UNIT if job["unit_id"] else TOWN, job["format"])
    if export is None:
        abort(404)
    return attachment(send_file(path, mimetype=export.media_type, conditional=True),
                      safe_name(job["filename"], 120), fallback=f"binder.{job['format']}")


@bp.get("/stats")
@login_required
def figures():
    """The year in figures: per unit and duty, with charts per month and per unit."""
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or today().year
    plan = _plan(year)
    unit_id = int_arg("unit")
    if not current_user.is_admin:
        # A unit's people see their own unit; asking for another's is a 404 (in _unit).
        unit_id = unit_id or current_user.unit_id or abort(404)
    units = [_unit(unit_id)] if unit_id else assessed_units()
    rows = stats.figures(plan, year, units)
    months = stats.by_month(plan, year, units)
    labels = [format_date(date(year, m, 1), "LLL") for m in range(1, 13)]
    series = {"held": _("Sessions held"), "accepted": _("Work accepted")}
    totals = stats.per_unit(rows)
    overall = defaultdict(int)
    for figures_ in totals.values():
        for key, n in figures_.items():
            overall[key] += n
    return render_template(
        "binder/stats.html", year=year, plan=plan, rows=rows, unit_id=unit_id,
        units=assessed_units() if current_user.is_admin else units, totals=totals,
        overall=overall,
        month_chart=bars_svg(months, labels, series, _("Sessions held and work accepted, "
                                                       "by month")),
        unit_chart=unit_bars_svg(totals, {"on_time": _("Accepted on time"),
                                          "late": _("Accepted late")},
                                 _("Work accepted per unit, on time and late")))
