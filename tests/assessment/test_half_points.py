"""Points in halves (issue 25): a plan whose rows are worth 2.5 and 3.5 loads, scores and
exports with its halves (no int() on the way)."""

import csv
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tracker.assessment.services import add_deduction, get_or_start, results
from tracker.core.errors import TrackerError
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import RubricNode
from tracker.phases.planfile import PlanError, bundled_plans, parse_plan
from tracker.phases.services import plan_for_year
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus

ROW_1 = 'code = "1-1-1"'
ROW_2 = 'code = "1-1-2"'


def half_plan_text() -> str:
    """The bundled plan, its rows 1-1-1 and 1-1-2 worth 2.5 and 3.5 (item 1-1 still 6)."""
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    for code, points in ((ROW_1, "2.5"), (ROW_2, "3.5")):
        head, _, tail = text.partition(code)
        tail = tail.replace("points = 3", f"points = {points}", 1)
        text = head + code + tail
    return text


@pytest.fixture
def half_year(town):
    year = town.year + 1
    load_plan(parse_plan(half_plan_text().encode(), "half.toml"), year, utcnow())
    db.session.commit()
    return year


def node(code):
    return db.session.scalar(sa.select(RubricNode).where(RubricNode.code == code)
                             .order_by(RubricNode.id.desc()))


def test_the_plan_file_takes_halves_and_nothing_finer():
    spec = parse_plan(half_plan_text().encode(), "half.toml")
    rows = [n for g in spec.rubric for n in g.walk() if n.is_leaf]
    assert [r.points for r in rows[:2]] == [2.5, 3.5] and spec.rubric_total == 100
    finer = half_plan_text().replace("points = 2.5", "points = 2.25").replace(
        "points = 3.5", "points = 3.75")
    with pytest.raises(PlanError, match="'points' must be a number of points, whole or in "
                                        "halves"):
        parse_plan(finer.encode(), "finer.toml")


def test_halves_are_stored_scored_and_exported(town, half_year, runner, tmp_path):
    assert node("1-1-1").points == Decimal("2.5") and node("1-1").points == 6
    assert isinstance(node("1-1").points, int)  # whole points read back whole
    unit = town.units.a
    for task in db.session.scalars(sa.select(Task).where(Task.unit_id == unit.id,
                                                         Task.year == half_year)):
        task.status = TaskStatus.ACCEPTED
        if (task.duty.occurrence or {}).get("flags") and task.seq == 1:
            task.flags = ["ideology"]  # every minimum met: one session on ideology
    db.session.commit()
    plan = plan_for_year(half_year)
    result = results(plan, half_year, [unit])[unit.id]
    assert result.total == 100
    assessment = get_or_start(unit, plan, half_year, town.users.admin, utcnow())
    add_deduction(assessment, node("1-1-1").id, "0.5", "少一份文件", town.users.admin,
                  utcnow())
    with pytest.raises(TrackerError, match="Row 1-1-1 is worth 2.5 points"):
        add_deduction(assessment, node("1-1-1").id, "2.5", "再扣", town.users.admin, utcnow())
    db.session.commit()
    assert results(plan, half_year, [unit])[unit.id].total == Decimal("99.5")

    out = tmp_path / "unit.csv"
    done = runner.invoke(args=["assessment", "export", "--year", str(half_year), "--unit",
                               unit.name, "-o", str(out)])
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = next(r for r in rows if r["工作要求"].startswith("1-1-1"))
    second = next(r for r in rows if r["工作要求"].startswith("1-1-2"))
    assert (first["分值"], first["得分"], second["分值"]) == ("2.5", "2", "3.5")
    xlsx = tmp_path / "sheet.xlsx"
    done = runner.invoke(args=["assessment", "export", "--year", str(half_year), "-o",
                               str(xlsx)])
    assert done.exit_code == 0, done.output
    values = [cell.value for row in load_workbook(xlsx)[unit.name].iter_rows()
              for cell in row]
    assert 2.5 in values and 3.5 in values
