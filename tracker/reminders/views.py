"""The one-click unsubscribe link of reminder mails (RFC 8058), and failed mails."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.core.web import admin_required
from tracker.extensions import csrf, db
from tracker.reminders.services import (failed_messages, resend, unsubscribe,
                                        user_for_unsubscribe_token)

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


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
