"""Calendar feeds (``/feeds/<token>.ics``) and the signed-in .ics download."""

from datetime import date, datetime

from flask import Blueprint, Response, request
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.http import is_resource_modified

from tracker.auth.models import Role, User
from tracker.auth.scope import task_scope
from tracker.calendar import ical
from tracker.calendar.queries import (STATUS_FILTERS, VERSIONS, FeedFilters, calendar_name,
                                      calendar_version, export_ics, feed_options)
from tracker.calendar.services import user_for_token
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.core.web import today
from tracker.extensions import db
from tracker.phases.services import MAX_YEAR, MIN_YEAR

bp = Blueprint("calendar", __name__)

CALENDAR_MIMETYPE = "text/calendar; charset=utf-8"


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    """A user's subscription feed: what the token's owner may see now, as .ics."""
    # No session and no templates here: calendar apps send no cookies, and a
    # browser that opens the link must not get one back either.
    now = utcnow()
    user = user_for_token(token, now)
    if user is None:
        return _plain(404, "Not Found")
    try:
        filters, options = parse_query(request.args, today(now))
    except TrackerError as exc:
        db.session.rollback()
        return _plain(400, str(exc))
    db.session.commit()  # the token's last_used_at
    return calendar_response(user, filters, options, now, key=("feed", user.id))


@bp.get("/calendar/export.ics")
@login_required
def export():
    """The signed-in user's calendar (with the page's filters) as an .ics download."""
    now = utcnow()
    filters, options = parse_query(request.args, today(now))
    user = current_user._get_current_object()
    response = calendar_response(user, filters, options, now, key=("export", user.id))
    response.headers.set("Content-Disposition", "attachment",
                         filename=download_name(filters, options))
    return response


def parse_query(args: MultiDict, day: date) -> tuple[FeedFilters, ical.FeedOptions]:
    """Filters and options from a feed's query string; TrackerError on a bad value.

    ``day`` is today in the plan's timezone. Without ``year`` a calendar shows last year
    and every year after (the coordinator's calendar of a town over many years would be
    tens of thousands of events, more than calendar apps take); ``year=all`` shows every
    year.
    """
    status = args.get("status") or None
    if status is not None and status not in STATUS_FILTERS:
        raise TrackerError(f"unknown status {status!r} (expected {', '.join(STATUS_FILTERS)})")
    kind = args.get("kind") or ical.KIND_EVENT
    if kind not in ical.KINDS:
        raise TrackerError(f"unknown kind {kind!r} (expected {' or '.join(ical.KINDS)})")
    year, since = args.get("year") or None, day.year - 1
    if year == "all":
        year, since = None, None
    elif year is not None:
        if not year.isdigit() or not MIN_YEAR <= int(year) <= MAX_YEAR:
            raise TrackerError(f"year {year!r} is out of range ({MIN_YEAR}-{MAX_YEAR}, "
                               "or all)")
        year = int(year)
    filters = FeedFilters(unit=args.get("unit") or None, phase=args.get("phase") or None,
                          status=status, done=_flag(args, "done", True), year=year,
                          since=since)
    return filters, feed_options(kind=kind, alarm=_flag(args, "alarm", False))


def _flag(args: MultiDict, name: str, default: bool) -> bool:
    value = args.get(name)
    if value in (None, ""):
        return default
    if value not in ("0", "1"):
        raise TrackerError(f"{name} must be 0 or 1, not {value!r}")
    return value == "1"


def calendar_response(user: User, filters: FeedFilters, options: ical.FeedOptions,
                      now: datetime, key: tuple) -> Response:
    """200 with the .ics, or 304 when the client's copy is current (nothing is built then)."""
    day = today(now)
    scope = task_scope(user)
    name = _name_for(user, filters)
    # The user's role and unit are part of the version: a user moved to
    # another unit gets the new unit's calendar at once.
    etag = calendar_version(scope, filters, options, name, day,
                            key=key + (user.role.value, user.unit_id))
    last_modified = VERSIONS.since(key + (filters, options), etag, now)
    if is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(export_ics(scope, filters, options, name, day),
                            content_type=CALENDAR_MIMETYPE)
    else:
        response = Response(status=304, content_type=CALENDAR_MIMETYPE)
    response.set_etag(etag)
    response.last_modified = last_modified
    # Private data behind a secret URL: no shared caches, revalidate every time.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def download_name(filters: FeedFilters, options: ical.FeedOptions) -> str:
    """The file name of a download, e.g. ``tasks-2026.ics``."""
    parts = ["tasks"]
    if filters.unit:
        parts.append(" ".join(filters.unit.split()))
    if filters.year:
        parts.append(str(filters.year))
    if options.kind == ical.KIND_TODO:
        parts.append("todo")
    return "-".join(parts) + ".ics"


def _name_for(user: User, filters: FeedFilters) -> str:
    if filters.unit:
        return calendar_name(" ".join(filters.unit.split()))
    if user.role != Role.ADMIN and user.unit is not None:
        return calendar_name(user.unit.name)
    return calendar_name()


def _plain(code: int, text: str) -> Response:
    response = Response(text + "\n", status=code, content_type="text/plain; charset=utf-8")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
