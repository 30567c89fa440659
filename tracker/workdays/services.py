"""Reading the working-day calendar and changing the coordinator's overrides. Flush, never
commit: the caller commits once."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.text import check_text
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.extensions import db
from tracker.workdays.calendar import WorkCalendar, schedule_known
from tracker.workdays.models import WorkdayOverride
from tracker.workdays.notice import Notice

MAX_NAME = 100


def work_calendar(session=None) -> WorkCalendar:
    """The calendar as it stands: the State Council's schedule and every override (read
    on ``session``, by default the request's or command's)."""
    session = session or db.session
    return WorkCalendar({o.day: (o.working, o.name, o.source) for o in session.scalars(
        sa.select(WorkdayOverride))})


def _in_year(year: int):
    return WorkdayOverride.day.between(date(year, 1, 1), date(year, 12, 31))


def year_confirmed(year: int) -> bool:
    """Whether the State Council's schedule of ``year`` is known: the package carries it,
    or its notice has been imported. Otherwise the year's days off are unconfirmed."""
    # Asked whatever the year, so that a page or a load makes the same queries every year.
    noticed = db.session.scalar(
        sa.select(sa.exists().where(_in_year(year), WorkdayOverride.source == "notice")))
    return schedule_known(year) or bool(noticed)


@dataclass(frozen=True)
class NoticeChange:
    day: date
    working: bool
    name: str
    #: ``new``, ``changed``, ``same`` (already so), ``kept`` (the coordinator's own setting
    #: of the day stays), ``removed`` (an earlier import's day the notice no longer sets).
    action: str


def notice_changes(notice: Notice) -> list[NoticeChange]:
    """What importing ``notice`` does, day by day (nothing is changed)."""
    days = {d.day: d for d in notice.days}
    existing = {o.day: o for o in db.session.scalars(sa.select(WorkdayOverride).where(
        sa.or_(WorkdayOverride.day.in_(days),
               sa.and_(_in_year(notice.year), WorkdayOverride.source == "notice"))))}
    changes = []
    for day in sorted(set(days) | set(existing)):
        old, new = existing.get(day), days.get(day)
        if new is None:
            changes.append(NoticeChange(day, old.working, old.name, "removed"))
        elif old is None:
            changes.append(NoticeChange(day, new.working, new.name, "new"))
        elif old.source == "override":
            changes.append(NoticeChange(day, old.working, old.name, "kept"))
        else:
            same = (old.working, old.name) == (new.working, new.name)
            changes.append(NoticeChange(day, new.working, new.name,
                                        "same" if same else "changed"))
    return changes


def import_notice(notice: Notice, actor, now: datetime) -> list[NoticeChange]:
    """Set the year's days as the holiday notice says (marked as from the notice); the
    coordinator's own settings of a day stay. Open tasks due on a changed day move."""
    for day in notice.days:
        if not MIN_YEAR <= day.day.year <= MAX_YEAR:
            raise TrackerError(_("The date lies outside the years the tracker handles."))
    changes = notice_changes(notice)
    for change in changes:
        if change.action in ("new", "changed"):
            override = db.session.get(WorkdayOverride, change.day) or WorkdayOverride(
                day=change.day)
            override.working, override.name, override.source = (change.working, change.name,
                                                                 "notice")
            override.set_by_id, override.set_at = getattr(actor, "id", None), now
            db.session.add(override)
        elif change.action == "removed":
            db.session.delete(db.session.get(WorkdayOverride, change.day))
    db.session.flush()
    moved = [c.day for c in changes if c.action in ("new", "changed", "removed")]
    if moved:
        _changed(moved, now)
    return changes


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
    override.working, override.name, override.source = working, name, "override"
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
