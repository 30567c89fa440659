"""The one-click unsubscribe link of reminder mails (RFC 8058), failed mails, and the
reminder panel of the settings page."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.core.web import admin_required
from tracker.extensions import csrf, db
from tracker.reminders.services import (failed_messages, get_preferences, resend,
                                        set_preferences, unsubscribe,
                                        user_for_unsubscribe_token)

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


@signals.settings_panels.connect
def _reminder_panel(user, **kwargs):
    """How reminder mails come, on the settings page."""
    return 20, Markup(render_template("reminders/_settings.html",
                                      reminders=get_preferences(user.id)))


@bp.post("/settings")
@login_required
def settings():
    """How reminder mails come: a daily digest at an hour, one per item, or none."""
    hour = request.form.get("hour", "")
    set_preferences(current_user.id, mode=request.form.get("mode", ""),
                    hour=int(hour) if hour.isascii() and hour.isdigit() else -1)
    db.session.commit()
    flash(_("Reminder settings saved."), "success")
    return redirect(url_for("auth.settings"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # mail clients POST without a session; the signed token is the credential
def unsubscribe_link(token):
    """GET: a page asking to confirm (changes nothing: link scanners follow GETs).
    POST: stop the user's reminder mails, no sign-in needed."""
    user = user_for_unsubscribe_token(token)
    if user is None:
        abort(404)
    if request.method == "POST":
        unsubscribe(user)
        db.session.commit()
        return render_template("reminders/unsubscribed.html", user=user)
    return render_template("reminders/unsubscribe.html", user=user)


@bp.get("/failed")
@admin_required
def failed():
    """The coordinator's list of mails that could not be delivered, with a resend button."""
    return render_template("reminders/failed.html", messages=failed_messages())


@bp.post("/failed/<int:outbox_id>/resend")
@admin_required
def resend_failed(outbox_id):
    """Queue a failed mail again (same Message-ID, the recipient's current address)."""
    try:
        resend(outbox_id, utcnow())
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The mail is queued again."), "success")
    return redirect(url_for("reminders.failed"))
