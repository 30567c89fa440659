"""The working-day calendar: pure, no app, no database.

Offices work by the State Council's yearly schedule: public holidays, and weekend days
made working days (调休). The schedule comes from the ``chinese-calendar`` package, which
knows each year once the State Council has published it (in November or December of the
year before); a year it does not know yet keeps only weekends off. The coordinator's
overrides (a day off or on, with a name) win over both.
"""

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar.constants import holidays as SCHEDULED_HOLIDAYS
from chinese_calendar.constants import workdays as SCHEDULED_WORKDAYS

#: Chinese names of the holidays the package names in English.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
#: What a due date on a day off does: the working day before, the one after, or nothing.
RULES = ("previous", "next", "keep")
#: The years the package knows the State Council's schedule of.
KNOWN_YEARS = frozenset(d.year for d in SCHEDULED_HOLIDAYS) | frozenset(
    d.year for d in SCHEDULED_WORKDAYS)


def schedule_known(year: int) -> bool:
    """Whether the State Council's schedule of ``year`` is known (to this package version)."""
    return year in KNOWN_YEARS


@dataclass(frozen=True)
class Day:
    """A date that differs from Monday to Friday: a holiday, an adjusted working day, or
    an override (a plain weekend is not one)."""

    day: date
    working: bool
    #: The holiday's name (春节), with 调休 for a weekend made a working day; an
    #: override's own name.
    name: str
    #: ``schedule`` (the State Council's, as the package knows it), ``notice`` (the State
    #: Council's, as imported from its notice) or ``override`` (the coordinator's).
    source: str

    def to_json(self) -> dict:
        return {"date": self.day.isoformat(), "working": self.working, "name": self.name}


@functools.lru_cache(maxsize=4096)
def _scheduled(day: date) -> Day | None:
    # The State Council's schedule is fixed data: a day's entry is asked for on every
    # calendar page (the library checks each date against its whole range).
    if not schedule_known(day.year):
        return None
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        working = chinese_calendar.is_workday(day)
    except NotImplementedError:  # pragma: no cover - KNOWN_YEARS says it knows the year
        return None
    if name is None:
        return None  # a plain weekday or weekend
    chinese = HOLIDAY_NAMES.get(name, name)
    if working and day.weekday() >= 5:
        return Day(day, True, f"{chinese}调休", "schedule")
    if is_holiday:
        return Day(day, False, chinese, "schedule")
    return None


class WorkCalendar:
    """Which days are working days, from the schedule and the coordinator's overrides.

    ``overrides`` maps a date to ``(working, name)`` or ``(working, name, source)``
    (``override`` or ``notice``).
    """

    def __init__(self, overrides: dict[date, tuple] | None = None):
        self.overrides = dict(overrides or {})
        self._days: dict[date, Day | None] = {}

    def special(self, day: date) -> Day | None:
        """The day's entry if it differs from Monday to Friday (or is a named holiday)."""
        if day not in self._days:
            if day in self.overrides:
                working, name, *source = self.overrides[day]
                self._days[day] = Day(day, working, name, source[0] if source else "override")
            else:
                self._days[day] = _scheduled(day)
        return self._days[day]

    def is_working(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        entry = self.special(day)
        return entry.working if entry is not None else day.weekday() < 5

    def special_days(self, first: date, last: date) -> list[Day]:
        """Every date in ``first``..``last`` that differs from Monday to Friday: holidays,
        adjusted working days, overrides (with the holidays that fall on a weekend)."""
        days, day = [], first
        while day <= last:
            entry = self.special(day)
            if entry is not None:
                days.append(entry)
            day += timedelta(days=1)
        return days

    def shift(self, day: date, rule: str) -> date:
        """The working day a due date on a day off moves to by ``rule``: ``previous``,
        ``next`` or ``keep``. It stays in its year: where the rule would leave it, the
        other direction is taken; a year without a working day keeps the date."""
        if rule == "keep" or self.is_working(day):
            return day
        for step in ((-1, 1) if rule == "previous" else (1, -1)):
            moved = day
            while moved.year == day.year:
                moved += timedelta(days=step)
                if moved.year == day.year and self.is_working(moved):
                    return moved
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day``, kept in ``day``'s year (the year's
        last working day after ``day`` where the count runs past it; ``day`` itself where
        none is left)."""
        last, moved, left = day, day, count
        while left > 0:
            moved += timedelta(days=1)
            if moved.year != day.year:
                break
            if self.is_working(moved):
                last, left = moved, left - 1
        return last

    def working_on_or_before(self, day: date) -> date:
        """The last working day on or before ``day`` (for reminders ahead of a date)."""
        while not self.is_working(day):
            day -= timedelta(days=1)
        return day

    def working_on_or_after(self, day: date) -> date:
        """The first working day on or after ``day`` (for reminders of overdue work)."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day
