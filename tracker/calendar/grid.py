"""Pure helpers for the calendar pages: month and week grids, phase bands."""

import calendar as stdcal
from dataclasses import dataclass
from datetime import date, timedelta


def month_grid(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) that show ``month``, with days of the months around."""
    return stdcal.Calendar(firstweekday=0).monthdatescalendar(year, month)


def week_of(day: date) -> list[date]:
    """The Monday-to-Sunday week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def shift_month(day: date, months: int) -> date:
    """The first day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Band:
    """A phase's stretch across one week row: skip ``before`` days, span ``span`` days."""

    phase: object
    before: int
    span: int
    after: int


def week_bands(week: list[date], phases: list[tuple[object, date, date]]) -> list[Band]:
    """The phases that cover some day of ``week``, one band each (overlaps give two)."""
    bands = []
    for phase, start, end in phases:
        covered = [i for i, day in enumerate(week) if start <= day <= end]
        if covered:
            first, last = covered[0], covered[-1]
            bands.append(Band(phase, first, last - first + 1, len(week) - last - 1))
    return bands
