"""Expanding due rules and placing dates in phases."""

from dataclasses import dataclass
from datetime import date

import pytest

from tracker.phases.recurrence import RecurrenceError, expand_due, expand_rrule, phase_of


@dataclass
class P:
    code: str
    start: str
    end: str


PHASES = [P("P1", "02-01", "04-30"), P("P2", "04-01", "06-30"), P("P3", "07-01", "10-31"),
          P("P4", "11-01", "12-31")]


def test_rrule_gives_dates_within_the_year_only():
    days = expand_rrule("FREQ=WEEKLY;BYDAY=MO", 2026, "Asia/Shanghai")
    assert days[0] == date(2026, 1, 5) and days[-1] == date(2026, 12, 28)
    assert len(days) == 52


def test_count_counts_from_the_first_of_january():
    assert expand_rrule("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=15", 2026, "Asia/Shanghai") == [
        date(2026, 1, 15), date(2026, 2, 15)]


def test_until_in_utc_is_honoured():
    days = expand_rrule("FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20260228T000000Z", 2026, "Asia/Shanghai")
    assert days == [date(2026, 1, 1), date(2026, 2, 1)]


def test_rrule_prefix_is_accepted():
    assert expand_rrule("RRULE:FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30", 2026, "UTC") == [
        date(2026, 6, 30)]


@pytest.mark.parametrize("rule", ["", "FREQ=SECONDLY", "DTSTART:20200101\nRRULE:FREQ=DAILY",
                                  "FREQ=MONTHLY;BYMONTHDAY=x", "FREQ=MONTHLY;UNTIL=20260301",
                                  "FREQ=YEARLY;BYMONTH=2,13", "FREQ=MONTHLY;BYMONTHDAY=-32",
                                  "FREQ=DAILY;BYHOUR=9", "FREQ=MONTHLY;BYMONTHDAY=0"])
def test_bad_rules(rule):
    with pytest.raises(RecurrenceError):
        expand_rrule(rule, 2026, "Asia/Shanghai")


def test_explicit_dates_sorted_and_checked_against_the_year():
    assert expand_due({"dates": ["12-15", "06-30"]}, 2026, "UTC") == [
        date(2026, 6, 30), date(2026, 12, 15)]
    with pytest.raises(RecurrenceError, match="02-29 does not exist in 2026"):
        expand_due({"dates": ["02-29"]}, 2026, "UTC")


def test_overlapping_phases_give_the_date_to_the_phase_ending_first():
    assert phase_of(date(2026, 4, 15), PHASES, 2026).code == "P1"
    assert phase_of(date(2026, 4, 15), PHASES, 2026, "P2").code == "P2"
    assert phase_of(date(2026, 5, 1), PHASES, 2026).code == "P2"
    assert phase_of(date(2026, 1, 15), PHASES, 2026) is None
    assert phase_of(date(2026, 5, 1), PHASES, 2026, "P1") is None
