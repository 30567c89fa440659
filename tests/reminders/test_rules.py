"""When reminders fall due: pure rules, no app."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tracker.phases.planspec import DEFAULT_REMINDERS
from tracker.reminders.rules import (Point, Rule, latest_point, max_lead_days,
                                    points_between, reminder_day)

DUE = date(2026, 6, 30)
RULE = Rule.from_json({"before": [7, 1, 0], "overdue_every": 7})


def test_rule_from_json_sorts_and_defaults():
    assert Rule.from_json({"before": [0, 7, 1, 7], "overdue_every": 3}) == Rule((7, 1, 0), 3)
    assert Rule.from_json(None) == Rule.from_json(DEFAULT_REMINDERS) == RULE
    assert Rule.from_json({"before": []}) == Rule((), 0)


def test_points_between_lists_before_and_overdue_points_in_range():
    points = points_between(DUE, RULE, date(2026, 6, 1), date(2026, 7, 21))
    assert points == [
        Point(date(2026, 6, 23), "before:7"), Point(date(2026, 6, 29), "before:1"),
        Point(date(2026, 6, 30), "before:0"), Point(date(2026, 7, 7), "overdue:7"),
        Point(date(2026, 7, 14), "overdue:14"), Point(date(2026, 7, 21), "overdue:21"),
    ]
    assert points_between(DUE, RULE, date(2026, 7, 8), date(2026, 7, 20)) == [
        Point(date(2026, 7, 14), "overdue:14")]
    assert points_between(DUE, Rule((3,), 0), date(2026, 1, 1), date(2026, 12, 31)) == [
        Point(date(2026, 6, 27), "before:3")]


@pytest.mark.parametrize("day, expected", [
    (date(2026, 6, 22), None),
    (date(2026, 6, 23), Point(date(2026, 6, 23), "before:7")),
    (date(2026, 6, 27), Point(date(2026, 6, 23), "before:7")),
    (date(2026, 6, 29), Point(date(2026, 6, 29), "before:1")),
    (date(2026, 6, 30), Point(date(2026, 6, 30), "before:0")),
    (date(2026, 7, 6), Point(date(2026, 6, 30), "before:0")),
    (date(2026, 7, 7), Point(date(2026, 7, 7), "overdue:7")),
    (date(2026, 7, 13), Point(date(2026, 7, 7), "overdue:7")),
    (date(2026, 7, 14), Point(date(2026, 7, 14), "overdue:14")),
    (date(2027, 1, 1), Point(date(2026, 12, 29), "overdue:182")),
])
def test_latest_point_is_the_last_reminder_on_or_before_the_day(day, expected):
    assert latest_point(DUE, RULE, day) == expected


def test_latest_point_agrees_with_points_between_every_day():
    rules = [RULE, Rule((10, 3), 5), Rule((0,), 0), Rule((), 4), Rule((2, 1), 1)]
    for rule in rules:
        for offset in range(-20, 40):
            day = DUE + timedelta(days=offset)
            points = points_between(DUE, rule, date(2026, 1, 1), day)
            assert latest_point(DUE, rule, day) == (points[-1] if points else None), (rule, day)


def test_overdue_only_ignores_reminders_before_the_due_date():
    assert latest_point(DUE, RULE, date(2026, 6, 30), overdue_only=True) is None
    assert latest_point(DUE, RULE, date(2026, 7, 6), overdue_only=True) is None
    assert latest_point(DUE, RULE, date(2026, 7, 9), overdue_only=True) == Point(
        date(2026, 7, 7), "overdue:7")
    assert latest_point(DUE, Rule((7,), 0), date(2026, 9, 1), overdue_only=True) is None


def test_point_knows_whether_it_is_overdue():
    assert Point(DUE, "overdue:7").overdue and not Point(DUE, "before:0").overdue


@pytest.mark.parametrize("utc, hour, expected", [
    (datetime(2026, 6, 23, 0, 0, tzinfo=timezone.utc), 8, date(2026, 6, 23)),  # 08:00 local
    (datetime(2026, 6, 22, 23, 59, tzinfo=timezone.utc), 8, date(2026, 6, 22)),  # 07:59
    (datetime(2026, 6, 22, 16, 0, tzinfo=timezone.utc), 0, date(2026, 6, 23)),  # midnight
    (datetime(2026, 6, 23, 11, 59, tzinfo=timezone.utc), 20, date(2026, 6, 22)),  # 19:59
    (datetime(2026, 6, 23, 12, 0, tzinfo=timezone.utc), 20, date(2026, 6, 23)),  # 20:00
])
def test_reminder_day_turns_at_the_users_hour_in_the_plan_timezone(utc, hour, expected):
    assert reminder_day(utc, "Asia/Shanghai", hour) == expected


def test_max_lead_days():
    assert max_lead_days([RULE, Rule((30, 2), 7), Rule((), 0)]) == 30
    assert max_lead_days([]) == 0
