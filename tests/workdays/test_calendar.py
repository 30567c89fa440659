"""The working-day calendar: the State Council's schedule, overrides, moving a date. Pure."""

from datetime import date, timedelta

import chinese_calendar
import pytest

from tracker.workdays.calendar import WorkCalendar, schedule_known

CAL = WorkCalendar()


def test_2026_as_the_state_council_published_it():
    # 春节 15–23 Feb, with Saturdays 14 and 28 Feb working.
    assert CAL.is_working(date(2026, 2, 14)) and CAL.is_working(date(2026, 2, 28))
    assert not any(CAL.is_working(date(2026, 2, d)) for d in range(15, 24))
    # 国庆 1–7 Oct (with 中秋), Sunday 20 Sep and Saturday 10 Oct working.
    assert CAL.is_working(date(2026, 9, 20)) and CAL.is_working(date(2026, 10, 10))
    assert not any(CAL.is_working(date(2026, 10, d)) for d in range(1, 8))
    assert not CAL.is_working(date(2026, 10, 31))  # a plain Saturday
    special = {d.day: d for d in CAL.special_days(date(2026, 2, 1), date(2026, 2, 28))}
    assert special[date(2026, 2, 17)].name == "春节" and not special[date(2026, 2, 17)].working
    assert special[date(2026, 2, 14)].name == "春节调休" and special[date(2026, 2, 14)].working
    assert date(2026, 2, 7) not in special  # a plain weekend differs from nothing


def test_moving_a_date_off_a_day_off():
    assert CAL.shift(date(2026, 10, 31), "previous") == date(2026, 10, 30)
    assert CAL.shift(date(2026, 10, 31), "next") == date(2026, 11, 2)
    assert CAL.shift(date(2026, 10, 31), "keep") == date(2026, 10, 31)
    # 17 Feb 2026 is 正月初一: the working day before the break is Saturday 14 Feb.
    assert CAL.shift(date(2026, 2, 17), "previous") == date(2026, 2, 14)
    assert CAL.shift(date(2026, 2, 17), "next") == date(2026, 2, 24)
    assert CAL.shift(date(2026, 2, 24), "previous") == date(2026, 2, 24)  # already working
    # A date never leaves its year: 1 Jan 2026 (元旦) goes forward even by "previous".
    assert CAL.shift(date(2026, 1, 1), "previous") == date(2026, 1, 4)


def test_overrides_win():
    calendar = WorkCalendar({date(2026, 10, 30): (False, "镇庆"),
                             date(2026, 10, 31): (True, "补班")})
    assert calendar.shift(date(2026, 10, 31), "previous") == date(2026, 10, 31)
    assert calendar.shift(date(2026, 10, 30), "previous") == date(2026, 10, 29)
    assert [(d.day, d.working, d.name, d.source) for d in calendar.special_days(
        date(2026, 10, 29), date(2026, 10, 31))] == [
        (date(2026, 10, 30), False, "镇庆", "override"),
        (date(2026, 10, 31), True, "补班", "override")]


@pytest.mark.parametrize("year", range(2020, 2027))
def test_agrees_with_the_package_on_every_day(year):
    day = date(year, 1, 1)
    while day.year == year:
        assert CAL.is_working(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_a_year_not_known_yet_keeps_weekends_off():
    year = max(y for y in range(2020, 2100) if schedule_known(y)) + 1
    assert not schedule_known(year)
    first = date(year, 10, 1)
    assert CAL.is_working(first) == (first.weekday() < 5)  # 国庆 not known: a plain day
    saturday = first + timedelta(days=(5 - first.weekday()) % 7)
    assert not CAL.is_working(saturday)
    assert CAL.shift(saturday, "previous") == saturday - timedelta(days=1)
    assert CAL.special_days(date(year, 1, 1), date(year, 12, 31)) == []
