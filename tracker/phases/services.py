"""Installing a plan's definitions (phases, rubric, duties). Flush, never commit.

Loading a plan for a year, which makes tasks, is the tasks area's
(``tracker.tasks.loading``).
"""

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker.core.errors import TrackerError
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.extensions import db
from tracker.phases.models import Duty, Phase, Plan, PlanYear, RubricNode
from tracker.phases.planspec import PlanSpec

def check_year(year: int) -> None:
    """Refuse a year the plan cannot sensibly be loaded for."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TrackerError(f"year {year} is out of range ({MIN_YEAR}-{MAX_YEAR})")


def plan_for_year(year: int) -> Plan:
    """The plan loaded for ``year`` (the latest loaded, if several)."""
    plan_year = db.session.scalars(
        sa.select(PlanYear).where(PlanYear.year == year)
        .options(selectinload(PlanYear.plan).selectinload(Plan.rubric_nodes),
                 selectinload(PlanYear.plan).selectinload(Plan.duties))
        .order_by(PlanYear.loaded_at.desc())
    ).first()
    if plan_year is None:
        raise TrackerError(_("No plan is loaded for %(year)d: load one first.", year=year))
    return plan_year.plan


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
                 "timezone", "rubric_title", "rubric_title_en", "rubric_total", "not_applicable",
                 "non_working_day", "catch_up_days", "ranking", "source_sha256",
                 "assessment"):
        setattr(plan, attr, getattr(spec, attr))
    plan.updated_at = now

    _upsert(plan.phases, Phase, spec.phases, lambda ps: dict(
        title=ps.title, title_en=ps.title_en, description=ps.description,
        start=ps.start, end=ps.end))

    parents = {node.code: parent for group in spec.rubric for node, parent in _walk(group, None)}
    flat = [node for group in spec.rubric for node, _ in _walk(group, None)]
    nodes = {}  # filled by _upsert as it goes, so a child finds its parent
    _upsert(plan.rubric_nodes, RubricNode, flat, lambda n: dict(
        parent=nodes.get(parents[n.code]), title=n.title, title_en=n.title_en,
        points=n.points, requirement=n.requirement, deduction=n.deduction,
        numbered=n.numbered, is_leaf=n.is_leaf, code_space=n.code_space,
        applies_to=n.applies_to if n.is_leaf else [], evidence=n.evidence,
        evidence_match=n.evidence_match, requires=n.requires, party_org=n.party_org), nodes)

    _upsert(plan.duties, Duty, spec.duties, lambda ds: dict(
        title=ds.title, title_en=ds.title_en, description=ds.description,
        applies_to=ds.applies_to, due=ds.due, phase_code=ds.phase, evidence=ds.evidence,
        reminders=ds.reminders, occurrence=ds.occurrence,
        rubric_rows=[nodes[code] for code in ds.rubric]))
    db.session.flush()
    return plan, True


def _walk(node, parent_code):
    """(node, parent code) pairs of a rubric subtree, parents first."""
    yield node, parent_code
    for child in node.children:
        yield from _walk(child, node.code)


def _upsert(collection, model, specs, values, by_code=None):
    """Match a plan's entries to ``specs`` by code: update, add, or mark inactive.

    ``values(spec)`` gives the attributes to set; ``by_code`` (filled as entries
    are placed) lets ``values`` refer to entries placed before, e.g. a parent.
    """
    by_code = {} if by_code is None else by_code
    by_code.update({entry.code: entry for entry in collection})
    for entry in by_code.values():
        entry.active = False
    for position, spec in enumerate(specs):
        entry = by_code.get(spec.code)
        if entry is None:
            entry = model(code=spec.code)
            collection.append(entry)
            by_code[spec.code] = entry
        _assign(entry, position=position, active=True, **values(spec))
    return by_code


def _assign(obj, **values):
    # Only touch attributes whose value differs, so that an unchanged entry
    # produces no UPDATE statement.
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
