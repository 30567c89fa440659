"""When reminders fall due: pure functions of a due date, the duty's offsets and the clock.

Nothing here is stored: a reminder's day is derived from the task's due date
each time the dispatcher looks, so a moved date moves its reminders with it.
A reminder is a *point*: the day it is for and its kind, ``before:<days>``
(``before:0`` is the due day itself) or ``overdue:<days late>``.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tracker.phases.planfile import DEFAULT_REMINDERS


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


def points_between(due: date, rule: Rule, first: date, last: date) -> list[Point]:
    """Every reminder of a task due on ``due`` whose day lies in ``first``..``last``."""
    points = [Point(due - timedelta(days=d), f"before:{d}") for d in rule.before]
    if rule.overdue_every > 0:
        k = max(1, -(-(first - due).days // rule.overdue_every))
        while (day := due + timedelta(days=k * rule.overdue_every)) <= last:
            points.append(Point(day, f"overdue:{k * rule.overdue_every}"))
            k += 1
    return sorted(p for p in points if first <= p.day <= last)


def latest_point(due: date, rule: Rule, day: date, overdue_only: bool = False) -> Point | None:
    """The last reminder of a task due on ``due`` whose day is on or before ``day``.

    Only the latest counts: a dispatcher that was down for a week sends today's
    reminder, not the week's backlog.
    """
    late = (day - due).days
    if rule.overdue_every > 0 and late >= rule.overdue_every:
        days = late // rule.overdue_every * rule.overdue_every
        return Point(due + timedelta(days=days), f"overdue:{days}")
    if overdue_only:
        return None
    reached = [d for d in rule.before if due - timedelta(days=d) <= day]
    if not reached:
        return None
    return Point(due - timedelta(days=min(reached)), f"before:{min(reached)}")


def reminder_day(now: datetime, tz: str, hour: int) -> date:
    """The latest day whose send time (``hour`` o'clock in ``tz``) is not after ``now``."""
    local = now.astimezone(ZoneInfo(tz))
    return local.date() if local.hour >= hour else local.date() - timedelta(days=1)


def max_lead_days(rules) -> int:
    """The most days ahead of a due date any of ``rules`` reminds."""
    return max((max(r.before, default=0) for r in rules), default=0)
