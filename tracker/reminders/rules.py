"""When reminders fall due: pure functions of a due date, the duty's offsets, the
working-day calendar and the clock.

Nothing here is stored: a reminder's day is derived from the task's due date
each time the dispatcher looks, so a moved date moves its reminders with it.
A reminder is a *point*: the day it is for and its kind, ``before:<days>``
(``before:0`` is the due day itself) or ``overdue:<days late>``.

Reminders go out on working days only (given a ``calendar``, a
``tracker.workdays.calendar.WorkCalendar``): one that falls on a day off goes on the
working day before it when it is ahead of the due date (the week-ahead reminder of a
Monday deadline goes on the Friday before), on the working day after when it is an
overdue repeat; on a day off none goes.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.phases.planspec import DEFAULT_REMINDERS


@dataclass(frozen=True)
class Rule:
    """A duty's reminder offsets: days before the due date, and the overdue interval."""

    before: tuple[int, ...]
    #: Days between reminders once overdue; 0: no overdue reminders.
    overdue_every: int

    @classmethod
    def from_json(cls, data: dict | None) -> "Rule":
        """The rule of a duty's ``reminders`` column (the plan file's defaults for None: a
        task without a duty)."""
        data = data or DEFAULT_REMINDERS
        return cls(tuple(sorted(set(data.get("before", ())), reverse=True)),
                   int(data.get("overdue_every", 0)))


@dataclass(frozen=True, order=True)
class Point:
    """One reminder: the day (plan timezone) it is for, and its kind."""

    day: date
    kind: str

    @property
    def overdue(self) -> bool:
        """Whether this reminder is for a task already past its due date."""
        return self.kind.startswith("overdue:")


def _ahead(day: date, calendar) -> date:
    # A reminder ahead of the due date that falls on a day off goes the working day before.
    return calendar.working_on_or_before(day) if calendar is not None else day


def _late(day: date, calendar) -> date:
    # An overdue repeat that falls on a day off goes the working day after.
    return calendar.working_on_or_after(day) if calendar is not None else day


def points_between(due: date, rule: Rule, first: date, last: date,
                   calendar=None) -> list[Point]:
    """Every reminder of a task due on ``due`` whose day lies in ``first``..``last``."""
    points = [Point(_ahead(due - timedelta(days=d), calendar), f"before:{d}")
              for d in rule.before]
    if rule.overdue_every > 0:
        k = max(1, -(-(first - due).days // rule.overdue_every))
        while (day := due + timedelta(days=k * rule.overdue_every)) <= last:
            points.append(Point(_late(day, calendar), f"overdue:{k * rule.overdue_every}"))
            k += 1
    return sorted(p for p in points if first <= p.day <= last)


def latest_point(due: date, rule: Rule, day: date, overdue_only: bool = False,
                 calendar=None) -> Point | None:
    """The last reminder of a task due on ``due`` whose day is on or before ``day``, or
    None; None on a day off (with a ``calendar``).

    Only the latest counts: a dispatcher that was down for a week sends today's
    reminder, not the week's backlog.
    """
    if calendar is not None and not calendar.is_working(day):
        return None
    late = (day - due).days
    if rule.overdue_every > 0 and late >= rule.overdue_every:
        days = late // rule.overdue_every * rule.overdue_every
        # Its working day is on or before ``day``: ``day`` is a working day after it.
        return Point(_late(due + timedelta(days=days), calendar), f"overdue:{days}")
    if overdue_only:
        return None
    reached = [(_ahead(due - timedelta(days=d), calendar), d) for d in rule.before]
    reached = [(when, d) for when, d in reached if when <= day]
    if not reached:
        return None
    # The latest day; of two on the same working day, the one nearer the due date.
    when, d = max(reached, key=lambda pair: (pair[0], -pair[1]))
    return Point(when, f"before:{d}")


def reminder_day(now: datetime, tz: str, hour: int) -> date:
    """The latest day whose send time (``hour`` o'clock in ``tz``) is not after ``now``."""
    local = now.astimezone(ZoneInfo(tz))
    return local.date() if local.hour >= hour else local.date() - timedelta(days=1)


def max_lead_days(rules) -> int:
    """The most days ahead of a due date any of ``rules`` reminds."""
    return max((max(r.before, default=0) for r in rules), default=0)
