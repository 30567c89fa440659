"""Duties recorded by occurrence ("at least N a year"): each is recorded when held and fills
the next open slot; the pace dates stay; dates set each year ("date to be set")."""

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.phases.services import plan_for_year
from tracker.tasks.loading import dates_to_set, set_duty_date
from tracker.tasks.models import EvidenceFile, Task, TaskStatus
from tracker.tasks.services import Occurrence, next_open_slot, submit

YEAR = 2026
NOW = datetime(2026, 11, 27, 4, tzinfo=timezone.utc)


@pytest.fixture
def village(app, create_unit, create_user):
    from tracker.phases.planfile import read_plan
    from tracker.tasks.loading import load_plan

    unit = create_unit("洋溢村党总支", "village")
    office = create_unit("党政办公室", "office")
    manager = create_user("manager@example.org", "manager", unit)
    load_plan(read_plan("shuyuan-2020"), YEAR, datetime(2026, 1, 5, tzinfo=timezone.utc))
    db.session.commit()
    return unit, office, manager


def slots(unit, code="study-session", with_files=True):
    """The unit's tasks of a duty, by occurrence, each with the minutes the plan asks for."""
    tasks = db.session.scalars(
        sa.select(Task).join(Duty, Task.duty_id == Duty.id)
        .where(Task.unit_id == unit.id, Duty.code == code).order_by(Task.seq)).all()
    for task in tasks if with_files else ():
        if not task.evidence_files:
            task.evidence_files.append(EvidenceFile(
                original_name="minutes.pdf", stored_name=f"x/{task.id}.pdf",
                content_type="application/pdf", size=1, sha256="0" * 64, uploaded_at=NOW))
    db.session.flush()
    return tasks


def test_a_session_recorded_in_march_fills_the_february_slot(village):
    unit, _, manager = village
    february, april = slots(unit)[:2]
    assert (february.due_date, april.due_date) == (date(2026, 2, 28), date(2026, 4, 30))
    submit(february, manager, "", "", NOW, Occurrence(date(2026, 3, 12), 11, ("ideology",)))
    db.session.commit()
    assert (february.status, february.held_on, february.attendance, february.flags) == (
        TaskStatus.SUBMITTED, date(2026, 3, 12), 11, ["ideology"])
    # The calendar keeps the pace: April's slot is still due on its own date.
    assert april.status == TaskStatus.OPEN and april.due_date == date(2026, 4, 30)
    assert next_open_slot(april).id == april.id


def test_one_held_early_fills_the_next_open_slot_and_later_slots_point_there(village):
    unit, _, manager = village
    february, april, june = slots(unit)[:3]
    db.session.commit()
    with pytest.raises(TrackerError, match="next open slot"):
        submit(june, manager, "", "", NOW, Occurrence(date(2026, 1, 20), 9))
    db.session.rollback()
    submit(february, manager, "", "", NOW, Occurrence(date(2026, 1, 20), 9))
    submit(april, manager, "", "", NOW, Occurrence(date(2026, 2, 3), 9))
    db.session.commit()
    assert [t.status for t in slots(unit)[:3]] == [TaskStatus.SUBMITTED, TaskStatus.SUBMITTED,
                                                  TaskStatus.OPEN]


@pytest.mark.parametrize("occurrence, message", [
    (None, "date it was held"),
    (Occurrence(None, 5), "date it was held"),
    (Occurrence(date(2026, 12, 1), 5), "not after today"),
    (Occurrence(date(2025, 12, 30), 5), "must lie in 2026"),
    (Occurrence(date(2026, 3, 1), None), "how many took part"),
    (Occurrence(date(2026, 3, 1), 0), "how many took part"),
    (Occurrence(date(2026, 3, 1), 5, ("music",)), "Unknown mark"),
])
def test_a_bad_occurrence_is_refused_and_nothing_changes(village, snapshot, occurrence,
                                                         message):
    unit, _, manager = village
    first = slots(unit)[0]
    db.session.commit()
    before = snapshot()
    with pytest.raises(TrackerError, match=message):
        submit(first, manager, "", "", NOW, occurrence)
    db.session.rollback()
    assert snapshot() == before


def test_the_party_congress_plan_waits_for_its_date(village, client, login):
    unit, office, manager = village
    assert not slots(unit, "contingency-party-congress")
    assert [d.code for d in dates_to_set(YEAR, unit.kind)] == ["contingency-party-congress"]
    login(client, manager)
    assert "Date to be set" in client.get(f"/tasks?year={YEAR}").text
    plan = plan_for_year(YEAR)
    report = set_duty_date(plan, "contingency-party-congress", YEAR, date(2026, 9, 20), None,
                           NOW)
    db.session.commit()
    assert report.created == 2  # the village and the office
    assert [t.due_date for t in slots(unit, "contingency-party-congress")] == [date(2026, 9, 20)]
    assert not dates_to_set(YEAR, unit.kind)
    set_duty_date(plan, "contingency-party-congress", YEAR, date(2026, 10, 8), None, NOW)
    db.session.commit()
    assert [t.due_date for t in slots(office, "contingency-party-congress")] == [
        date(2026, 10, 8)]
    set_duty_date(plan, "contingency-party-congress", YEAR, None, None, NOW)
    db.session.commit()
    assert [t.status for t in slots(unit, "contingency-party-congress")] == [
        TaskStatus.CANCELLED]
    with pytest.raises(TrackerError, match="come from the plan"):
        set_duty_date(plan, "study-session", YEAR, date(2026, 9, 1), None, NOW)


def test_the_task_page_says_the_date_is_the_plans_choice(village, client, login):
    unit, _, manager = village
    login(client, manager)
    page = client.get(f"/tasks/{slots(unit)[0].id}", headers={"Accept-Language": "en"}).text
    assert "The plan chose this date" in page
    assert "每年集中学习研讨不少于6次" in page
    later = client.get(f"/tasks/{slots(unit)[2].id}").text
    assert "Record it on" in later and 'name="held_on"' not in later
    assert 'name="held_on"' in client.get(f"/tasks/{slots(unit)[0].id}").text
