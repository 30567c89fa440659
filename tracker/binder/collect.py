"""What a unit's 工作台账 holds: its year's work filed by rubric row. Reads, never writes."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from tracker.assessment.services import results, rubric_tree
from tracker.extensions import db
from tracker.phases.models import Duty, Plan, RubricNode, duty_rubric
from tracker.phases.services import plan_for_year
from tracker.tasks.evidence import IMAGES
from tracker.tasks.models import EvidenceFile, Task, TaskStatus
from tracker.units.models import Unit

#: Task statuses in Chinese, as the 台账 prints them (terms.md).
STATUS_ZH = {"open": "待填报", "submitted": "已提交待审核", "accepted": "审核通过",
             "returned": "退回修改", "cancelled": "已取消"}
#: How long a folder or file name in the ZIP may be (characters, before the extension).
MAX_NAME = 60


@dataclass
class FileEntry:
    """One evidence file as the binder files it."""

    evidence: EvidenceFile
    task: Task
    #: ``pdf`` (bound in page by page), ``image`` (placed on a page) or ``other`` (listed).
    kind: str


@dataclass
class BinderRow:
    """One rubric row of the binder, with the work filed under it."""

    node: RubricNode
    path: list[RubricNode]  # its 一级项目 and 二级项目
    applicable: bool
    reason: str
    tasks: list[Task]
    statement: str
    files: list[FileEntry] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def folder(self) -> str:
        """The row's folder in the ZIP: ``1-1-1 明确领导班子一把手是第一责任人``."""
        return safe_name(f"{self.node.code} {self.node.title}")


@dataclass
class Binder:
    unit: Unit
    plan: Plan
    year: int
    rows: list[BinderRow]
    generated_at: datetime
    timezone: str

    def local(self, instant: datetime | None) -> str:
        """An instant as the plan's local date and time, ``2026-06-30 14:05``."""
        if instant is None:
            return ""
        return instant.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")


def kind_of(name: str) -> str:
    """How the binder files an evidence file: by its (checked) extension."""
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension == "pdf":
        return "pdf"
    return "image" if extension in IMAGES else "other"


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def safe_name(text: str, limit: int = MAX_NAME) -> str:
    """``text`` as a file or folder name any system takes: no path separators or
    characters Windows refuses, no trailing dots or spaces, at most ``limit`` characters."""
    text = unicodedata.normalize("NFC", text)
    text = _UNSAFE.sub("_", " ".join(text.split()))
    text = text.strip(" .。")[:limit].rstrip(" .。")
    return text or "_"


def task_day(task: Task, tz: str) -> date:
    """The day that dates a task's files: when it was held, else submitted, else due."""
    if task.held_on:
        return task.held_on
    if task.submitted_at:
        return task.submitted_at.astimezone(ZoneInfo(tz)).date()
    return task.due_date


def unit_tasks(plan: Plan, unit: Unit, year: int) -> list[Task]:
    """The unit's duty tasks of the year (not cancelled), files and people loaded."""
    return db.session.scalars(
        sa.select(Task).where(Task.plan_id == plan.id, Task.unit_id == unit.id,
                              Task.year == year, Task.duty_id.is_not(None),
                              Task.status != TaskStatus.CANCELLED)
        .options(selectinload(Task.evidence_files).joinedload(EvidenceFile.uploaded_by),
                 joinedload(Task.submitted_by), joinedload(Task.reviewed_by),
                 joinedload(Task.duty))
        .order_by(Task.due_date, Task.seq, Task.id)).unique().all()


def duties_by_row(plan: Plan) -> dict[int, set[int]]:
    """Rubric leaf id -> the ids of the active duties serving it."""
    out: dict[int, set[int]] = {}
    for duty_id, node_id in db.session.execute(
            sa.select(duty_rubric.c.duty_id, duty_rubric.c.node_id)
            .join(Duty, Duty.id == duty_rubric.c.duty_id)
            .where(Duty.plan_id == plan.id, Duty.active)):
        out.setdefault(node_id, set()).add(duty_id)
    return out


def collect(unit: Unit, year: int, now: datetime) -> Binder:
    """The unit's binder for ``year``: every active rubric row in the plan's order, with
    whether it applies (and why not), the tasks serving it and their files."""
    plan = plan_for_year(year)
    _, leaves = rubric_tree(plan)
    scored = results(plan, year, [unit])[unit.id]
    serving = duties_by_row(plan)
    tasks = unit_tasks(plan, unit, year)
    rows = []
    for leaf in leaves:
        result = scored.rows[leaf.id]
        path, node = [], leaf.parent
        while node is not None:
            path.insert(0, node)
            node = node.parent
        mine = [t for t in tasks if t.duty_id in serving.get(leaf.id, ())] \
            if result.applicable else []
        row = BinderRow(node=leaf, path=path, applicable=result.applicable,
                        reason=(getattr(result, "na_reason", "") or "本考核指标不适用于本单位类型")
                        if not result.applicable else "",
                        tasks=mine, statement=result.statement)
        row.files = [FileEntry(f, t, kind_of(f.original_name))
                     for t in mine for f in t.evidence_files]
        rows.append(row)
    return Binder(unit=unit, plan=plan, year=year, rows=rows, generated_at=now,
                  timezone=plan.timezone or "Asia/Shanghai")
