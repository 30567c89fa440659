"""The one-click unsubscribe link of reminder mails (RFC 8058), failed mails and robot
messages, a unit's group robot, the inbox, and the panels other pages show of them."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.text import whole_number
from tracker.core.timeutil import utcnow
from tracker.core.web import admin_required, int_arg
from tracker.extensions import csrf, db
from tracker.reminders.channels import (ChannelError, can_manage_robot, channel_names,
                                        get_channel, recent_robot_messages, remove_channel,
                                        send_test, set_channel)
from tracker.reminders.forms import RobotForm
from tracker.reminders.robots import NAMES
from tracker.reminders.services import (failed_messages, get_preferences, inbox as inbox_page,
                                        mark_read, resend, set_preferences, unsubscribe,
                                        user_for_unsubscribe_token)
from tracker.reminders.transports import Status
from tracker.reminders.vendors import VENDORS
from tracker.units.models import Unit

bp = Blueprint("reminders", __name__, url_prefix="/reminders")
inbox_bp = Blueprint("inbox", __name__, url_prefix="/inbox")
bp.app_context_processor(lambda: {"VENDOR_NAMES": NAMES})
PER_PAGE = 50


@signals.settings_panels.connect
def _reminder_panel(user, **kwargs):
    """How reminder mails come, on the settings page; and the unit's group robot."""
    channel = get_channel(user.unit_id) if user.unit_id is not None else None
    return 20, Markup(render_template(
        "reminders/_settings.html", reminders=get_preferences(user.id), channel=channel,
        may_manage=user.unit_id is not None and can_manage_robot(user, user.unit_id)))


@signals.unit_page_panels.connect
def _robot_panel(unit, **kwargs):
    """The unit's group robot, on the unit's page."""
    return 10, Markup(render_template("reminders/_unit_robot.html", unit=unit,
                                      channel=get_channel(unit.id)))


@signals.unit_columns.connect
def _robot_column(unit_ids, **kwargs):
    """Which units have a group robot, on the coordinator's list of units."""
    return _l("Group robot"), channel_names(unit_ids)


@bp.post("/settings")
@login_required
def settings():
    """How reminder mails come: a daily digest at an hour, one per item, or none."""
    hour = whole_number(request.form.get("hour", ""), 0, 23)
    set_preferences(current_user.id, mode=request.form.get("mode", ""),
                    hour=-1 if hour is None else hour)
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


@bp.post("/failed/<id:outbox_id>/resend")
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
        flash(_("The message is queued again."), "success")
    return redirect(url_for("reminders.failed"))


# -- a unit's group robot ------------------------------------------------------------------


def _robot_unit(unit_id: int) -> Unit:
    """The unit, if the signed-in user may set its robot: 404 for another unit (as if it did
    not exist), 403 for the unit's viewers."""
    unit = db.session.get(Unit, unit_id)
    if unit is None or not (current_user.is_admin or current_user.unit_id == unit.id):
        abort(404)
    if not can_manage_robot(current_user, unit.id):
        abort(403)
    return unit


def _render_robot(unit, form=None, status=200):
    channel = get_channel(unit.id)
    if form is None:
        form = RobotForm(data={"vendor": channel.vendor.value if channel else None})
    return render_template("reminders/robot.html", unit=unit, channel=channel, form=form,
                           messages=recent_robot_messages(unit.id),
                           vendors=VENDORS.values()), status


@bp.route("/units/<id:unit_id>/robot", methods=["GET", "POST"])
@login_required
def robot(unit_id):
    """The unit's group robot: which app, its webhook address and secret (shown masked)."""
    unit = _robot_unit(unit_id)
    form = RobotForm()
    if request.method == "GET":
        return _render_robot(unit)
    if not form.validate_on_submit():
        return _render_robot(unit, form, 400)
    try:
        set_channel(unit, form.vendor.data, form.url.data,
                    None if form.no_secret.data else form.secret.data,
                    keep_secret=not form.no_secret.data, by=current_user, now=utcnow())
    except ChannelError as exc:
        db.session.rollback()
        getattr(form, exc.field).errors = [str(exc)]
        return _render_robot(unit, form, 400)
    db.session.commit()
    flash(_("The group robot of %(unit)s is saved. Send a test message to see it work.",
            unit=unit.name), "success")
    return redirect(url_for("reminders.robot", unit_id=unit.id))


@bp.post("/units/<id:unit_id>/robot/test")
@login_required
def test_robot(unit_id):
    """Post a test message to the unit's group robot now, and say what it answered."""
    unit = _robot_unit(unit_id)
    try:
        outcome = send_test(unit, utcnow())
    except TrackerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        if outcome.status == Status.SENT:
            flash(_("The robot took the test message: look in the group."), "success")
        else:
            flash(_("The robot did not take the test message: %(error)s",
                    error=outcome.error), "error")
    return redirect(url_for("reminders.robot", unit_id=unit.id))


@bp.post("/units/<id:unit_id>/robot/delete")
@login_required
def remove_robot(unit_id):
    """Take the unit's group robot away."""
    unit = _robot_unit(unit_id)
    if remove_channel(unit):
        db.session.commit()
        flash(_("The group robot of %(unit)s is removed.", unit=unit.name), "success")
    return redirect(url_for("reminders.robot", unit_id=unit.id))


# -- the inbox -----------------------------------------------------------------------------


@inbox_bp.get("")
@login_required
def index():
    """The signed-in user's reminders and notices, newest first, a page at a time."""
    page = int_arg("page") or 1
    notices, total = inbox_page(current_user.id, page, PER_PAGE)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if page > pages:
        abort(404)
    return render_template("reminders/inbox.html", notices=notices, total=total, page=page,
                           pages=pages)


@inbox_bp.post("/<id:notification_id>/read")
@login_required
def read(notification_id):
    """Mark one notice read."""
    try:
        mark_read(current_user.id, notification_id, utcnow())
    except LookupError:
        abort(404)
    db.session.commit()
    return redirect(url_for("inbox.index", page=int_arg("page") or None))


@inbox_bp.post("/read")
@login_required
def read_all():
    """Mark every notice read."""
    count = mark_read(current_user.id, None, utcnow())
    db.session.commit()
    if count:
        flash(_("Every notice is marked read."), "success")
    return redirect(url_for("inbox.index"))
