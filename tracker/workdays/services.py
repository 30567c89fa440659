"""Reading the working-day calendar and changing the coordinator's overrides. Flush, never
commit: the caller commits once."""

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.text import check_text
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.extensions import db
from tracker.workdays.calendar import WorkCalendar
from tracker.workdays.models import WorkdayOverride

MAX_NAME = 100


def work_calendar(session=None) -> WorkCalendar:
    """The calendar as it stands: the State Council's schedule and every override (read
    on ``session``, by default the request's or command's)."""
    session = session or db.session
    return WorkCalendar({o.day: (o.working, o.name) for o in session.scalars(
        sa.select(WorkdayOverride))})


def check_working_day(day: date, what: str | None = None) -> date:
    """``day`` if it is a working day; else a TrackerError offering the nearest working
    days before and after it (a date typed by hand: 整改, ad-hoc tasks, moved dates)."""
    calendar = work_calendar()
    if calendar.is_working(day):
        return day
    entry = calendar.special(day)
    before, after = calendar.nearest_working_days(day)
    raise TrackerError(_("%(what)s %(day)s is a day off (%(name)s): choose a working day, "
                         "e.g. %(before)s or %(after)s.",
                         what=what or _("The date"), day=day.isoformat(),
                         name=entry.name if entry is not None and entry.name else
                         _("weekend"), before=before.isoformat(), after=after.isoformat()))


def _changed(days: list[date], now: datetime) -> None:
    # The tasks area re-dates the open tasks the change moves, in this transaction.
    signals.workdays_changed.send(days, now=now)


def set_override(day: date, working: bool, name: str, actor, now: datetime) -> WorkdayOverride:
    """Make ``day`` a day off (``working=False``) or a working day, with a name."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise TrackerError(_("The date lies outside the years the tracker handles."))
    name = " ".join(check_text(name or "", _("The name")).split())
    if len(name) > MAX_NAME:
        raise TrackerError(_("The name is longer than %(n)d characters.", n=MAX_NAME))
    override = db.session.get(WorkdayOverride, day)
    if override is None:
        override = WorkdayOverride(day=day)
        db.session.add(override)
    override.working, override.name = working, name
    override.set_by_id, override.set_at = getattr(actor, "id", None), now
    db.session.flush()
    _changed([day], now)
    return override


def unset_override(day: date, now: datetime) -> bool:
    """Give ``day`` back to the schedule; whether there was an override."""
    override = db.session.get(WorkdayOverride, day)
    if override is None:
        return False
    db.session.delete(override)
    db.session.flush()
    _changed([day], now)
    return True
