"""Every model, imported in one place for Alembic and the app factory."""

from tracker.assessment.models import Assessment, AssessmentRow, Deduction, MinimumWaiver
from tracker.auth.models import LoginAttempt, LoginThrottle, Role, User
from tracker.calendar.models import FeedComponent, FeedToken
from tracker.phases.models import (Duty, DutyDate, Phase, Plan, PlanVersion, PlanYear,
                                   RubricNode, duty_rubric)
from tracker.reminders.models import (Notification, OutboxMessage, ReminderLedgerEntry,
                                      ReminderPreference, SchedulerHeartbeat, UnitChannel)
from tracker.tasks.models import EvidenceFile, Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.units.models import Unit, UnitKind, UnitRowRule
from tracker.workdays.models import WorkdayOverride

__all__ = [
    "Assessment", "AssessmentRow", "Deduction", "LoginThrottle",
    "EvidenceFile", "FeedComponent", "FeedToken", "LoginAttempt", "Duty", "DutyDate", "Phase",
    "PlanVersion", "Plan", "PlanYear", "Role", "RubricNode", "Task", "TaskEvent",
    "TaskEventKind", "TaskStatus", "Unit", "UnitKind", "User", "duty_rubric",
    "Notification", "OutboxMessage", "ReminderLedgerEntry", "ReminderPreference",
    "SchedulerHeartbeat", "UnitChannel", "WorkdayOverride", "MinimumWaiver", "UnitRowRule",
]
