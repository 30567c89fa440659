"""Tasks: one occurrence of a duty for one unit in one year, its history, and loading a
plan for a year into tasks."""

from tracker.core import signals


@signals.units_added.connect
@signals.units_changed.connect
def _give_units_their_tasks(units, now, **kwargs) -> list[tuple[str, int]]:
    """New (or reactivated, or changed) units get their tasks for every loaded year at
    once; returns how many were made for which plan and year."""
    from tracker.tasks.loading import sync_loaded_years

    synced = sync_loaded_years(now, [unit.id for unit in units])
    return [(f"{plan.name} {year}", report.created) for plan, year, report in synced
            if report.created]


@signals.workdays_changed.connect
def _move_to_working_days(days, now, **kwargs) -> int:
    """Days made off or on: the open tasks of the years they fall in move to working days
    (the history says why); finished ones stay as they are."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.phases.models import PlanYear
    from tracker.tasks.loading import sync_tasks

    years = {day.year for day in days}
    moved = 0
    for plan_year in db.session.scalars(sa.select(PlanYear).where(PlanYear.year.in_(years))):
        moved += sync_tasks(plan_year.plan, plan_year.year, now).updated
    return moved
