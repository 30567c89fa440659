"""The demo town: a few real-sounding units of Shuyuan, users, the bundled plan."""

import random
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from tracker.auth.models import Role, User
from tracker.auth.passwords import generate_password
from tracker.auth.services import create_user
from tracker.core.timeutil import local_today, utcnow
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.phases.services import load_plan
from tracker.tasks.models import Task, TaskEventKind, TaskStatus
from tracker.tasks.services import record
from tracker.units.models import Unit, UnitKind

DEMO_PLAN = "shuyuan-2020"
DEMO_UNITS = [
    ("镇党委宣传办", UnitKind.COORDINATOR),
    ("机关党支部", UnitKind.BRANCH),
    ("社区党总支", UnitKind.BRANCH),
    ("洋溢村党总支", UnitKind.BRANCH),
    ("新北村党支部", UnitKind.BRANCH),
    ("外灶村党总支", UnitKind.BRANCH),
    ("黄华村党支部", UnitKind.BRANCH),
    ("党政办公室", UnitKind.OFFICE),
    ("社区管理办公室", UnitKind.OFFICE),
    ("经济发展办公室", UnitKind.OFFICE),
    ("社区事务受理服务中心", UnitKind.ENTERPRISE),
    ("文化服务中心", UnitKind.ENTERPRISE),
]
#: (e-mail, role, unit, name)
DEMO_USERS = [
    ("admin@shuyuan.example", Role.ADMIN, "镇党委宣传办", "宣传办 协调员"),
    ("manager@shuyuan.example", Role.MANAGER, "洋溢村党总支", "洋溢村 具体责任人"),
    ("viewer@shuyuan.example", Role.VIEWER, "洋溢村党总支", "洋溢村 第一责任人"),
    ("office@shuyuan.example", Role.MANAGER, "党政办公室", "党政办 具体责任人"),
]


@dataclass
class DemoResult:
    units: int
    plan: str
    year: int
    tasks: int
    #: (e-mail, password) of users made now; existing users keep theirs.
    credentials: list[tuple[str, str]] = field(default_factory=list)


def _past_work(today, now) -> None:
    """Make the demo year look lived in: most work due before today is done."""
    rng = random.Random(2020)
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    managers = {u.unit_id: u for u in db.session.scalars(
        sa.select(User).where(User.role == Role.MANAGER))}
    past = db.session.scalars(sa.select(Task).where(Task.due_date < today)).all()
    for task in past:
        roll = rng.random()
        if roll > 0.9:
            continue  # left overdue
        worker = managers.get(task.unit_id, admin)
        task.note = "已按要求完成。"
        task.status = TaskStatus.SUBMITTED
        task.submitted_at, task.submitted_by = now, worker
        record(task, worker, TaskEventKind.SUBMITTED, now, status=["open", "submitted"])
        if roll < 0.75:
            task.status, task.reviewed_at, task.reviewed_by = TaskStatus.ACCEPTED, now, admin
            record(task, admin, TaskEventKind.ACCEPTED, now, status=["submitted", "accepted"])
        elif roll < 0.8:
            task.status, task.reviewed_at, task.reviewed_by = TaskStatus.RETURNED, now, admin
            task.review_comment = "材料不全，请补充会议照片。"
            record(task, admin, TaskEventKind.RETURNED, now, status=["submitted", "returned"],
                   comment=task.review_comment)
    db.session.flush()


def build_demo() -> DemoResult:
    """Add what the demo town lacks; safe to run again."""
    now = utcnow()
    existing = set(db.session.scalars(sa.select(Unit.name)))
    for name, kind in DEMO_UNITS:
        if name not in existing:
            db.session.add(Unit(name=name, kind=kind))
    db.session.flush()
    units = {u.name: u for u in db.session.scalars(sa.select(Unit))}
    credentials = []
    emails = set(db.session.scalars(sa.select(User.email)))
    for email, role, unit_name, name in DEMO_USERS:
        if email not in emails:
            password = generate_password()
            create_user(email, role, password, unit=units[unit_name], name=name)
            credentials.append((email, password))
    today = local_today(now, current_app.config["TIMEZONE"])
    year = today.year
    result = load_plan(read_plan(DEMO_PLAN), year, now)
    if result.tasks.created:
        _past_work(today, now)
    return DemoResult(units=len(units), plan=DEMO_PLAN, year=year, tasks=result.tasks.total,
                      credentials=credentials)
