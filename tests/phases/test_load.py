"""Loading a plan for a year into tasks, and loading it again."""

from collections import Counter
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.planfile import bundled_plans, parse_plan, read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.units.models import UnitKind

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
BUNDLED = bundled_plans()["shuyuan-2020"].read_text("utf-8")


@pytest.fixture
def town(create_unit):
    """A village, an office, an enterprise and the coordinator's office."""
    units = {
        "village": create_unit("洋溢村党总支", UnitKind.VILLAGE),
        "office": create_unit("党政办公室", UnitKind.OFFICE),
        "enterprise": create_unit("文化服务中心", UnitKind.ENTERPRISE),
        "coordinator": create_unit("镇党委宣传办", UnitKind.COORDINATOR),
    }
    db.session.commit()
    return units


def tasks(**where):
    query = sa.select(Task).order_by(Task.id)
    for key, value in where.items():
        query = query.where(getattr(Task, key) == value)
    return db.session.scalars(query).all()


def load(year=2026, data=None, now=NOW):
    spec = parse_plan(data, "changed.toml") if data else read_plan("shuyuan-2020")
    result = load_plan(spec, year, now)
    db.session.commit()
    return result


def occurrences(kind: str) -> int:
    """How many tasks a unit of ``kind`` gets from the bundled plan in 2026 (a duty whose
    date is set each year gets none until it is set)."""
    from tracker.phases.recurrence import expand_due

    return sum(len(expand_due(d.due, 2026, "Asia/Shanghai"))
               for d in read_plan("shuyuan-2020").duties
               if kind in d.applies_to and not d.due.get("set_by"))


def test_one_task_per_occurrence_per_applicable_unit(town):
    result = load()
    expected = {kind: occurrences(kind) for kind in town}
    assert result.tasks.created == sum(expected.values())
    per_unit = Counter(t.unit_id for t in tasks())
    assert {kind: per_unit[unit.id] for kind, unit in town.items()} == expected
    # A village has its own duties (practice station, 两委 study); an office does not.
    assert expected == {"village": 51, "office": 29, "enterprise": 30, "coordinator": 26}


def test_seed_counts_per_unit(town):
    load()
    for unit in (town["village"], town["office"], town["enterprise"]):
        codes = Counter(t.duty.code for t in tasks(unit_id=unit.id))
        assert codes["self-check-h1"] + codes["self-check-h2"] == 2
        assert codes["articles"] == 2
        assert not any(code.startswith("coord-") for code in codes)
    village = Counter(t.duty.code for t in tasks(unit_id=town["village"].id))
    office = Counter(t.duty.code for t in tasks(unit_id=town["office"].id))
    assert village["study-session"] == 6 and village["topic-meeting"] == 2
    assert village["civilization-practice"] == village["doorstep-station"] == 1
    for code in ("study-session", "topic-meeting", "civilization-practice", "brand-project"):
        assert office[code] == 0, code


def test_tasks_carry_due_date_phase_and_numbered_titles(town):
    load()
    study = tasks(unit_id=town["village"].id, year=2026)
    study = [t for t in study if t.duty.code == "study-session"]
    # On working days: 31 Oct 2026 is a Saturday (28 Feb a working Saturday, 调休).
    assert [t.due_date for t in study] == [date(2026, m, d) for m, d in
                                           [(2, 28), (4, 30), (6, 30), (8, 31), (10, 30), (12, 31)]]
    assert [t.planned_date for t in study] == [None] * 4 + [date(2026, 10, 31), None]
    assert [t.phase.code for t in study] == ["P1", "P1", "P2", "P3", "P3", "P4"]
    assert study[2].title == "两委班子集中学习研讨（两委成员学习日）（第3次，共6次）"
    assert study[2].title_en.endswith("(3/6)")
    assert all(t.status == TaskStatus.OPEN for t in study)


def test_loading_again_changes_nothing(town, snapshot):
    load()
    before = snapshot()
    result = load(now=LATER)
    assert result.tasks.created == result.tasks.updated == result.tasks.cancelled == 0
    assert result.tasks.unchanged == len(tasks())
    assert not result.definitions_changed
    assert snapshot() == before


def test_a_changed_plan_updates_open_tasks_and_keeps_finished_ones(town):
    load()
    meetings = [t for t in tasks(unit_id=town["village"].id) if t.duty.code == "topic-meeting"]
    accepted = [t for t in tasks() if t.duty.code == "theory-study" and t.seq == 1
                and t.unit_id == town["office"].id][0]
    accepted.status = TaskStatus.ACCEPTED
    db.session.commit()

    # The first duty due on 06-30 and 12-15 is the topic meeting; theory study follows.
    changed = (BUNDLED.replace('dates = ["06-30", "12-15"]', 'dates = ["06-15", "12-15"]')
               .replace('title = "在镇级平台上发布文章"', 'title = "在镇级平台发布文章"'))
    # Drop one of the contingency plans: its open tasks are cancelled.
    start = changed.index('code = "contingency-falungong-ban"')
    start = changed.rindex("[[duties]]", 0, start)
    end = changed.index("[[duties]]", start + 10)
    changed = (changed[:start] + changed[end:]).replace('"contingency-falungong-ban", ', "")
    assert "topic-meeting" in changed[changed.index('dates = ["06-15", "12-15"]') - 2000:]
    result = load(data=changed.encode(), now=LATER)

    db.session.expire_all()
    assert result.definitions_changed
    assert meetings[0].due_date == date(2026, 6, 15)
    assert meetings[1].due_date == date(2026, 12, 15)
    assert accepted.due_date == date(2026, 6, 30), "an accepted task keeps its date"
    assert result.tasks.kept_finished == 1  # the office's accepted theory study
    articles = [t for t in tasks() if t.duty.code == "articles"]
    assert all(t.title.startswith("在镇级平台发布文章") for t in articles)
    dropped = [t for t in tasks() if t.duty.code == "contingency-falungong-ban"]
    assert dropped and all(t.status == TaskStatus.CANCELLED for t in dropped)
    assert result.tasks.cancelled == len(dropped)
    assert result.tasks.created == 0

    history = db.session.scalars(
        sa.select(TaskEvent).where(TaskEvent.task_id == meetings[0].id)).all()
    assert [(e.kind, e.changes["due_date"], e.at) for e in history] == [
        (TaskEventKind.PLAN_UPDATED, ["2026-06-30", "2026-06-15"], LATER)]

    # Loading the original plan again brings the dropped back.
    result = load(now=LATER)
    db.session.expire_all()
    assert result.tasks.restored == len(dropped)
    assert all(t.status == TaskStatus.OPEN for t in dropped)
    assert meetings[0].due_date == date(2026, 6, 30)


def test_another_year_is_kept_apart(town, snapshot):
    load(2026)
    count_2026 = len(tasks(year=2026))
    result = load(2027)
    assert result.tasks.created == count_2026
    assert len(tasks(year=2026)) == count_2026
    assert {t.due_date.year for t in tasks(year=2027)} == {2027}


def test_a_unit_added_later_gets_its_tasks_on_the_next_load(town, create_unit):
    first = load()
    late = create_unit("新北村党支部", UnitKind.BRANCH)
    db.session.commit()
    result = load(now=LATER)
    assert result.tasks.created == occurrences("branch")
    assert len(tasks(unit_id=late.id)) == result.tasks.created
    assert result.tasks.unchanged == first.tasks.created


def test_statement_count_does_not_grow_with_units(app, create_unit):
    """Bulk inserts: the same number of statements for 4 units and for 40."""
    load(2025)  # installs the plan's definitions once
    counts = []
    for n, year in ((4, 2026), (40, 2027)):
        for i in range(n):
            create_unit(f"unit-{year}-{i}", UnitKind.BRANCH)
        db.session.commit()
        statements = []

        def count(*args):
            statements.append(args[2])

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            load(year)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_rubric_is_stored_as_a_tree(town):
    from tracker.phases.models import RubricNode

    load()
    nodes = {n.code: n for n in db.session.scalars(sa.select(RubricNode))}
    assert sum(n.is_leaf for n in nodes.values()) == 32
    assert nodes["1-1-1"].parent.code == "1-1" and nodes["1-1"].parent.code == "1"
    assert nodes["5-1"].parent.code == "5" and not nodes["5-1"].numbered
    assert sum(n.points for n in nodes.values() if n.parent is None) == 100


def test_new_tasks_are_stored_alike_on_every_database(app, town):
    """New tasks go in as one executemany, or on PostgreSQL as a COPY that bypasses
    SQLAlchemy: every column must read back as the ORM would have written it."""
    now = datetime(2026, 1, 5, 2, 30, 15, tzinfo=timezone.utc)
    load_plan(read_plan("shuyuan-2020"), 2026, now)
    db.session.commit()
    db.session.expire_all()
    tasks = db.session.scalars(sa.select(Task).order_by(Task.id)).all()
    assert tasks
    for task in tasks:
        assert task.status is TaskStatus.OPEN and task.due_manual is False
        assert task.created_at == task.updated_at == now
        assert task.created_at.tzinfo is not None
        assert task.note == task.statement == task.review_comment == ""
        assert task.description == "" and task.flags == []
        assert task.title and task.year == 2026 and task.plan_id and task.duty_id
    with_phase = [t for t in tasks if t.phase_id is not None]
    assert with_phase and any(t.title_en for t in tasks)
    # The stored instant is naive UTC, as UTCDateTime stores it.
    raw = db.session.execute(sa.text("SELECT created_at FROM tasks LIMIT 1")).scalar()
    assert str(raw).startswith("2026-01-05 02:30:15")
