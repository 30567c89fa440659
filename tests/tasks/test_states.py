"""The state vocabulary (``tracker.tasks.states``): pure, its SQL form equal to its Python
form."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tracker.tasks.states import (DISPLAY_STATES, STATE_LABELS, STATUS_FILTERS, TaskStatus,
                                  UnknownStatus, display_clause, display_state, matches,
                                  parse_status, status_clause)

TODAY = date(2026, 6, 15)
DAYS = [TODAY + timedelta(days=d) for d in (-30, -1, 0, 1, 7, 8, 60)]
CASES = [(s, d) for s in TaskStatus for d in DAYS]


def test_every_state_and_filter_has_a_label():
    assert set(DISPLAY_STATES) | set(STATUS_FILTERS) == set(STATE_LABELS)


def test_display_state_is_a_partition_where_lateness_wins():
    assert display_state("returned", TODAY - timedelta(days=1), TODAY) == "overdue"
    assert display_state("returned", TODAY + timedelta(days=1), TODAY) == "returned"
    assert display_state("open", TODAY + timedelta(days=7), TODAY) == "soon"
    assert display_state("open", TODAY + timedelta(days=8), TODAY) == "open"
    assert display_state("submitted", TODAY - timedelta(days=9), TODAY) == "submitted"
    assert {display_state(s, d, TODAY) for s, d in CASES} == set(DISPLAY_STATES)


def test_a_stored_status_selects_it_whatever_the_date():
    for status, due in CASES:
        assert matches(status.value, status, due, TODAY)
        assert matches(None, status, due, TODAY) == (status != TaskStatus.CANCELLED)
    assert matches("overdue", "returned", TODAY - timedelta(days=1), TODAY)
    assert matches("soon", "returned", TODAY, TODAY)
    assert not matches("overdue", "submitted", TODAY - timedelta(days=1), TODAY)


def test_parse_status():
    assert parse_status("") is None and parse_status(None) is None
    assert [parse_status(v) for v in STATUS_FILTERS] == list(STATUS_FILTERS)
    with pytest.raises(UnknownStatus, match="unknown status 'late'"):
        parse_status("late")


@pytest.fixture(scope="module")
def cases_table():
    """The cases as rows of an SQLite table, to run the SQL forms on."""
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("status", sa.String), sa.Column("due", sa.Date))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "status": s.value, "due": d}
                                      for i, (s, d) in enumerate(CASES)])
    yield engine, table
    engine.dispose()


@pytest.mark.parametrize("value", [None, *STATUS_FILTERS])
def test_the_sql_form_selects_what_the_python_form_does(cases_table, value):
    engine, table = cases_table
    with engine.connect() as conn:
        ids = set(conn.scalars(sa.select(table.c.id).where(
            status_clause(value, table.c.status, table.c.due, TODAY))))
    assert ids == {i for i, (s, d) in enumerate(CASES) if matches(value, s, d, TODAY)}


def test_the_sql_display_state_is_the_python_one(cases_table):
    engine, table = cases_table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(
            table.c.id, display_clause(table.c.status, table.c.due, TODAY))).all()
    assert {i: st for i, st in rows} == {
        i: display_state(s, d, TODAY) for i, (s, d) in enumerate(CASES)}
