"""The schedule form's choices and the plan file's ``due``, both ways. Pure: no app."""

import tomllib

import pytest

from tracker.phases.planfile import bundled_plans
from tracker.phases.recurrence import expand_due
from tracker.planning.schedule import (LAST, Schedule, ScheduleError, parse_dates, recognise,
                                       write)

#: (the form's choice, what it writes); each reads back as the same choice.
BOTH_WAYS = [
    (Schedule("dates", dates=("06-30", "12-15")), {"dates": ["06-30", "12-15"]}),
    (Schedule("monthly", every=1, start=1, end=12, day=15),
     {"rrule": "FREQ=MONTHLY;BYMONTHDAY=15"}),
    (Schedule("monthly", every=2, start=1, end=11, day=15),
     {"rrule": "FREQ=MONTHLY;BYMONTH=1,3,5,7,9,11;BYMONTHDAY=15"}),
    (Schedule("monthly", every=3, start=1, end=10, day=10),
     {"rrule": "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYMONTHDAY=10"}),
    (Schedule("monthly", every=1, start=7, end=10, day=LAST),
     {"rrule": "FREQ=MONTHLY;BYMONTH=7,8,9,10;BYMONTHDAY=-1"}),
    (Schedule("monthly", every=1, start=2, end=12, day=LAST),
     {"rrule": "FREQ=MONTHLY;BYMONTH=2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=-1"}),
    (Schedule("monthly", every=1, start=5, end=5, day=20),
     {"rrule": "FREQ=MONTHLY;BYMONTH=5;BYMONTHDAY=20"}),
    (Schedule("monthly", every=2, start=1, end=11, day=LAST),
     {"rrule": "FREQ=MONTHLY;BYMONTH=1,3,5,7,9,11;BYMONTHDAY=-1"}),
    (Schedule("quarterly", quarter_month=3, day=LAST),
     {"rrule": "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1"}),
    (Schedule("quarterly", quarter_month=1, day=15),
     {"rrule": "FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=15"}),
    (Schedule("quarterly", quarter_month=2, day=28),
     {"rrule": "FREQ=YEARLY;BYMONTH=2,5,8,11;BYMONTHDAY=28"}),
    (Schedule("times", times=1), {"rrule": "FREQ=MONTHLY;BYMONTH=12;BYMONTHDAY=-1"}),
    (Schedule("times", times=2), {"rrule": "FREQ=MONTHLY;BYMONTH=6,12;BYMONTHDAY=-1"}),
    (Schedule("times", times=3), {"rrule": "FREQ=MONTHLY;BYMONTH=4,8,12;BYMONTHDAY=-1"}),
    (Schedule("times", times=4), {"rrule": "FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1"}),
    (Schedule("times", times=6), {"rrule": "FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1"}),
    (Schedule("times", times=12), {"rrule": "FREQ=MONTHLY;BYMONTHDAY=-1"}),
    (Schedule("set_by"), {"set_by": "coordinator"}),
    (Schedule("rrule", rrule="FREQ=WEEKLY;BYDAY=MO"), {"rrule": "FREQ=WEEKLY;BYDAY=MO"}),
]


@pytest.mark.parametrize("choice, due", BOTH_WAYS, ids=lambda v: str(v)[:60])
def test_a_choice_writes_its_due(choice, due):
    assert write(choice) == due


@pytest.mark.parametrize("choice, due", BOTH_WAYS, ids=lambda v: str(v)[:60])
def test_a_due_the_form_writes_reads_back_as_its_choice(choice, due):
    assert recognise({**due, "source": "plan", "document": "每年"}) == choice.normalized()


def test_every_rrule_of_the_bundled_plan_shows_as_a_form_choice():
    plan = tomllib.loads(bundled_plans()["shuyuan-2020"].read_text("utf-8"))
    rules = [d["due"]["rrule"] for d in plan["duties"] if "rrule" in d["due"]]
    assert len(rules) == 6
    for rule in rules:
        choice = recognise({"rrule": rule})
        assert choice.kind in ("monthly", "quarterly", "times"), rule
        assert write(choice) == {"rrule": rule}


@pytest.mark.parametrize("rule", [
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYMONTH=6,12",  # the form's parts in another order
    "freq=monthly;bymonthday=-1",
    "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1",
    "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1;COUNT=2",
    "FREQ=MONTHLY;BYMONTH=1,2,4;BYMONTHDAY=1",  # not evenly spaced
    "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31",  # a day February never has
    "FREQ=YEARLY;BYMONTH=4,7,10,13;BYMONTHDAY=1",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=MONTHLY;BYDAY=-1FR",
])
def test_any_other_rrule_is_kept_as_written(rule):
    assert recognise({"rrule": rule}) == Schedule("rrule", rrule=rule)


def test_every_monthly_choice_writes_a_rule_that_reads_back_to_itself():
    """Some choices are written as another (every 2 months from February on the last day
    is 6 times a year): what matters is that the rule comes back the same, with the dates
    the choice names."""
    for every in range(1, 13):
        for start in range(1, 13):
            for end in range(start, 13):
                for day in (1, 15, 28, LAST):
                    choice = Schedule("monthly", every=every, start=start, end=end, day=day)
                    due = write(choice)
                    assert write(recognise(due)) == due, choice
    due = write(Schedule("monthly", every=2, start=2, end=12, day=LAST))
    assert recognise(due) == Schedule("times", times=6)


@pytest.mark.parametrize("choice, dates", [
    (Schedule("times", times=6), ["02-28", "04-30", "06-30", "08-31", "10-31", "12-31"]),
    (Schedule("quarterly", quarter_month=1, day=15), ["01-15", "04-15", "07-15", "10-15"]),
    (Schedule("monthly", every=4, start=2, end=12, day=LAST), ["02-28", "06-30", "10-31"]),
    (Schedule("times", times=1), ["12-31"]),
])
def test_the_rule_gives_the_dates_the_choice_names(choice, dates):
    days = expand_due(write(choice), 2027, "Asia/Shanghai")
    assert [f"{d:%m-%d}" for d in days] == dates
    assert expand_due(write(choice), 2028, "Asia/Shanghai")[0].year == 2028


@pytest.mark.parametrize("choice, field, code", [
    (Schedule("monthly", every=1, day=31), "monthly_day", "no_such_day"),
    (Schedule("monthly", every=1, start=1, end=3, day=29), "monthly_day", "no_such_day"),
    (Schedule("monthly", every=2, start=1, end=12, day=31), "monthly_day", "no_such_day"),
    (Schedule("monthly", every=13), "every", "every_range"),
    (Schedule("monthly", start=6, end=3), "end", "end_before_start"),
    (Schedule("monthly", start=0), "start", "month_range"),
    (Schedule("quarterly", quarter_month=1, day=31), "quarter_day", "no_such_day"),
    (Schedule("quarterly", quarter_month=4), "quarter_month", "quarter_month"),
    (Schedule("times", times=5), "times", "times"),
    (Schedule("dates"), "dates", "no_dates"),
    (Schedule("dates", dates=("06-31",)), "dates", "not_month_day"),
    (Schedule("dates", dates=("02-29",)), "dates", "not_every_year"),
    (Schedule("rrule", rrule=""), "rrule", "no_rrule"),
    (Schedule("rrule", rrule="FREQ=HOURLY"), "rrule", "invalid_rrule"),
    (Schedule("rrule", rrule="FREQ=MONTHLY;BYMONTHDAY=40"), "rrule", "invalid_rrule"),
    (Schedule("fortnightly"), "kind", "kind"),
])
def test_a_choice_that_cannot_be_written_names_its_field(choice, field, code):
    with pytest.raises(ScheduleError) as caught:
        write(choice)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_no_such_day_names_the_month():
    with pytest.raises(ScheduleError) as caught:
        write(Schedule("monthly", every=1, start=1, end=12, day=30))
    assert caught.value.params == {"month": 2, "day": 30}


@pytest.mark.parametrize("text, dates", [
    ("06-30, 12-15", ("06-30", "12-15")),
    ("06-30，12-15、11-01", ("06-30", "12-15", "11-01")),
    ("  04-30  ", ("04-30",)),
    ("", ()),
])
def test_dates_are_read_as_people_type_them(text, dates):
    assert parse_dates(text) == dates


@pytest.mark.parametrize("text", ["6-30", "06/30", "0630", "13-01", "00-10", "06-3x", "０６-３０",
                                  "06-30-1"])
def test_a_date_that_is_not_mm_dd_is_refused(text):
    with pytest.raises(ScheduleError) as caught:
        parse_dates(f"01-01, {text}")
    assert caught.value.code == "not_month_day" and caught.value.params == {"value": text}


def test_dates_are_written_sorted_once_each():
    assert write(Schedule("dates", dates=("12-15", "06-30", "12-15"))) == {
        "dates": ["06-30", "12-15"]}
    assert recognise({"dates": ["12-15", "06-30"]}).normalized() == Schedule(
        "dates", dates=("06-30", "12-15"))


@pytest.mark.parametrize("due", [None, "FREQ=DAILY", {}, {"rrule": 5}, {"dates": "06-30"},
                                 {"source": "plan"}])
def test_a_broken_due_reads_as_an_empty_choice(due):
    choice = recognise(due)
    assert choice.kind == "dates" and choice.dates == ()
