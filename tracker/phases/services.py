"""Installing a plan's definitions and loading it for a year. Flush, never commit."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear, RubricNode
from tracker.phases.planfile import PlanSpec
from tracker.tasks.services import SyncReport, sync_tasks

MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass
class LoadResult:
    plan: Plan
    year: int
    definitions_changed: bool
    tasks: SyncReport


def check_year(year: int) -> None:
    """Refuse a year the plan cannot sensibly be loaded for."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TrackerError(f"year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")


def get_plan(name: str) -> Plan | None:
    """The installed plan of that name, with its definitions loaded."""
    return db.session.scalar(
        sa.select(Plan).where(Plan.name == name).options(
            selectinload(Plan.phases),
            selectinload(Plan.rubric_nodes),
            selectinload(Plan.duties).selectinload(Duty.rubric_rows),
            selectinload(Plan.years),
        )
    )


def install_plan(spec: PlanSpec, now: datetime) -> tuple[Plan, bool]:
    """Create or update a plan's phases, rubric and duties from its spec.

    Entries are matched by code. An entry the new spec no longer has is marked
    inactive rather than deleted, because finished tasks still point at it.
    Returns the plan and whether anything changed.
    """
    plan = get_plan(spec.name)
    if plan is not None and plan.source_sha256 == spec.source_sha256:
        return plan, False
    if plan is None:
        plan = Plan(name=spec.name, created_at=now)
        db.session.add(plan)
    for attr in ("title", "title_en", "issuer", "issuer_en", "document_number", "issued_on",
                 "timezone", "rubric_title", "rubric_title_en", "rubric_total", "source_sha256"):
        setattr(plan, attr, getattr(spec, attr))
    plan.updated_at = now

    phases = {p.code: p for p in plan.phases}
    for p in phases.values():
        p.active = False
    for position, ps in enumerate(spec.phases):
        phase = phases.get(ps.code) or Phase(code=ps.code)
        if phase.plan is None:
            plan.phases.append(phase)
        _assign(phase, title=ps.title, title_en=ps.title_en, description=ps.description,
                start=ps.start, end=ps.end, position=position, active=True)

    nodes = {n.code: n for n in plan.rubric_nodes}
    for n in nodes.values():
        n.active = False
    position = 0

    def place(spec_node, parent):
        nonlocal position
        node = nodes.get(spec_node.code) or RubricNode(code=spec_node.code)
        if node.plan is None:
            plan.rubric_nodes.append(node)
            nodes[node.code] = node
        _assign(node, parent=parent, title=spec_node.title, title_en=spec_node.title_en,
                points=spec_node.points, requirement=spec_node.requirement,
                deduction=spec_node.deduction, numbered=spec_node.numbered,
                is_leaf=spec_node.is_leaf, position=position, active=True)
        position += 1
        for child in spec_node.children:
            place(child, node)

    for group in spec.rubric:
        place(group, None)

    duties = {d.code: d for d in plan.duties}
    for d in duties.values():
        d.active = False
    for position, ds in enumerate(spec.duties):
        duty = duties.get(ds.code) or Duty(code=ds.code)
        if duty.plan is None:
            plan.duties.append(duty)
        _assign(duty, title=ds.title, title_en=ds.title_en, description=ds.description,
                applies_to=ds.applies_to, due=ds.due, phase_code=ds.phase,
                evidence=ds.evidence, reminders=ds.reminders, position=position, active=True)
        duty.rubric_rows = [nodes[code] for code in ds.rubric]
    db.session.flush()
    return plan, True


def _assign(obj, **values):
    # Only touch attributes whose value differs, so that an unchanged entry
    # produces no UPDATE statement.
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)


def load_plan(spec: PlanSpec, year: int, now: datetime) -> LoadResult:
    """Install the plan and make (or update) its tasks for ``year`` for every unit."""
    check_year(year)
    plan, changed = install_plan(spec, now)
    if db.session.get(PlanYear, (plan.id, year)) is None:
        db.session.add(PlanYear(plan_id=plan.id, year=year, loaded_at=now))
    report = sync_tasks(plan, year, now)
    return LoadResult(plan=plan, year=year, definitions_changed=changed, tasks=report)


def sync_loaded_years(now: datetime, unit_ids: list[int]) -> list[tuple[Plan, int, SyncReport]]:
    """Give units (e.g. just added) their tasks for every year a plan is loaded for."""
    results = []
    plan_years = db.session.scalars(
        sa.select(PlanYear).options(selectinload(PlanYear.plan)).order_by(PlanYear.year)
    ).all()
    for plan_year in plan_years:
        report = sync_tasks(plan_year.plan, plan_year.year, now, unit_ids=unit_ids)
        results.append((plan_year.plan, plan_year.year, report))
    return results
