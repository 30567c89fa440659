"""The demo town: a few real-sounding units of Shuyuan, users, the bundled plan."""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from tracker.auth.models import Role, User
from tracker.auth.passwords import generate_password
from tracker.auth.services import create_user
from tracker.core.timeutil import utcnow
from tracker.core.web import today
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks import evidence
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import (Occurrence, add_evidence, needs_files, next_open_slot,
                                    records_occurrences, review, statement_cap, submit)
from tracker.units.models import Unit, UnitKind

DEMO_PLAN = "shuyuan-2020"
DEMO_UNITS = [
    ("镇党委宣传办", UnitKind.COORDINATOR),
    ("机关党支部", UnitKind.BRANCH),
    ("社区党总支", UnitKind.COMMUNITY),
    ("洋溢村党总支", UnitKind.VILLAGE),
    ("新北村党支部", UnitKind.VILLAGE),
    ("外灶村党总支", UnitKind.VILLAGE),
    ("黄华村党支部", UnitKind.VILLAGE),
    ("党政办公室", UnitKind.OFFICE),
    ("社区管理办公室", UnitKind.OFFICE),
    ("经济发展办公室", UnitKind.OFFICE),
    ("社区事务受理服务中心", UnitKind.INSTITUTION),
    ("文化服务中心", UnitKind.INSTITUTION),
]
#: (e-mail, role, unit, name)
DEMO_USERS = [
    ("admin@shuyuan.example", Role.ADMIN, "镇党委宣传办", "宣传办 管理员"),
    ("manager@shuyuan.example", Role.MANAGER, "洋溢村党总支", "洋溢村 单位填报人"),
    ("viewer@shuyuan.example", Role.VIEWER, "洋溢村党总支", "洋溢村 第一责任人"),
    ("office@shuyuan.example", Role.MANAGER, "党政办公室", "党政办 单位填报人"),
] + [  # every other unit has the person who does its work, too
    (f"{login}@shuyuan.example", Role.MANAGER, unit, f"{unit} 单位填报人")
    for login, unit in [("jiguan", "机关党支部"), ("shequ", "社区党总支"), ("xinbei", "新北村党支部"),
                        ("waizao", "外灶村党总支"), ("huanghua", "黄华村党支部"),
                        ("shequban", "社区管理办公室"), ("jingji", "经济发展办公室"),
                        ("shouli", "社区事务受理服务中心"), ("wenhua", "文化服务中心")]
]


@dataclass
class DemoResult:
    units: int
    plan: str
    #: The years loaded: last year (finished) and this one.
    years: list[int]
    tasks: int
    #: (e-mail, password) of users made now; existing users keep theirs.
    credentials: list[tuple[str, str]] = field(default_factory=list)


DEMO_NOTE = "已按要求完成，材料见附件。"
DEMO_STATEMENT = ("本单位按照镇党委部署，落实意识形态工作责任制：班子成员带头学习，"
                  "定期分析研判，阵地管理到位，宣传报道及时。")
DEMO_RETURN = "材料不全，请补充会议照片。"


def demo_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` (ASCII) in Helvetica: a demo evidence file."""
    escaped = (line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
               for line in lines)
    text = " ".join(f"({line}) Tj 0 -18 Td" for line in escaped)
    stream = f"BT /F1 12 Tf 72 760 Td {text} ET".encode("ascii")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
               b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _at(day, hour, tz) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def _attach_demo_file(task: Task, worker, when: datetime) -> None:
    title = next((item["title"] for item in task.duty.evidence if item["kind"] != "statement"),
                 "工作记录")
    data = demo_pdf([f"Shuyuan demo town - {task.duty.code} ({task.year}, no. {task.seq})",
                     f"Task {task.id}, unit {task.unit_id}",
                     "Made by `tracker demo` as sample evidence."])
    checked = evidence.check(data, f"{title}.pdf", len(data))
    stored = evidence.store(data, checked, evidence.folder(), task.year)
    add_evidence(task, worker, checked, stored, when)


def _past_work(day, now, years: list[int]) -> None:
    """Make the demo years look lived in: most work due before ``day`` was done on time, with
    its evidence, through the same services the web pages use; most of it is accepted."""
    rng = random.Random(2020)
    tz = current_app.config["TIMEZONE"]
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    managers = {u.unit_id: u for u in db.session.scalars(
        sa.select(User).where(User.role == Role.MANAGER))}
    past = db.session.scalars(sa.select(Task).where(
        Task.due_date < day, Task.year.in_(years), Task.status == TaskStatus.OPEN)
        .order_by(Task.due_date, Task.id)).all()
    for task in past:
        roll = rng.random()
        if roll > 0.9:
            continue  # left overdue
        worker = managers.get(task.unit_id, admin)
        done = min(_at(task.due_date - timedelta(days=rng.randint(0, 6)), 10, tz), now)
        occurrence = None
        if records_occurrences(task):
            # Held by its slot's date; a slot left open before is filled first, as the
            # pages do it.
            task = next_open_slot(task) or task
            spec = task.duty.occurrence
            occurrence = Occurrence(
                held_on=done.astimezone(ZoneInfo(tz)).date(),
                attendance=rng.randint(6, 15) if spec.get("attendance") else None,
                flags=tuple(f["code"] for f in spec.get("flags", []) if rng.random() < 0.4))
        if needs_files(task):
            _attach_demo_file(task, worker, done)
        cap = statement_cap(task)
        submit(task, worker, DEMO_NOTE, DEMO_STATEMENT[:cap] if cap else "", done, occurrence)
        reviewed = min(done + timedelta(days=rng.randint(1, 4)), now)
        if roll < 0.75:
            review(task, admin, True, "", reviewed)
        elif roll < 0.8:
            review(task, admin, False, DEMO_RETURN, reviewed)
    db.session.flush()


def build_demo(now: datetime | None = None) -> DemoResult:
    """Add what the demo town lacks; safe to run again.

    The plan is loaded for last year and this one, with the work due before today done:
    whatever the day (in January, before this year's first due date, too) the town has
    finished work to show.
    """
    now = now or utcnow()
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
    day = today(now)
    spec, years, made, tasks = read_plan(DEMO_PLAN), [day.year - 1, day.year], [], 0
    for year in years:
        result = load_plan(spec, year, now)
        tasks += result.tasks.total
        if result.tasks.created:
            made.append(year)
    if made:
        _past_work(day, now, made)
    return DemoResult(units=len(units), plan=DEMO_PLAN, years=years, tasks=tasks,
                      credentials=credentials)
