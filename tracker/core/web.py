"""Web plumbing shared by the areas: locale, safe redirects, errors, headers."""

import logging
import re
import threading
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from urllib.parse import quote, urlsplit

import sqlalchemy.exc
from flask import (abort, current_app, g, has_request_context, render_template, request,
                   session)
from flask_babel import format_date, format_datetime, get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.routing import IntegerConverter

from tracker.core.errors import TrackerError
from tracker.core.logs import redact_logger
from tracker.core.text import bad_character, check_text, whole_number
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, local_today, utcnow
from tracker.extensions import db, login_manager


#: The largest row id: the ids are INTEGER columns, 32 bits on PostgreSQL (SQLite's are
#: wider, but a number past this one names no row there either).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id in a URL, 1 to MAX_ID. Anything else matches no route (404);
    a larger number would reach the database and fail there (500)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


class YearConverter(IntegerConverter):
    """``<year:name>``: a year the tracker handles, MIN_YEAR to MAX_YEAR; any other
    number matches no route (404)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=MIN_YEAR, max=MAX_YEAR)


def init_app(app):
    """Cookies, login, error pages, security headers and template helpers."""
    # Before any blueprint's routes are added: they use them.
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["year"] = YearConverter
    if app.config["BASE_URL"].startswith("https://"):
        # Served over HTTPS: cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_UPLOAD_BYTES"],
                                           app.config["MAX_EVIDENCE_BYTES"]) + 1024 * 1024
    # Flask logs a failed request's path, Werkzeug's server every request line.
    redact_logger(app.logger)
    redact_logger(logging.getLogger("werkzeug"))
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    for code in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, lambda e: _error_page(e, 400))
    app.register_error_handler(TrackerError, _refused)
    app.register_error_handler(sqlalchemy.exc.OperationalError, _busy)
    app.before_request(_refuse_control_characters)
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
    forces a locale; mails, robot messages and feeds read their reader's language's
    catalogue themselves (``tracker.core.i18n``).
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
    number = whole_number(value, low, high)
    if number is None:
        abort(400, description=_("'%(name)s' must be a number from %(low)d to %(high)d.",
                                 name=name, low=low, high=high))
    return number


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


def content_disposition(filename: str, fallback: str = "download") -> str:
    """``attachment`` with ``filename``, as RFC 6266 writes it: an ASCII ``filename=`` for
    old clients and, when the name is not plain ASCII, ``filename*=UTF-8''...`` (RFC 8187).

    Header values travel as Latin-1; a Chinese name put there as it is makes gunicorn
    refuse the response (500) and the development server hang.
    """
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ascii_stem = _ascii_name(stem).strip("._-") or fallback
    ascii_ext = _ascii_name(ext)
    simple = ascii_stem + (f".{ascii_ext}" if ascii_ext else "")
    value = f'attachment; filename="{simple}"'
    if simple != filename:
        value += "; filename*=UTF-8''" + quote(filename, safe="!#$&+-.^_`|~")
    return value


def _ascii_name(text: str) -> str:
    # Accents dropped (é -> e); any other character outside a safe set becomes "_".
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"_{2,}", "_", re.sub(r"[^A-Za-z0-9 ._()+-]", "_", text))


def attachment(response, filename: str, fallback: str = "download"):
    """``response`` as a download named ``filename`` (``content_disposition``)."""
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    return response


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
    """The one gate of the coordinator's pages: sign in first; anyone else signed in is
    told the page does not exist (404), as for anything outside their scope."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    wrapped.coordinator_only = True
    return wrapped


def _error_page(error, code=None):
    code = code or getattr(error, "code", 500)
    description = getattr(error, "description", "") or ""
    return render_template("errors/error.html", code=code, description=description), code


def _refused(error: TrackerError):
    # A service refused the input: nothing of the request is kept.
    db.session.rollback()
    return render_template("errors/error.html", code=400, description=str(error)), 400


def _refuse_control_characters():
    # Every value a request brings (query string, form fields, names of uploaded files,
    # the parts of its path) is checked once, here, before any view reads it: a control
    # character (line breaks and tabs aside) is refused with a message (400), never
    # stored; PostgreSQL would fail on a NUL (a 500).
    values = [*request.args.items(multi=True), *request.form.items(multi=True),
              *((name, f.filename or "") for name, f in request.files.items(multi=True)),
              *((name, v) for name, v in (request.view_args or {}).items()
                if isinstance(v, str))]
    for name, value in values:
        # The message only when one is refused: translating it looks up the user's
        # language, which a calendar feed's request must not (no session, no cookie).
        if bad_character(name, multiline=True) is not None:
            check_text(name, _("A field name"), multiline=True)
        if bad_character(value, multiline=True) is not None:
            check_text(value, _("The field %(name)s", name=name), multiline=True)


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
    if "_login_user" not in g:
        # Loading the signed-in user was what failed (the server is unreachable): the
        # page is rendered for nobody rather than asking the database again.
        g._login_user = login_manager.anonymous_user()
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
