"""Web plumbing shared by the areas: locale, safe redirects, errors, headers."""

import threading
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy.exc
from flask import abort, current_app, has_request_context, render_template, request, session
from flask_babel import format_date, format_datetime, get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, local_today, utcnow
from tracker.extensions import db, login_manager


def init_app(app):
    """Cookies, login, error pages, security headers and template helpers."""
    if app.config["BASE_URL"].startswith("https://"):
        # Served over HTTPS: cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_UPLOAD_BYTES"],
                                           app.config["MAX_EVIDENCE_BYTES"]) + 1024 * 1024
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, lambda e: _error_page(e, 400))
    app.register_error_handler(TrackerError, _refused)
    app.register_error_handler(sqlalchemy.exc.OperationalError, _busy)
    app.after_request(_security_headers)
    app.teardown_request(_rollback_on_error)
    # Each area adds the labels of its own values (its blueprint's app_context_processor).
    app.context_processor(lambda: {
        "today": today(), "localized": localized, "current_locale": str(select_locale()),
    })
    app.add_template_filter(lambda d, fmt="medium": format_date(d, fmt) if d else "",
                            "date")
    app.add_template_filter(lambda d, fmt="short": format_datetime(d, fmt) if d else "",
                            "datetime")
    app.add_template_filter(format_points, "points")


def format_points(value) -> str:
    """A score without a trailing ``.0``: 3, 2.5."""
    if value is None:
        return ""
    return f"{Decimal(value).normalize():f}"


def select_locale() -> str:
    """The interface language: the user's choice, the session's, or the browser's.

    Outside a request (the CLI, jobs) messages are in English unless the caller
    forces a locale, as mails do for their recipient.
    """
    if not has_request_context():
        return "en"
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"]


def localized(obj, attr: str = "title") -> str:
    """``obj.title`` in Chinese, or ``obj.title_en`` in English when there is one (``obj``
    an object, or a dict such as a plan's evidence item)."""
    get = obj.get if isinstance(obj, dict) else lambda key, default=None: getattr(obj, key,
                                                                                  default)
    if _locale().startswith("en"):
        return get(f"{attr}_en", "") or get(attr)
    return get(attr)


def _locale() -> str:
    # In a request, the locale chosen once for it (Flask-Babel keeps it): ``localized``
    # runs for every title on a page, and choosing reads the user each time.
    if has_request_context():
        return str(get_locale())
    return select_locale()


def today(now: datetime | None = None) -> date:
    """The date ``now`` (default: this instant) falls on in the plan's timezone (the
    configured TIMEZONE)."""
    return local_today(now or utcnow(), current_app.config["TIMEZONE"])


def int_arg(name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
    """A whole number from the query string, or None; 400 if it is not one in range."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        abort(400, description=_("'%(name)s' must be a number from %(low)d to %(high)d.",
                                 name=name, low=low, high=high))
    return int(value)


def date_arg(name: str) -> date | None:
    """A date (YYYY-MM-DD) from the query string, or None; 400 if it is not one."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400, description=_("'%(name)s' must be a date written YYYY-MM-DD.", name=name))
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        abort(400, description=_("The date lies outside the years the tracker handles."))
    return day


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or any(ch in target for ch in "\\\r\n\t") or not target.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def admin_required(view):
    """Signed in as the coordinator, or 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _error_page(error, code=None):
    code = code or getattr(error, "code", 500)
    description = getattr(error, "description", "") or ""
    return render_template("errors/error.html", code=code, description=description), code


def _refused(error: TrackerError):
    # A service refused the input: nothing of the request is kept.
    db.session.rollback()
    return render_template("errors/error.html", code=400, description=str(error)), 400


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       "default-src 'self'; script-src 'self'; style-src 'self'; "
                       "img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                       "form-action 'self'; frame-ancestors 'none'")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _busy(error):
    # The database is locked by another writer past the busy timeout, or gone:
    # nothing of this request was kept; the client may try again.
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", error)
    page = render_template("errors/error.html", code=503, description="")
    return page, 503, {"Retry-After": "5"}


def _rollback_on_error(exc):
    # The request commits once on success; anything left uncommitted is dropped.
    if exc is not None:
        db.session.rollback()


class BlockCache:
    """Rendered page parts kept by key in this process (oldest dropped first).

    The key must name everything the part is made of; see ``render_block``.
    """

    def __init__(self, max_items: int = 500):
        self.max_items = max_items
        self.hits = self.misses = 0
        self._items: dict[tuple, Markup] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Markup | None:
        html = self._items.get(key)
        if html is None:
            self.misses += 1
        else:
            self.hits += 1
        return html

    def put(self, key: tuple, html: Markup) -> None:
        with self._lock:
            if key not in self._items and len(self._items) >= self.max_items:
                del self._items[next(iter(self._items))]
            self._items[key] = html

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
        self.hits = self.misses = 0


def render_block(template_name: str, block: str, **context) -> Markup:
    """One block of a template rendered as ``render_template`` would render it inside the
    page (the same context processors), for a page to keep and reuse that part."""
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_or_select_template(template_name)
    return Markup("".join(template.blocks[block](template.new_context(context))))
