"""Hostile text for the escaping suites: markup in every free-text column of a town."""

import re
from datetime import date

import sqlalchemy as sa

from tests.tasks.test_views import PDF
from tests.web.test_routes import ROUTES
from tracker.assessment import services as assessment
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import PlanVersion, VersionState
from tracker.phases.services import plan_for_year
from tracker.planning import services as planning
from tracker.reminders.models import Channel, OutboxMessage, OutboxStatus, UnitChannel
from tracker.tasks import services as work
from tracker.tasks.models import EvidenceFile, Task
from tracker.workdays.services import set_override

#: Free-text columns, by table: everything a person or a plan file can write.
HOSTILE_COLUMNS = {
    "plans": ["title", "title_en", "issuer", "issuer_en", "document_number", "rubric_title",
              "rubric_title_en"],
    "phases": ["title", "title_en", "description"],
    "duties": ["title", "title_en", "description"],
    "rubric_nodes": ["title", "title_en", "requirement", "deduction"],
    "units": ["name"],
    "users": ["name"],
    "tasks": ["title", "title_en", "description", "note", "statement", "review_comment"],
    "evidence_files": ["original_name"],
    "deductions": ["reason"],
    "assessment_rows": ["self_note", "statement"],
    "reminder_outbox": ["subject", "last_error", "recipient"],
    "notifications": ["detail"],
    "unit_channels": ["webhook_url"],
    "plan_versions": ["name", "title"],  # the source: hostile_draft
    "workday_overrides": ["name"],
}
MARKUP = re.compile(r"<i class=xss>|<script>alert|<img src=x")


def hostile(where: str) -> str:
    """Markup that breaks out of attributes and elements, named after its column."""
    return f'"><i class=xss>{where}</i><script>alert(1)</script><img src=x onerror=alert(2)>'


def fill_with_markup():
    """Overwrite every row's free-text columns; each value names its table, column and row."""
    for table in db.metadata.sorted_tables:
        for column in HOSTILE_COLUMNS.get(table.name, []):
            key = table.primary_key.columns.values()[0]
            for (pk,) in db.session.execute(sa.select(key)):
                value = hostile(f"{table.name}.{column}#{pk}")
                db.session.execute(sa.update(table).where(key == pk)
                                   .values({column: value[:table.c[column].type.length]
                                            if table.c[column].type.length else value}))
    db.session.commit()
    db.session.expire_all()


def first_task(unit) -> Task:
    """The unit's first task that asks for no written statement."""
    tasks = db.session.scalars(sa.select(Task).where(Task.unit_id == unit.id)
                               .order_by(Task.due_date, Task.id))
    return next(t for t in tasks if work.statement_cap(t) is None)


def fill_town(town, instance_path):
    """The town with work in every state that shows text: a returned task with a note,
    statement, comment and a file, an assessment with a deduction and a self-assessment,
    a failed mail, a unit's group robot and a failed robot message, the returned work's
    notices in the unit's inboxes; then every free-text column filled with markup."""
    now = utcnow()
    admin, manager = town.users.admin, town.users.manager
    task = first_task(town.units.a)
    work.save_work(task, manager, "note", "", now)
    path = instance_path / "evidence" / "x" / "file.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    task.evidence_files.append(EvidenceFile(
        original_name="file.pdf", stored_name="x/file.pdf", content_type="application/pdf",
        size=len(PDF), sha256="0" * 64, uploaded_by=manager, uploaded_at=now))
    work.submit(task, manager, "note", "", now)
    work.review(task, admin, False, hostile("task_events.comment"), now)
    plan = plan_for_year(town.year)
    sheet = assessment.get_or_start(town.units.a, plan, town.year, admin, now)
    _, leaves = assessment.rubric_tree(plan)
    assessment.set_self_assessment(sheet, leaves[0].id, 0, "note", "", now)
    db.session.add(OutboxMessage(
        key="digest:escaping", user=manager, recipient=manager.email, subject="s",
        message_id="<m@x>", message=b"", status=OutboxStatus.FAILED, attempts=5,
        next_attempt_at=now, last_error="550"))
    db.session.add(UnitChannel(
        unit_id=town.units.a.id, vendor="wecom", robot="0" * 16,
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0123456789abcdef"))
    db.session.add(OutboxMessage(
        key="robot:escaping", channel=Channel.ROBOT, unit_id=town.units.a.id,
        recipient=town.units.a.name, subject="s", message_id="", message=b"{}",
        status=OutboxStatus.FAILED, attempts=1, next_attempt_at=now, last_error="93000"))
    db.session.commit()
    set_override(date(town.year, 10, 30), False, "镇庆", admin, now)
    db.session.commit()
    fill_with_markup()
    hostile_draft(town.year)
    return town


#: The texts of a plan file the editor shows (codes stay: they are in its URLs).
PLAN_TEXTS = {"title", "title_en", "description", "requirement", "deduction", "document",
              "label", "label_en", "issuer", "issuer_en", "document_number"}


def hostile_draft(year: int):
    """Next year's draft, every text of its plan file markup (for the editor's pages)."""
    draft = planning.rollover(year, year + 1, None, utcnow())
    data = planning.draft_data(draft)

    def spoil(value, where):
        if isinstance(value, dict):
            # 100 characters: the shortest column such a text is loaded into (a plan
            # file's longer texts are the loader's to refuse; see the report of issue 15).
            return {k: hostile(f"plan_versions.source#{where}.{k}")[:100] if k in PLAN_TEXTS
                    and isinstance(v, str) else spoil(v, f"{where}.{k}")
                    for k, v in value.items()}
        if isinstance(value, list):
            return [spoil(v, f"{where}.{i}") for i, v in enumerate(value)]
        return value

    planning.save_draft_data(draft, spoil(data, "plan"), utcnow())
    db.session.commit()


def pages(town) -> list[str]:
    """Every GET route of the route table, and the calendar's views and filters."""
    task = first_task(town.units.a)
    evidence = db.session.scalar(sa.select(EvidenceFile))
    draft = db.session.scalar(sa.select(PlanVersion.id).where(
        PlanVersion.state == VersionState.DRAFT))
    urls = [template.format(own=task.id, foreign=task.id, own_file=evidence.id,
                            foreign_file=evidence.id, user=town.users.manager.id,
                            own_unit=town.units.a.id, foreign_unit=town.units.a.id,
                            year=town.year, version=draft)
            for checks in ROUTES.values() for method, template, _ in checks if method == "GET"]
    day = task.due_date.isoformat()
    return urls + [f"/?view={view}&date={day}" for view in ("month", "week", "agenda")] + [
        f"/?unit={town.units.a.id}&date={day}", f"/tasks?status=returned&year={town.year}",
        f"/progress?unit={town.units.a.id}", f"/overview?sort=overdue&dir=desc&year={town.year}",
        f"/assessment?year={town.year}"]
