"""Every model, imported in one place for Alembic and the app factory."""

from tracker.auth.models import Role, User
from tracker.phases.models import Duty, Phase, Plan, PlanYear, RubricNode, duty_rubric
from tracker.tasks.models import Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.units.models import Unit, UnitKind

__all__ = [
    "Duty", "Phase", "Plan", "PlanYear", "Role", "RubricNode", "Task", "TaskEvent",
    "TaskEventKind", "TaskStatus", "Unit", "UnitKind", "User", "duty_rubric",
]
