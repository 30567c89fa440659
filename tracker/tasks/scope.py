"""Who may see which tasks, and who may act for a unit: the one place every task and
evidence query is scoped, and every unit's work is allowed.

Anything outside a user's scope must look like it does not exist (404), so
views and feeds filter with these clauses rather than checking afterwards.
"""

import sqlalchemy as sa

from tracker.auth.models import Role, User
from tracker.tasks.models import Task


def task_scope(user: User | None):
    """A WHERE clause limiting ``Task`` rows to those ``user`` may see."""
    if user is None or not user.is_authenticated or not user.active:
        return sa.false()
    if user.role == Role.ADMIN:
        return sa.true()
    if user.unit_id is None:
        return sa.false()
    return Task.unit_id == user.unit_id


def may_act_for(user: User | None, unit_id: int) -> bool:
    """Whether ``user`` may act on the unit's behalf (record its work, self-assess, set its
    robot): the coordinator for any unit, a unit's manager for theirs; never a viewer."""
    if user is None or not user.is_authenticated or not user.active:
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.MANAGER and user.unit_id == unit_id


def can_work_on(user: User | None, task: Task) -> bool:
    """Whether ``user`` may record completion and evidence for ``task``."""
    return may_act_for(user, task.unit_id)


def can_review(user: User | None) -> bool:
    """Whether ``user`` may accept or return submitted work (the coordinator)."""
    return bool(user is not None and user.is_authenticated and user.active
                and user.role == Role.ADMIN)
