"""Assessments: scores from evidence, self-assessment, deductions, locking. Flush only."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.assessment.models import Assessment, AssessmentRow, Deduction, DeductionSource
from tracker.assessment.scoring import ZERO, row_score, sheet_layout, suggested_score
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.models import Duty, Plan, PlanYear, RubricNode, duty_rubric
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import create_adhoc
from tracker.units.models import ASSESSED_KINDS, Unit

MAX_NOTE = 2000


def plan_for_year(year: int) -> Plan:
    """The plan loaded for ``year`` (the latest loaded, if several)."""
    plan_year = db.session.scalars(
        sa.select(PlanYear).where(PlanYear.year == year)
        .options(selectinload(PlanYear.plan).selectinload(Plan.rubric_nodes))
        .order_by(PlanYear.loaded_at.desc())
    ).first()
    if plan_year is None:
        raise TrackerError(_("No plan is loaded for %(year)d: load one first.", year=year))
    return plan_year.plan


def rubric_tree(plan: Plan):
    """The plan's active rubric as (groups, leaves), children attached as ``children``."""
    nodes = [n for n in plan.rubric_nodes if n.active]
    children = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    for node in nodes:
        node.children = sorted(children[node.id], key=lambda n: n.position)
    groups = sorted(children[None], key=lambda n: n.position)
    return groups, [n for n in sorted(nodes, key=lambda n: n.position) if n.is_leaf]


def statement_caps(plan: Plan) -> dict[int, int]:
    """Rubric leaf id -> the character cap of the statement a duty serving it asks for."""
    caps = {}
    rows = db.session.execute(
        sa.select(duty_rubric.c.node_id, Duty.evidence)
        .join(Duty, Duty.id == duty_rubric.c.duty_id).where(Duty.plan_id == plan.id)
    ).all()
    for node_id, evidence in rows:
        for item in evidence:
            if item["kind"] == "statement":
                caps[node_id] = item["max_chars"]
    return caps


def evidence_counts(plan: Plan, year: int, unit_ids=None) -> dict:
    """(unit id, leaf id) -> (tasks serving the row, of which accepted), in one query."""
    accepted = sa.func.sum(sa.case((Task.status == TaskStatus.ACCEPTED, 1), else_=0))
    query = (
        sa.select(Task.unit_id, duty_rubric.c.node_id, sa.func.count(), accepted)
        .join(duty_rubric, duty_rubric.c.duty_id == Task.duty_id)
        .where(Task.plan_id == plan.id, Task.year == year,
               Task.status != TaskStatus.CANCELLED)
        .group_by(Task.unit_id, duty_rubric.c.node_id)
    )
    if unit_ids is not None:
        query = query.where(Task.unit_id.in_(unit_ids))
    return {(u, n): (total, int(acc or 0)) for u, n, total, acc in db.session.execute(query)}


@dataclass
class RowResult:
    node: RubricNode
    tasks: int
    accepted: int
    suggested: Decimal
    deducted: Decimal
    final: Decimal
    self_score: Decimal | None = None
    self_note: str = ""
    statement: str = ""
    deductions: list = field(default_factory=list)


@dataclass
class UnitResult:
    unit: Unit
    assessment: Assessment | None
    rows: dict  # leaf id -> RowResult

    @property
    def total(self) -> Decimal:
        return sum((r.final for r in self.rows.values()), ZERO)

    @property
    def self_total(self) -> Decimal | None:
        scores = [r.self_score for r in self.rows.values()]
        return None if any(s is None for s in scores) else sum(scores, ZERO)

    def group_total(self, group) -> Decimal:
        return sum((r.final for r in self.rows.values() if _in_group(r.node, group)), ZERO)


def _in_group(node, group) -> bool:
    while node is not None:
        if node.id == group.id:
            return True
        node = node.parent
    return False


def results(plan: Plan, year: int, units: list[Unit]) -> dict[int, UnitResult]:
    """Each unit's score per rubric row: the coordinator's (rows less deductions) where an
    assessment exists, else what the evidence suggests. A fixed number of queries."""
    _, leaves = rubric_tree(plan)
    counts = evidence_counts(plan, year, [u.id for u in units])
    assessments = {a.unit_id: a for a in db.session.scalars(
        sa.select(Assessment).where(Assessment.plan_id == plan.id, Assessment.year == year,
                                    Assessment.unit_id.in_([u.id for u in units]))
        .options(selectinload(Assessment.rows), selectinload(Assessment.deductions)
                 .selectinload(Deduction.rectification_task))
    )}
    out = {}
    for unit in units:
        assessment = assessments.get(unit.id)
        own_rows = {r.node_id: r for r in assessment.rows} if assessment else {}
        by_row = defaultdict(list)
        for d in (assessment.deductions if assessment else []):
            by_row[d.node_id].append(d)
        rows = {}
        for leaf in leaves:
            total, accepted = counts.get((unit.id, leaf.id), (0, 0))
            suggested = suggested_score(leaf.points, total, accepted)
            deducted = sum((d.points for d in by_row[leaf.id]), ZERO)
            final = row_score(leaf.points, deducted) if assessment else suggested
            own = own_rows.get(leaf.id)
            rows[leaf.id] = RowResult(
                node=leaf, tasks=total, accepted=accepted, suggested=suggested,
                deducted=deducted, final=final, deductions=by_row[leaf.id],
                self_score=own.self_score if own else None,
                self_note=own.self_note if own else "", statement=own.statement if own else "")
        out[unit.id] = UnitResult(unit=unit, assessment=assessment, rows=rows)
    return out


def assessed_units() -> list[Unit]:
    """The units scored on the rubric: active branches, offices and enterprises."""
    return db.session.scalars(
        sa.select(Unit).where(Unit.active, Unit.kind.in_(ASSESSED_KINDS))
        .order_by(Unit.kind, Unit.name)).all()


def _check_open(assessment: Assessment) -> None:
    if assessment.locked:
        raise TrackerError(_("This assessment is locked: it changes no more."))


def get_or_start(unit: Unit, plan: Plan, year: int, actor, now: datetime) -> Assessment:
    """The unit's assessment; begun, with the deductions the evidence suggests, if new."""
    assessment = db.session.scalar(sa.select(Assessment).where(
        Assessment.unit_id == unit.id, Assessment.plan_id == plan.id, Assessment.year == year))
    if assessment is None:
        assessment = Assessment(unit=unit, plan=plan, year=year, created_at=now, updated_at=now)
        db.session.add(assessment)
        db.session.flush()
        _add_evidence_deductions(assessment, actor, now)
    return assessment


def _add_evidence_deductions(assessment: Assessment, actor, now: datetime) -> None:
    _, leaves = rubric_tree(assessment.plan)
    counts = evidence_counts(assessment.plan, assessment.year, [assessment.unit_id])
    for leaf in leaves:
        total, accepted = counts.get((assessment.unit_id, leaf.id), (0, 0))
        if suggested_score(leaf.points, total, accepted) < leaf.points:
            reason = f"{leaf.deduction}（{total - accepted}/{total}）"
            db.session.add(Deduction(assessment=assessment, node=leaf, points=leaf.points,
                                     reason=reason, source=DeductionSource.EVIDENCE,
                                     created_by=actor, created_at=now))
    db.session.flush()


def refresh_from_evidence(assessment: Assessment, actor, now: datetime) -> None:
    """Recompute the evidence deductions (e.g. after more work was accepted)."""
    _check_open(assessment)
    for deduction in list(assessment.deductions):
        if deduction.source == DeductionSource.EVIDENCE and not deduction.rectification_task_id:
            assessment.deductions.remove(deduction)
    db.session.flush()
    _add_evidence_deductions(assessment, actor, now)
    assessment.updated_at = now


def parse_points(value) -> Decimal:
    """A score or deduction as typed: a number with at most one decimal."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise TrackerError(_("'%(value)s' is not a number.", value=value)) from None
    if not number.is_finite() or number != number.quantize(Decimal("0.1")):
        raise TrackerError(_("Give points with at most one decimal, e.g. 1.5."))
    return number


def _leaf(assessment: Assessment, node_id: int) -> RubricNode:
    node = db.session.get(RubricNode, node_id)
    if node is None or node.plan_id != assessment.plan_id or not node.is_leaf:
        raise TrackerError(_("No such rubric row in this plan."))
    return node


def add_deduction(assessment: Assessment, node_id: int, points, reason: str, actor,
                  now: datetime) -> Deduction:
    """Take points off a row, with the reason; the row may not go below zero."""
    _check_open(assessment)
    node = _leaf(assessment, node_id)
    points = parse_points(points)
    reason = (reason or "").strip()
    if points <= 0:
        raise TrackerError(_("A deduction must take off more than 0 points."))
    if not reason:
        raise TrackerError(_("Give the reason for the deduction."))
    if len(reason) > MAX_NOTE:
        raise TrackerError(_("The reason is longer than %(n)d characters.", n=MAX_NOTE))
    already = sum((d.points for d in assessment.deductions if d.node_id == node.id), ZERO)
    if already + points > node.points:
        raise TrackerError(_("Row %(code)s is worth %(max)d points; with this deduction its "
                             "score would fall below zero.", code=node.code, max=node.points))
    deduction = Deduction(assessment=assessment, node=node, points=points, reason=reason,
                          source=DeductionSource.COORDINATOR, created_by=actor, created_at=now)
    db.session.add(deduction)
    assessment.updated_at = now
    db.session.flush()
    return deduction


def remove_deduction(assessment: Assessment, deduction: Deduction, now: datetime) -> None:
    """Withdraw a deduction (the row regains its points)."""
    _check_open(assessment)
    assessment.deductions.remove(deduction)
    assessment.updated_at = now
    db.session.flush()


def set_self_assessment(assessment: Assessment, node_id: int, score, note: str,
                        statement: str, now: datetime) -> AssessmentRow:
    """The unit's own score for a row, its explanation and the row's written statement."""
    _check_open(assessment)
    node = _leaf(assessment, node_id)
    value = None if str(score or "").strip() == "" else parse_points(score)
    if value is not None and not 0 <= value <= node.points:
        raise TrackerError(_("The score of row %(code)s must lie between 0 and %(max)d.",
                             code=node.code, max=node.points))
    note = (note or "").replace("\r\n", "\n").strip()
    statement = (statement or "").replace("\r\n", "\n").strip()
    if len(note) > MAX_NOTE:
        raise TrackerError(_("The explanation is longer than %(n)d characters.", n=MAX_NOTE))
    cap = statement_caps(assessment.plan).get(node.id)
    if statement and cap is None:
        raise TrackerError(_("Row %(code)s asks for no written statement.", code=node.code))
    if cap is not None and len(statement) > cap:
        raise TrackerError(_("The statement has %(count)d characters; at most %(cap)d are "
                             "allowed.", count=len(statement), cap=cap))
    row = next((r for r in assessment.rows if r.node_id == node.id), None)
    if row is None:
        row = AssessmentRow(assessment=assessment, node=node)
        db.session.add(row)
    row.self_score, row.self_note, row.statement = value, note, statement
    assessment.updated_at = now
    db.session.flush()
    return row


def lock(assessment: Assessment, actor, now: datetime) -> None:
    """Declare the score final."""
    _check_open(assessment)
    assessment.locked_at, assessment.locked_by = now, actor
    db.session.flush()


def rectify(assessment: Assessment, deduction: Deduction, due: date, actor,
            now: datetime) -> Task:
    """Turn a deduction into a rectification task (整改) for the unit."""
    if deduction.rectification_task_id:
        raise TrackerError(_("A rectification task exists for this deduction already."))
    node = deduction.node
    title = f"整改：{node.code if node.numbered else ''} {node.requirement}"[:120].strip()
    task, = create_adhoc(actor, [assessment.unit], title, deduction.reason, due, now)
    deduction.rectification_task = task
    db.session.flush()
    return task


def layout_for(plan: Plan):
    """The scoring sheet's layout for ``plan``."""
    groups, _ = rubric_tree(plan)
    return sheet_layout(groups), groups
