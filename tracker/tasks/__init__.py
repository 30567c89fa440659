"""Tasks: one occurrence of a duty for one unit in one year, its history, and loading a
plan for a year into tasks."""

from tracker.core import signals


@signals.units_added.connect
def _give_units_their_tasks(units, now, **kwargs) -> list[tuple[str, int]]:
    """New (or reactivated) units get their tasks for every loaded year at once; returns
    how many were made for which plan and year."""
    from tracker.tasks.loading import sync_loaded_years

    synced = sync_loaded_years(now, [unit.id for unit in units])
    return [(f"{plan.name} {year}", report.created) for plan, year, report in synced
            if report.created]
