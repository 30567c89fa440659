"""The coordinator's page of working days: the year's holidays and 调休, and overrides."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import admin_required, int_arg, today
from tracker.extensions import db
from tracker.workdays.calendar import schedule_known
from tracker.workdays.services import set_override, unset_override, work_calendar

bp = Blueprint("workdays", __name__, url_prefix="/workdays")


@bp.get("")
@admin_required
def index():
    """The year's days off and adjusted working days, and the form for an override."""
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or today().year
    days = work_calendar().special_days(date(year, 1, 1), date(year, 12, 31))
    return render_template("workdays/index.html", year=year, days=days,
                           known=schedule_known(year))


@bp.post("")
@admin_required
def change():
    """Set a day off or on, or give a day back to the schedule."""
    try:
        day = date.fromisoformat(request.form.get("date", ""))
    except ValueError:
        flash(_("Give the date as YYYY-MM-DD."), "error")
        return redirect(url_for("workdays.index"))
    state, now = request.form.get("state"), utcnow()
    try:
        if state == "unset":
            unset_override(day, now)
        elif state in ("off", "on"):
            set_override(day, state == "on", request.form.get("name", ""), current_user, now)
        else:
            raise TrackerError(_("Choose a day off or a working day."))
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Saved: open tasks due on that day moved at once."), "success")
    return redirect(url_for("workdays.index", year=day.year))
