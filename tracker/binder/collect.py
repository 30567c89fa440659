"""What a unit's 工作台账 holds: its year's work filed by rubric row. Reads, never writes."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from tracker.assessment.models import Assessment, Deduction
from tracker.assessment.records import Finding
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
#: The section after the rubric rows: work that serves no row of its own.
OTHER_TITLE = "其他工作（临时任务、整改）"
OTHER_NOTE = ("镇党委宣传办临时布置的任务，以及督导、抽查发现问题的整改任务（不对应单项考核指标；"
              "考核扣分的整改任务列于其考核指标之下）。")


@dataclass
class FileEntry:
    """One evidence file as the binder files it."""

    evidence: EvidenceFile
    task: Task
    #: ``pdf`` (bound in page by page), ``image`` (placed on a page) or ``other`` (listed).
    kind: str


@dataclass
class BinderRow:
    """One rubric row of the binder, with the work filed under it; or (``node`` None) the
    section of other work after the rows."""

    node: RubricNode | None
    path: list[RubricNode]  # its 一级项目 and 二级项目
    applicable: bool
    reason: str
    tasks: list[Task]
    statement: str
    files: list[FileEntry] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.node.code if self.node else ""

    @property
    def title(self) -> str:
        return self.node.title if self.node else OTHER_TITLE

    @property
    def heading(self) -> str:
        """``1-1-1 明确领导班子一把手是第一责任人``, or the other work's title."""
        return f"{self.code} {self.title}".strip()

    @property
    def folder(self) -> str:
        """The row's folder in the ZIP: ``1-1-1 明确领导班子一把手是第一责任人``."""
        return safe_name(self.heading)


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


#: What the binder reads of each task: its files with their uploaders, who submitted and
#: who reviewed it.
_FILED = (selectinload(Task.evidence_files).joinedload(EvidenceFile.uploaded_by),
          joinedload(Task.submitted_by), joinedload(Task.reviewed_by))


def unit_tasks(plan: Plan, unit: Unit, year: int) -> list[Task]:
    """The unit's duty tasks of the year (not cancelled), files and people loaded."""
    return db.session.scalars(
        sa.select(Task).where(Task.plan_id == plan.id, Task.unit_id == unit.id,
                              Task.year == year, Task.duty_id.is_not(None),
                              Task.status != TaskStatus.CANCELLED)
        .options(*_FILED, joinedload(Task.duty))
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


def _loaded(query):
    """``query`` of tasks with their files and people loaded, in date order."""
    return db.session.scalars(
        query.where(Task.status != TaskStatus.CANCELLED).options(*_FILED)
        .order_by(Task.due_date, Task.id)).unique().all()


def rectifications(plan: Plan, unit: Unit, year: int) -> tuple[dict[int, list[Task]],
                                                                list[Task]]:
    """The 整改 of the year's assessment: the tasks made from deductions, by rubric row id,
    and those made from 督导 and 抽查 findings (due up to next March, so some are dated
    next year)."""
    by_row: dict[int, list[Task]] = {}
    for node_id, task in db.session.execute(
            sa.select(Deduction.node_id, Task)
            .join(Assessment, Assessment.id == Deduction.assessment_id)
            .join(Task, Task.id == Deduction.rectification_task_id)
            .where(Assessment.plan_id == plan.id, Assessment.unit_id == unit.id,
                   Assessment.year == year, Task.status != TaskStatus.CANCELLED)
            .options(*_FILED).order_by(Task.due_date, Task.id)).unique():
        by_row.setdefault(node_id, []).append(task)
    found = _loaded(sa.select(Task).join(Finding, Finding.task_id == Task.id)
                    .where(Finding.unit_id == unit.id, Finding.year == year))
    return by_row, found


def other_tasks(unit: Unit, year: int) -> list[Task]:
    """The unit's ad-hoc tasks of the year (no duty), but for 整改 tasks, this year's or
    any other's (they are filed in the year they rectify)."""
    rectifying = sa.union(
        sa.select(Deduction.rectification_task_id.label("id"))
        .where(Deduction.rectification_task_id.is_not(None)),
        sa.select(Finding.task_id.label("id")).where(Finding.task_id.is_not(None)))
    return _loaded(sa.select(Task).where(
        Task.unit_id == unit.id, Task.year == year, Task.duty_id.is_(None),
        Task.id.not_in(rectifying)))


def _files(tasks: list[Task]) -> list[FileEntry]:
    """The tasks' evidence files, in the tasks' order, each with how it is filed."""
    return [FileEntry(f, t, kind_of(f.original_name)) for t in tasks for f in t.evidence_files]


def collect(unit: Unit, year: int, now: datetime) -> Binder:
    """The unit's binder for ``year``: every active rubric row in the plan's order, with
    whether it applies (and why not), the tasks serving it (and the 整改 of the points it
    lost) and their files; then, if there is any, the other work of the year: ad-hoc tasks
    and the 整改 of 督导 and 抽查 findings."""
    plan = plan_for_year(year)
    _, leaves = rubric_tree(plan)
    scored = results(plan, year, [unit])[unit.id]
    serving = duties_by_row(plan)
    tasks = unit_tasks(plan, unit, year)
    rectifying, found = rectifications(plan, unit, year)
    rows = []
    for leaf in leaves:
        result = scored.rows[leaf.id]
        path, node = [], leaf.parent
        while node is not None:
            path.insert(0, node)
            node = node.parent
        mine = [t for t in tasks if t.duty_id in serving.get(leaf.id, ())] \
            + rectifying.get(leaf.id, []) if result.applicable else []
        row = BinderRow(node=leaf, path=path, applicable=result.applicable,
                        reason=(getattr(result, "na_reason", "") or "本考核指标不适用于本单位类型")
                        if not result.applicable else "",
                        tasks=mine, statement=result.statement)
        row.files = _files(mine)
        rows.append(row)
    placed = {t.id for row in rows for t in row.tasks}
    # Findings' 整改, and any deduction's whose row no longer applies, then ad-hoc work.
    pending = found + [t for tasks in rectifying.values() for t in tasks]
    other = list({t.id: t for t in pending if t.id not in placed}.values()) \
        + other_tasks(unit, year)
    if other:
        row = BinderRow(node=None, path=[], applicable=True, reason="", tasks=other,
                        statement="")
        row.files = _files(other)
        rows.append(row)
    return Binder(unit=unit, plan=plan, year=year, rows=rows, generated_at=now,
                  timezone=plan.timezone or "Asia/Shanghai")
