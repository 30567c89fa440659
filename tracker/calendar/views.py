"""The calendar: the month, week and agenda pages (``/``), the .ics download, the
subscription feeds (``/feeds/<token>.ics``) and the feed panel of the settings page."""

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import format_date, get_locale, gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.http import is_resource_modified

from tracker.auth.models import Role, User
from tracker.auth.views import render_settings
from tracker.calendar import ical
from tracker.calendar.grid import month_grid, shift_month, week_bands, week_of
from tracker.calendar.queries import (VERSIONS, FeedFilters, calendar_name, calendar_version,
                                      export_ics, export_town_ics, feed_options, page_version)
from tracker.calendar.services import (active_token, feed_qr_svg, feed_urls, issue_token,
                                       revoke_token, user_for_token)
from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.text import whole_number
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from tracker.core.web import BlockCache, attachment, date_arg, render_block, today
from tracker.extensions import db
from tracker.tasks.filters import Filters, filter_args, parse_filters
from tracker.tasks.states import DISPLAY_STATES, UnknownStatus, parse_status
from tracker.tasks.queries import (filter_options, groups_between, phase_ranges, scoped,
                                  tasks_between)
from tracker.tasks.scope import task_scope
from tracker.workdays.services import work_calendar

bp = Blueprint("calendar", __name__)

CALENDAR_MIMETYPE = "text/calendar; charset=utf-8"
VIEWS = ("month", "week", "agenda")
AGENDA_DAYS = 42
#: A feed's ``detail``: the whole town as one event per duty and day (the default), or
#: one event per task.
DETAIL_DUTIES, DETAIL_UNITS = "duties", "units"
DETAILS = (DETAIL_DUTIES, DETAIL_UNITS)


#: The content of unit members' calendar pages, by everything it is made of (see
#: ``_content_key``): a page seen again unchanged is not read and rendered again.
PAGES = BlockCache()


@bp.get("/")
@login_required
def index():
    """The calendar of due items: month (default), week or agenda."""
    now_day = today()
    view = request.args.get("view", "month")
    if view not in VIEWS:
        abort(400, description=_("Unknown view '%(view)s'.", view=view))
    anchor = date_arg("date") or now_day
    filters = parse_filters()
    if view == "month":
        weeks = month_grid(anchor.year, anchor.month)
    elif view == "week":
        weeks = [week_of(anchor)]
    else:
        weeks = [[anchor + timedelta(days=i) for i in range(AGENDA_DAYS)]]
    if current_user.is_admin:
        # The coordinator's pages show units (names, the filter's list), which carry no
        # stamp to key a kept page on: built each time.
        return render_template("calendar/calendar.html",
                               **_page(view, anchor, weeks, filters, now_day))
    key = _content_key(view, anchor, weeks, filters, now_day)
    content = PAGES.get(key)
    if content is None:
        content = render_block("calendar/calendar.html", "content",
                               **_page(view, anchor, weeks, filters, now_day))
        PAGES.put(key, content)
    return render_template("calendar/page.html", content=content)


def _content_key(view, anchor, weeks, filters, now_day) -> tuple:
    """Everything a unit member's calendar page content is made of: who (role, unit), the
    language, the day, what was asked (view, date, filters) and the data's version."""
    user = current_user
    start, end = weeks[0][0], weeks[-1][-1]
    return (user.role.value, user.unit_id, str(get_locale()), now_day, view, anchor,
            repr(filters), page_version(scoped(user, filters, now_day), start, end))


def _page(view, anchor, weeks, filters, now_day) -> dict:
    """The calendar template's context."""
    if view == "month":
        previous, following = shift_month(anchor, -1), shift_month(anchor, 1)
        # "2026年11月" in Chinese, "November 2026" in English: the locale's own pattern.
        heading = format_skeleton("yMMMM", anchor, locale=get_locale())
    elif view == "week":
        previous, following = anchor - timedelta(days=7), anchor + timedelta(days=7)
        heading = f"{format_date(weeks[0][0])} – {format_date(weeks[0][-1])}"
    else:
        previous = anchor - timedelta(days=AGENDA_DAYS)
        following = anchor + timedelta(days=AGENDA_DAYS)
        heading = f"{format_date(weeks[0][0])} – {format_date(weeks[0][-1])}"
    start, end = weeks[0][0], weeks[-1][-1]

    town = current_user.is_admin and filters.unit_id is None
    by_day = defaultdict(list)
    if town:
        for group in groups_between(current_user, filters, now_day, start, end):
            by_day[group.due_date].append(group)
    else:
        for task in tasks_between(current_user, filters, now_day, start, end):
            by_day[task.due_date].append(task)
    phases = phase_ranges(sorted({start.year, end.year}))
    # Holidays (休) and adjusted working days (班), as Chinese calendars mark them.
    days_off = {d.day: d for d in work_calendar().special_days(start, end)}
    bands = [week_bands(week, phases) for week in weeks] if view != "agenda" else []
    units, duties, phase_options = filter_options(with_units=current_user.is_admin)
    return dict(
        ics_args=_ics_args(filters, anchor, units), view=view,
        weeks=weeks, bands=bands, by_day=by_day, town=town, anchor=anchor, heading=heading,
        previous=previous, following=following, filters=filters, args=filter_args(filters),
        units=units, duties=duties, phase_options=phase_options, phases=phases,
        states=DISPLAY_STATES, special_days=days_off,
    )


def _ics_args(filters: Filters, anchor: date, units) -> dict:
    """The calendar download's query for what this page shows (its year, unit, phase)."""
    args = {"year": anchor.year, "phase": filters.phase}
    if filters.unit_id is not None:
        args["unit"] = next((u.name for u in units if u.id == filters.unit_id), None)
    args["status"] = filters.state
    return {k: v for k, v in args.items() if v is not None}


# -- the feed panel of the settings page ---------------------------------------------------
# Receivers of page signals live with the views: they render templates, and the app
# factory imports every area's views.

@signals.settings_panels.connect
def _feed_panel(user, feed_url=None, **kwargs):
    """The calendar subscription: the link shown once when just made, its QR code."""
    return 30, Markup(render_template(
        "calendar/_settings.html", token=active_token(user), feed_url=feed_url,
        feed_qr=Markup(feed_qr_svg(feed_url.https)) if feed_url else None))


@bp.post("/settings/feed")
@login_required
def new_feed():
    """Make a new calendar subscription link (the old one stops working)."""
    secret = issue_token(current_user, utcnow())
    db.session.commit()
    return render_settings(feed_url=feed_urls(secret))


@bp.post("/settings/feed/revoke")
@login_required
def revoke_feed():
    """Stop the calendar subscription link."""
    if revoke_token(current_user, utcnow()):
        db.session.commit()
        flash(_("The calendar link no longer works."), "success")
    return redirect(url_for("auth.settings"))


# -- .ics ------------------------------------------------------------------------------------


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
    return attachment(response, download_name(filters, options), fallback="tasks")


def parse_query(args: MultiDict, day: date) -> tuple[FeedFilters, ical.FeedOptions]:
    """Filters and options from a feed's query string; TrackerError on a bad value.

    ``day`` is today in the plan's timezone. Without ``year`` a calendar shows last year
    and every year after (the coordinator's calendar of a town over many years would be
    tens of thousands of events, more than calendar apps take); ``year=all`` shows every
    year.
    """
    try:
        status = parse_status(args.get("status"))
    except UnknownStatus as exc:
        raise TrackerError(str(exc)) from None
    kind = args.get("kind") or ical.KIND_EVENT
    if kind not in ical.KINDS:
        raise TrackerError(f"unknown kind {kind!r} (expected {' or '.join(ical.KINDS)})")
    year, since = args.get("year") or None, day.year - 1
    if year == "all":
        year, since = None, None
    elif year is not None:
        number = whole_number(year, MIN_YEAR, MAX_YEAR)
        if number is None:
            raise TrackerError(f"year {year[:20]!r} is out of range ({MIN_YEAR}-{MAX_YEAR}, "
                               "or all)")
        year = number
    detail = args.get("detail") or DETAIL_DUTIES
    if detail not in DETAILS:
        raise TrackerError(f"unknown detail {detail!r} (expected {' or '.join(DETAILS)})")
    filters = FeedFilters(unit=args.get("unit") or None, phase=args.get("phase") or None,
                          status=status, done=_flag(args, "done", True), year=year,
                          since=since, detail=detail)
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
    # The words around the data in the owner's language; part of the options, so of the
    # version and of the task components kept.
    options = replace(options, locale=feed_locale(user))
    name = _name_for(user, filters, options.locale)
    town = is_town_calendar(user, filters, options)
    # The user's role and unit are part of the version: a user moved to
    # another unit gets the new unit's calendar at once.
    etag = calendar_version(scope, filters, options, name, day,
                            key=key + (user.role.value, user.unit_id, town))
    last_modified = VERSIONS.since(key + (filters, options), etag, now)
    if is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        body = (export_town_ics(scope, filters, options, name, day, options.locale) if town
                else export_ics(scope, filters, options, name, day))
        # The task components stored while building (feed_components).
        db.session.commit()
        response = Response(body, content_type=CALENDAR_MIMETYPE)
    else:
        response = Response(status=304, content_type=CALENDAR_MIMETYPE)
    response.set_etag(etag)
    response.last_modified = last_modified
    # Private data behind a secret URL: no shared caches, revalidate every time.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def is_town_calendar(user: User, filters: FeedFilters, options: ical.FeedOptions) -> bool:
    """Whether this calendar is the whole town's as one event per duty and day: the
    coordinator's, not narrowed to a unit, as events, unless ``detail=units``."""
    return (filters.detail == DETAIL_DUTIES and user.role == Role.ADMIN and not filters.unit
            and options.kind == ical.KIND_EVENT)


def feed_locale(user: User) -> str:
    """The language of a feed's texts: its owner's choice, else the default language."""
    config = current_app.config
    return user.locale if user.locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


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


def _name_for(user: User, filters: FeedFilters, locale: str) -> str:
    if filters.unit:
        return calendar_name(" ".join(filters.unit.split()), locale)
    if user.role != Role.ADMIN and user.unit is not None:
        return calendar_name(user.unit.name, locale)
    return calendar_name(locale=locale)


def _plain(code: int, text: str) -> Response:
    response = Response(text + "\n", status=code, content_type="text/plain; charset=utf-8")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
