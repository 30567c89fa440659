"""Assessments: scores from evidence, self-assessment, deductions, locking. Flush only."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, DecimalException

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.assessment.models import (Assessment, AssessmentRow, Deduction, DeductionSource,
                                       MinimumWaiver)
from tracker.assessment.scoring import (GAP_NO_TASK, GAP_NOT_DUE, ZERO, Minimum,
                                        evidence_verdict, rank, rank_within, row_score,
                                        scaled_total, sheet_layout, shortfall_prefix,
                                        with_minimums)
from tracker.core.errors import TrackerError
from tracker.core.text import check_text
from tracker.core.timeutil import local_today
from tracker.extensions import db
from tracker.phases.models import Duty, Plan, RubricNode, duty_rubric
from tracker.phases.planspec import DEFAULT_RANKING
from tracker.phases.rubricrules import DEFAULT_MATCH, kind_of
from tracker.tasks.models import Task, TaskStatus
from tracker.units.models import ASSESSED_KINDS, RowRuleMode, Unit, UnitRowRule

MAX_NOTE = 2000


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


def work_counts(plan: Plan, year: int, unit_ids=None) -> tuple[dict, dict]:
    """The units' work on the plan's duties this year, in two queries:
    {(unit id, duty id): (tasks, accepted, first due date of those not accepted)} and, for
    duties recorded by occurrence, {(unit id, duty id, flag): accepted tasks carrying that
    flag}. Cancelled tasks count for nothing."""
    accepted = sa.func.sum(sa.case((Task.status == TaskStatus.ACCEPTED, 1), else_=0))
    first_open = sa.func.min(sa.case((Task.status != TaskStatus.ACCEPTED, Task.due_date),
                                     else_=None))
    where = [Task.plan_id == plan.id, Task.year == year, Task.duty_id.is_not(None),
             Task.status != TaskStatus.CANCELLED]
    if unit_ids is not None:
        where.append(Task.unit_id.in_(unit_ids))
    counts = {(u, d): (total, int(acc or 0), first) for u, d, total, acc, first in
              db.session.execute(
                  sa.select(Task.unit_id, Task.duty_id, sa.func.count(), accepted, first_open)
                  .where(*where).group_by(Task.unit_id, Task.duty_id))}
    flagged: dict = defaultdict(int)
    with_flags = [d.id for d in plan.duties if (d.occurrence or {}).get("flags")]
    if with_flags:
        for unit_id, duty_id, flags in db.session.execute(
                sa.select(Task.unit_id, Task.duty_id, Task.flags).where(
                    *where, Task.status == TaskStatus.ACCEPTED, Task.duty_id.in_(with_flags))):
            for flag in flags or ():
                flagged[(unit_id, duty_id, flag)] += 1
    return counts, flagged


@dataclass(frozen=True)
class UnitWork:
    """One unit's accepted work, from ``work_counts``, as the kinds of minimum count it
    (``tracker.phases.rubricrules.Work``)."""

    unit_id: int
    counts: dict
    flagged: dict

    def accepted(self, duty_id: int) -> int:
        return self.counts.get((self.unit_id, duty_id), (0, 0))[1]

    def marked(self, duty_id: int, flag: str) -> int:
        return self.flagged.get((self.unit_id, duty_id, flag), 0)


def applies(node: RubricNode, kind) -> bool:
    """Whether a leaf row applies to units of ``kind`` (an empty list: to every kind)."""
    return str(kind) in (node.applies_to or ASSESSED_KINDS)


def row_rules(year: int, unit_ids) -> dict[tuple[int, str], UnitRowRule]:
    """The coordinator's exemptions and inclusions of ``year``: {(unit id, row code): rule}."""
    return {(r.unit_id, r.code): r for r in db.session.scalars(
        sa.select(UnitRowRule).where(UnitRowRule.year == year,
                                     UnitRowRule.unit_id.in_(list(unit_ids))))}


def applies_to_unit(node: RubricNode, unit: Unit, rules: dict) -> tuple[bool, str]:
    """Whether a leaf row applies to ``unit`` this year, and the coordinator's reason where
    it exempted the unit: an exemption or inclusion first, else the unit's kind."""
    rule = rules.get((unit.id, node.code))
    if rule is not None:
        if rule.mode == RowRuleMode.EXEMPT:
            return False, rule.reason
        return True, ""
    return applies(node, unit.kind), ""


def waivers(plan: Plan, year: int, unit_ids) -> dict[tuple[int, int], dict]:
    """The minimums waived: {(unit id, row id): {label: waiver}}."""
    found = defaultdict(dict)
    for w in db.session.scalars(
            sa.select(MinimumWaiver).where(MinimumWaiver.plan_id == plan.id,
                                           MinimumWaiver.year == year,
                                           MinimumWaiver.unit_id.in_(list(unit_ids)))):
        found[(w.unit_id, w.node_id)][w.label] = w
    return found


@dataclass
class Evidence:
    """One duty named by a row's 扣分标准, and the unit's work on it."""

    duty: Duty
    tasks: int
    accepted: int
    #: The earliest due date of its tasks not yet accepted (None: all accepted, or none).
    first_open: date | None = None


@dataclass
class RowResult:
    node: RubricNode
    #: Whether the row applies to the unit's kind; one that does not reads 不适用.
    applicable: bool
    evidence: list[Evidence]
    minimums: list[Minimum]
    suggested: Decimal
    deducted: Decimal
    final: Decimal
    self_score: Decimal | None = None
    self_note: str = ""
    statement: str = ""
    deductions: list = field(default_factory=list)
    #: Why the coordinator exempted the unit from the row ("" where it does not apply by
    #: the unit's kind, or applies).
    na_reason: str = ""
    #: Why the evidence supports less than the row's points (``scoring.GAP_*``), or "".
    gap: str = ""
    #: The minimums the coordinator waived: {label: MinimumWaiver}.
    waived: dict = field(default_factory=dict)
    #: A party organisation's own row of a unit that names its party organisation: the
    #: organisation whose evidence it is scored on (its name).
    evidence_at: str = ""
    #: A party organisation's own row: the units whose row its evidence answers too.
    also_for: list = field(default_factory=list)

    @property
    def met(self) -> bool:
        """Whether the evidence its 扣分标准 names is there (minimums apart)."""
        return self.applicable and not self.gap


@dataclass
class UnitResult:
    unit: Unit
    assessment: Assessment | None
    rows: dict  # leaf id -> RowResult
    #: The plan's rule for rows that do not apply (``rescale`` or ``full``), its total.
    rule: str = "rescale"
    out_of: int = 100

    @property
    def raw(self) -> Decimal:
        """The points of the applicable rows the unit keeps."""
        return sum((r.final for r in self.rows.values() if r.applicable), ZERO)

    @property
    def possible(self) -> int:
        """The points of the rows that apply to the unit."""
        return sum(r.node.points for r in self.rows.values() if r.applicable)

    @property
    def total(self) -> Decimal:
        """The unit's score by the plan's rule: what ranks and what the sheet totals."""
        if self.possible == self.out_of:
            return self.raw
        return scaled_total(self.raw, self.possible, self.out_of, self.rule)

    @property
    def self_total(self) -> Decimal | None:
        scores = [r.self_score for r in self.rows.values() if r.applicable]
        return None if any(s is None for s in scores) else sum(scores, ZERO)

    def group_total(self, group) -> Decimal:
        return sum((r.final for r in self.rows.values()
                    if r.applicable and _in_group(r.node, group)), ZERO)

    def group_possible(self, group):
        """The points of the group's rows that apply to the unit (0: none applies)."""
        return sum(r.node.points for r in self.rows.values()
                   if r.applicable and _in_group(r.node, group))

    @property
    def final(self) -> bool:
        """Whether the coordinator locked the sheet; until then its figures are 未定稿."""
        return bool(self.assessment and self.assessment.locked)


def _in_group(node, group) -> bool:
    while node is not None:
        if node.id == group.id:
            return True
        node = node.parent
    return False


def _serving(plan: Plan) -> dict[int, list[Duty]]:
    """Leaf id -> the active duties serving it, in the plan's order."""
    duties = {d.id: d for d in plan.duties if d.active}
    serving = defaultdict(list)
    for duty_id, node_id in db.session.execute(
            sa.select(duty_rubric.c.duty_id, duty_rubric.c.node_id)
            .join(Duty, Duty.id == duty_rubric.c.duty_id).where(Duty.plan_id == plan.id)):
        if duty_id in duties:
            serving[node_id].append(duties[duty_id])
    for rows in serving.values():
        rows.sort(key=lambda d: d.position)
    return serving


def score_row(leaf: RubricNode, unit: Unit, serving: list[Duty], counts: dict,
              flagged: dict, today: date | None = None,
              waived=()) -> tuple[list[Evidence], list[Minimum], Decimal, str]:
    """The evidence a row's 扣分标准 names, its 工作要求's minimums, the score they
    suggest for one unit (accepted evidence, less the shortfalls of minimums not
    ``waived``) and why it falls short of the evidence's points (``GAP_*``)."""
    named = leaf.evidence or [d.code for d in serving]
    evidence = [Evidence(d, *counts.get((unit.id, d.id), (0, 0, None)))
                for d in serving if d.code in named]
    by_code = {d.code: d for d in serving}
    work = UnitWork(unit.id, counts, flagged)
    minimums = []
    for need in leaf.requires or ():
        duties = [by_code[c] for c in need["duties"] if c in by_code]
        asked = sum(counts.get((unit.id, d.id), (0,))[0] for d in duties)
        if not asked and not any(str(unit.kind) in d.applies_to for d in duties):
            continue  # none of its duties is the unit's to do
        count = kind_of(need).count(need, [d.id for d in duties], work)
        at_least = asked if need["at_least"] == "all" else need["at_least"]
        if not at_least:
            continue  # "every task" of duties that asked nothing this year (a date unset)
        minimums.append(Minimum(need["label"], need.get("label_en", ""), at_least, count,
                                Decimal(str(need["deduct"]))))
    base, gap = evidence_verdict(leaf.points,
                                 [(e.tasks, e.accepted, e.first_open) for e in evidence],
                                 leaf.evidence_match or DEFAULT_MATCH, today)
    return evidence, minimums, with_minimums(base, minimums, waived), gap


def results(plan: Plan, year: int, units: list[Unit],
            today: date | None = None) -> dict[int, UnitResult]:
    """Each unit's score per rubric row: the coordinator's (rows less deductions) where an
    assessment exists, else what the evidence suggests; rows that do not apply to the
    unit (its kind, or the coordinator's exemption) read 不适用. ``today`` tells work not
    yet due from work missing, in the reasons. A fixed number of queries."""
    _, leaves = rubric_tree(plan)
    serving = _serving(plan)
    unit_ids = [u.id for u in units]
    everyone = {u.id: u for u in units}
    org_ids = {u.party_org_id for u in units if u.party_org_id} - set(everyone)
    if org_ids:
        everyone.update({u.id: u for u in db.session.scalars(
            sa.select(Unit).where(Unit.id.in_(org_ids)))})
    members = defaultdict(list)
    for org_id, name in db.session.execute(
            sa.select(Unit.party_org_id, Unit.name)
            .where(Unit.party_org_id.in_(unit_ids), Unit.active).order_by(Unit.name)):
        members[org_id].append(name)
    counts, flagged = work_counts(plan, year, list(everyone))
    rules = row_rules(year, unit_ids)
    waived_all = waivers(plan, year, unit_ids)
    assessments = {a.unit_id: a for a in db.session.scalars(
        sa.select(Assessment).where(Assessment.plan_id == plan.id, Assessment.year == year,
                                    Assessment.unit_id.in_(unit_ids))
        .options(selectinload(Assessment.rows), selectinload(Assessment.deductions)
                 .selectinload(Deduction.rectification_task))
    )}
    out = {}
    for unit in units:
        record = assessments.get(unit.id)
        own_rows = {r.node_id: r for r in record.rows} if record else {}
        # Only the coordinator begins an assessment; until then the scores are the
        # evidence's, and the record holds the unit's self-assessment only.
        assessment = record if record and record.begun_at else None
        by_row = defaultdict(list)
        for d in (assessment.deductions if assessment else []):
            by_row[d.node_id].append(d)
        rows = {}
        for leaf in leaves:
            applicable, na_reason = applies_to_unit(leaf, unit, rules)
            waived = waived_all.get((unit.id, leaf.id), {})
            # A party organisation's own row is scored on the organisation's evidence.
            org = (everyone.get(unit.party_org_id)
                   if leaf.party_org and unit.party_org_id else None)
            evidence, minimums, suggested, gap = (
                score_row(leaf, org or unit, serving.get(leaf.id, []), counts, flagged,
                          today, waived) if applicable else ([], [], ZERO, ""))
            deducted = sum((d.points for d in by_row[leaf.id]), ZERO)
            final = row_score(leaf.points, deducted) if assessment else suggested
            own = own_rows.get(leaf.id)
            rows[leaf.id] = RowResult(
                node=leaf, applicable=applicable, evidence=evidence, minimums=minimums,
                suggested=suggested, deducted=deducted,
                final=final if applicable else ZERO, deductions=by_row[leaf.id],
                self_score=own.self_score if own else None,
                self_note=own.self_note if own else "", statement=own.statement if own else "",
                na_reason=na_reason, gap=gap, waived=waived,
                evidence_at=org.name if org else "",
                also_for=members[unit.id] if leaf.party_org else [])
        out[unit.id] = UnitResult(unit=unit, assessment=assessment, rows=rows,
                                  rule=plan.not_applicable or "rescale",
                                  out_of=plan.rubric_total or 100)
    return out


def assessed_units() -> list[Unit]:
    """The units scored on the rubric: active branches, offices and enterprises."""
    return db.session.scalars(
        sa.select(Unit).where(Unit.active, Unit.kind.in_(ASSESSED_KINDS))
        .order_by(Unit.kind, Unit.name)).all()


def _check_open(assessment: Assessment) -> None:
    if assessment.locked:
        raise TrackerError(_("This assessment is locked: it changes no more."))


def get_or_start(unit: Unit, plan: Plan, year: int, actor, now: datetime,
                 begin: bool = True) -> Assessment:
    """The unit's assessment; begun (with the deductions the evidence suggests, in
    ``actor``'s name) if it was not and ``begin``. Without ``begin`` (a unit's own
    self-assessment) a record that has not begun may be made, to hold it."""
    assessment = db.session.scalar(sa.select(Assessment).where(
        Assessment.unit_id == unit.id, Assessment.plan_id == plan.id, Assessment.year == year))
    if assessment is None:
        assessment = Assessment(unit=unit, plan=plan, year=year, created_at=now, updated_at=now)
        db.session.add(assessment)
        db.session.flush()
    if begin and assessment.begun_at is None:
        assessment.begun_at = now
        _add_evidence_deductions(assessment, actor, now)
    return assessment


def gap_reason(leaf: RubricNode, evidence: list[Evidence], gap: str) -> str:
    """The reason a row scores nothing, in the document's words (its 扣分标准) and what
    the unit's tasks show."""
    if gap == GAP_NO_TASK:
        return f"{leaf.deduction}（本单位本年度没有提供此项材料的任务）"
    lacking = "、".join(e.duty.title for e in evidence if e.tasks and not e.accepted)
    if gap == GAP_NOT_DUE:
        return f"{leaf.deduction}（{lacking}：尚未到期）"
    return f"{leaf.deduction}（{lacking}）"


def _add_evidence_deductions(assessment: Assessment, actor, now: datetime) -> None:
    """For each row that applies: a deduction of the whole row where the evidence its
    扣分标准 names is not there (the seed's "未能提供X", naming what is missing), else one
    for each minimum of its 工作要求 not met and not waived, of the plan's amount."""
    plan, unit, year = assessment.plan, assessment.unit, assessment.year
    scored = results(plan, year, [unit], local_today(now, plan.timezone))[unit.id]
    for row in scored.rows.values():
        if not row.applicable:
            continue
        leaf = row.node
        if row.gap:
            _deduct(assessment, leaf, Decimal(str(leaf.points)),
                    gap_reason(leaf, row.evidence, row.gap), actor, now)
            continue
        left = Decimal(str(leaf.points))
        for minimum in row.minimums:
            if not minimum.met and minimum.label not in row.waived and left > 0:
                points = min(minimum.deduct, left)
                _deduct(assessment, leaf, points, minimum.reason, actor, now)
                left -= points
    db.session.flush()


def _deduct(assessment, leaf, points, reason, actor, now) -> None:
    db.session.add(Deduction(assessment=assessment, node=leaf, points=points, reason=reason,
                             source=DeductionSource.EVIDENCE, created_by=actor,
                             created_at=now))


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
    except (DecimalException, ValueError):
        raise TrackerError(_("'%(value)s' is not a number.", value=str(value)[:20])) from None
    if not number.is_finite() or number.adjusted() >= 6:
        # Past any score, and past what arithmetic in the context takes (1E+999999999
        # overflows abs() and quantize()): read by its exponent alone.
        raise TrackerError(_("'%(value)s' is not a number.", value=str(value)[:20]))
    if number != number.quantize(Decimal("0.1")):
        raise TrackerError(_("Give points with at most one decimal, e.g. 1.5."))
    return number


def _leaf(assessment: Assessment, node_id: int) -> RubricNode:
    node = db.session.get(RubricNode, node_id)
    if node is None or node.plan_id != assessment.plan_id or not node.is_leaf:
        raise TrackerError(_("No such rubric row in this plan."))
    rules = row_rules(assessment.year, [assessment.unit_id])
    if not applies_to_unit(node, assessment.unit, rules)[0]:
        raise TrackerError(_("Row %(code)s does not apply to this unit (不适用).",
                             code=node.code))
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
        raise TrackerError(_("Row %(code)s is worth %(max)s points; with this deduction its "
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
        raise TrackerError(_("The score of row %(code)s must lie between 0 and %(max)s.",
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


def waive_minimum(assessment: Assessment, node_id: int, label: str, reason: str, actor,
                  now: datetime) -> MinimumWaiver:
    """Waive one minimum of a row's 工作要求 for the unit this year, with the reason (kept
    and shown): its shortfall no longer costs the row, and its deduction is withdrawn."""
    _check_open(assessment)
    node = _leaf(assessment, node_id)
    labels = [need["label"] for need in node.requires or ()]
    if label not in labels:
        raise TrackerError(_("Row %(code)s has no such minimum.", code=node.code))
    reason = " ".join(check_text(reason or "", _("The reason"), multiline=True).split())
    if not reason:
        raise TrackerError(_("Give the reason for waiving the minimum."))
    if len(reason) > MAX_NOTE:
        raise TrackerError(_("The reason is longer than %(n)d characters.", n=MAX_NOTE))
    waived = waivers(assessment.plan, assessment.year, [assessment.unit_id])
    if label in waived.get((assessment.unit_id, node.id), {}):
        raise TrackerError(_("This minimum is waived already."))
    waiver = MinimumWaiver(unit_id=assessment.unit_id, plan_id=assessment.plan_id,
                           year=assessment.year, node_id=node.id, label=label, reason=reason,
                           created_by=actor, created_at=now)
    db.session.add(waiver)
    prefix = shortfall_prefix(label)
    for deduction in list(assessment.deductions):
        if (deduction.node_id == node.id and deduction.source == DeductionSource.EVIDENCE
                and deduction.reason.startswith(prefix)):
            assessment.deductions.remove(deduction)
    assessment.updated_at = now
    db.session.flush()
    return waiver


def lock(assessment: Assessment, actor, now: datetime) -> None:
    """Declare the score final."""
    _check_open(assessment)
    assessment.locked_at, assessment.locked_by = now, actor
    db.session.flush()


def layout_for(plan: Plan):
    """The scoring sheet's layout for ``plan``."""
    groups, _ = rubric_tree(plan)
    return sheet_layout(groups), groups


def ranking_groups(plan: Plan) -> list[dict]:
    """The groups the plan ranks units within (分类考核), each ``{title, title_en, kinds}``."""
    return plan.ranking or DEFAULT_RANKING


def ranked(plan: Plan, scored: dict) -> tuple[dict, dict]:
    """Ranks of ``scored`` (unit id -> UnitResult): in the whole town, and within the
    plan's ranking groups as {unit id: (group title, rank)}."""
    totals = {uid: r.total for uid, r in scored.items()}
    kinds = {uid: str(r.unit.kind) for uid, r in scored.items()}
    return rank(totals), rank_within(totals, kinds, ranking_groups(plan))
