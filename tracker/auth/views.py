"""Sign-in, sign-out, settings, and the coordinator's user management."""

from datetime import timedelta

import sqlalchemy as sa
from flask import (Blueprint, abort, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import format_timedelta, gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload

from tracker.auth import throttle
from tracker.auth.forms import LanguageForm, LoginForm, PasswordForm, UserForm
from tracker.auth.models import ROLE_LABELS, Role, User
from tracker.auth.passwords import generate_password
from tracker.auth.services import (authenticate, change_password, create_user, end_sessions,
                                   set_password, update_user)
from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.forms import choices
from tracker.core.timeutil import utcnow
from tracker.core.web import MAX_ID, admin_required, safe_next
from tracker.extensions import db
from tracker.units.models import Unit

bp = Blueprint("auth", __name__)
bp.app_context_processor(lambda: {"ROLE_LABELS": ROLE_LABELS})


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    target = safe_next(request.args.get("next")) or url_for("calendar.index")
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        now = utcnow()
        email = form.email.data.strip().lower()
        address = client_address()
        wait = throttle.reserve(email, address, now)
        if wait is not None:
            form.email.errors.append(_too_many(wait))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": wait}
        user = authenticate(email, form.password.data, address, now)
        db.session.commit()
        if user is None:
            form.password.errors.append(_("Wrong e-mail or password."))
            return render_template("auth/login.html", form=form), 200
        throttle.succeeded(email, address)
        session.clear()  # a fresh session on sign-in (no fixation)
        login_user(user, remember=form.remember.data)
        return redirect(target)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def client_address() -> str:
    """The client's IP address (behind TRACKER_PROXIES proxies, the one they saw)."""
    return request.remote_addr or "unknown"


def _too_many(wait: int) -> str:
    return _("Too many failed attempts from here. Try again in %(wait)s.",
             wait=format_timedelta(timedelta(seconds=wait), threshold=1.5))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out (POST); GET shows the button, since a GET must not change state."""
    if request.method == "POST":  # CSRFProtect has checked the token
        if current_user.is_authenticated:
            # Server-side: a copy of the session or remember-me cookie ends with it.
            end_sessions(current_user._get_current_object())
            db.session.commit()
        logout_user()
        session.clear()
        flash(_("You are signed out."), "info")
        response = redirect(url_for("auth.login"))
        # The browser drops what this site kept: the service worker's copy of the
        # user's agenda among it (Chromium clears Cache Storage for "storage", not for
        # "cache"; static/app.js also tells the worker, for browsers that ignore this).
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response
    return render_template("auth/logout.html")


@bp.post("/language")
def language():
    """Switch the interface language, for this session and the signed-in user."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            current_user.locale = form.lang.data
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("calendar.index"))


def render_settings(form=None, status=200, **context):
    """The settings page: the password form, and the panels other areas add
    (``tracker.core.signals.settings_panels``: the calendar feed, reminders), which get
    ``context`` (e.g. ``feed_url`` right after a calendar link was made)."""
    panels = signals.values(signals.settings_panels.send(current_user._get_current_object(),
                                                         **context))
    return render_template("auth/settings.html", form=form or PasswordForm(),
                           panels=[html for _, html in sorted(panels, key=lambda p: p[0])]
                           ), status


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The user's settings: password, calendar subscription, reminders."""
    form = PasswordForm()
    if form.validate_on_submit():
        # The current password is a guess like a sign-in's: counted the same way.
        email, address = current_user.email, client_address()
        wait = throttle.reserve(email, address, utcnow())
        if wait is not None:
            form.current.errors.append(_too_many(wait))
            page, status = render_settings(form, status=429)
            return page, status, {"Retry-After": wait}
        try:
            change_password(current_user, form.current.data, form.new.data)
        except TrackerError as exc:
            form.current.errors.append(str(exc))
        else:
            db.session.commit()
            throttle.succeeded(email, address)  # after: it writes on a connection of its own
            login_user(current_user._get_current_object())  # this session carries on
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("auth.settings"))
    return render_settings(form, status=400 if form.errors else 200)


# -- the coordinator's user management ----------------------------------------

def _unit_choices():
    units = db.session.scalars(sa.select(Unit).where(Unit.active).order_by(Unit.name)).all()
    return choices([(0, "—")] + [(u.id, u.name) for u in units])


def _chosen_unit(form) -> Unit | None:
    # The list also holds the unit a user has now, inactive ones among them, so any id
    # may come back: one that is not a row id names no unit.
    unit_id = form.unit_id.data
    return db.session.get(Unit, unit_id) if unit_id and 0 < unit_id <= MAX_ID else None


@bp.get("/admin/users")
@admin_required
def users():
    """Every user, with role and unit."""
    rows = db.session.scalars(
        sa.select(User).options(joinedload(User.unit)).order_by(User.role, User.email)).all()
    return render_template("auth/users.html", users=rows)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """Add a user; the generated password is shown once."""
    form = UserForm()
    form.unit_id.choices = _unit_choices()
    if form.validate_on_submit():
        unit = _chosen_unit(form)
        password = generate_password()
        try:
            user = create_user(form.email.data, Role(form.role.data), password, unit=unit,
                               name=form.name.data or "")
        except TrackerError as exc:
            form.email.errors.append(str(exc))
        else:
            user.active = form.active.data
            db.session.commit()
            flash(_("User %(email)s added. Password (shown once): %(password)s",
                    email=user.email, password=password), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None), (
        400 if form.errors else 200)


@bp.route("/admin/users/<id:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    """Change a user's role, unit or active state."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.unit_id.choices = _unit_choices()
    if request.method == "GET":
        form.role.data = user.role.value
        form.unit_id.data = user.unit_id or 0
    if form.validate_on_submit():
        unit = _chosen_unit(form)
        try:
            update_user(user, current_user, form.email.data, Role(form.role.data), unit,
                        form.name.data or "", form.active.data)
        except TrackerError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user), (
        400 if form.errors else 200)


@bp.post("/admin/users/<id:user_id>/password")
@admin_required
def reset_password(user_id):
    """Give a user a new random password, shown once."""
    user = db.session.get(User, user_id) or abort(404)
    password = generate_password()
    set_password(user, password)
    db.session.commit()
    flash(_("New password for %(email)s (shown once): %(password)s", email=user.email,
            password=password), "success")
    return redirect(url_for("auth.users"))
