"""The coordinator's page of working days: the year's holidays and 调休, and overrides."""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import admin_required, int_arg, today
from tracker.extensions import db
from tracker.workdays.notice import MAX_NOTICE_BYTES, NoticeError, read_notice
from tracker.workdays.services import (import_notice, notice_changes, set_override,
                                       unset_override, work_calendar, year_confirmed)

bp = Blueprint("workdays", __name__, url_prefix="/workdays")


@bp.get("")
@admin_required
def index():
    """The year's days off and adjusted working days, and the form for an override."""
    year = int_arg("year", MIN_YEAR, MAX_YEAR) or today().year
    days = work_calendar().special_days(date(year, 1, 1), date(year, 12, 31))
    return render_template("workdays/index.html", year=year, days=days,
                           known=year_confirmed(year))


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


def _notice():
    """The pasted notice, read (NoticeError if it cannot be, or contradicts itself)."""
    text = request.form.get("notice", "")
    if len(text.encode("utf-8")) > MAX_NOTICE_BYTES:
        raise NoticeError(_("The notice is longer than %(mb)d MB.", mb=MAX_NOTICE_BYTES // 2**20))
    if not text.strip():
        raise NoticeError(_("Paste the text of the State Council's notice."))
    year = request.form.get("year", "")
    year = int(year) if year.isascii() and year.isdigit() and len(year) == 4 else None
    return read_notice(text, year), text


@bp.post("/notice")
@admin_required
def notice_preview():
    """What the pasted holiday notice sets, day by day, before anything is set."""
    try:
        notice, text = _notice()
    except TrackerError as exc:
        return render_template("workdays/notice.html", error=str(exc), notice=None,
                               text=request.form.get("notice", "")), 400
    return render_template("workdays/notice.html", error=None, notice=notice, text=text,
                           changes=notice_changes(notice))


@bp.post("/notice/confirm")
@admin_required
def notice_confirm():
    """Set the year's days as the notice (read again from the same text) says."""
    try:
        notice, _text = _notice()
        changes = import_notice(notice, current_user, utcnow())
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("workdays.index"))
    db.session.commit()
    flash(_("Holidays of %(year)d set from the State Council's notice: %(n)d days.",
            year=notice.year, n=sum(c.action in ("new", "changed") for c in changes)), "success")
    return redirect(url_for("workdays.index", year=notice.year))
