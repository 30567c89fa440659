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


class TooSlow(Exception):
    pass


@pytest.fixture
def deadline():
    """Fail a test that runs past ``seconds`` instead of hanging the suite."""
    import signal

    def alarm(signum, frame):
        raise TooSlow("the rule ran past its deadline")

    previous = signal.signal(signal.SIGALRM, alarm)

    def start(seconds):
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield start
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("rule, message", [
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
    ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
    ("FREQ=DAILY;FREQ=SECONDLY", "FREQ"),
    ("FREQ=MONTHLY;BYMONTHDAY=1;FREQ=SECONDLY", "FREQ"),
    ("FREQ=DAILY;INTERVAL=1;INTERVAL=2", "INTERVAL"),
    ("FREQ=YEARLY;BYEASTER=0", "BYEASTER"),
    ("FREQ=DAILY;X-NAME=1", "X-NAME"),
    ("FREQ=DAILY;COUNT=0", "COUNT"),
    ("FREQ=DAILY;COUNT=100000000", "COUNT"),
    ("FREQ=DAILY;COUNT=2;UNTIL=20260301T000000Z", "COUNT"),
    ("FREQ=DAILY;UNTIL=99999999T999999Z", "UNTIL"),
    ("FREQ=MONTHLY;BYDAY=54MO", "BYDAY"),
    ("FREQ=MONTHLY;BYDAY=XX", "BYDAY"),
    ("FREQ=MONTHLY;WKST=XX", "WKST"),
    ("FREQ=MONTHLY;BYMONTHDAY=" + ",".join(["1"] * 1000), "BYMONTHDAY"),
    ("FREQ", "FREQ"),
])
def test_runaway_and_malformed_rules_are_refused_at_once(rule, message, deadline):
    """Finding 10: a rule that never ends, or one that would ask for millions of dates."""
    deadline(2)
    with pytest.raises(RecurrenceError, match=message):
        expand_rrule(rule, 2026, "Asia/Shanghai")


def test_a_rule_that_never_matches_ends_with_the_year(deadline):
    # A few milliseconds alone; the bound is for a rule that runs on past the year, and
    # leaves room for a machine busy with other work.
    deadline(5)
    assert expand_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", 2026, "UTC") == []
    assert expand_rrule("FREQ=DAILY;COUNT=5;BYMONTH=2;BYMONTHDAY=30", 2026, "UTC") == []


def test_occurrences_per_year_are_capped():
    assert len(expand_rrule("FREQ=DAILY", 2024, "UTC")) == 366
    with pytest.raises(RecurrenceError, match="more than 10 due dates in 2026"):
        expand_rrule("FREQ=DAILY", 2026, "UTC", limit=10)
