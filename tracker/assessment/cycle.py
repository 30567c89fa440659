"""The year-end cycle beside the rubric: the coordinator's inputs (年中评估, 群众评议, 抽查,
日常督导), 督导 visits and their findings, the 抽查 draw, 整改 tasks. Flush, never commit.

The rubric's score is ``services.results``; this module only reads it.
"""

import csv
import io
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload, undefer

from tracker.assessment.models import Assessment, Deduction
from tracker.assessment.records import (INPUT_NAMES, AssessmentInput, Finding, FindingKind,
                                        InputKind, SpotDraw, SupervisionVisit)
from tracker.assessment.services import assessed_units, parse_points
from tracker.core.errors import TrackerError
from tracker.core.text import check_text, decode_text
from tracker.core.web import today as local_today
from tracker.extensions import db
from tracker.phases.models import Plan, RubricNode
from tracker.phases.recurrence import phase_of
from tracker.tasks.models import PENDING, Task, TaskEventKind, TaskStatus
from tracker.tasks.services import record
from tracker.units.models import Unit
from tracker.workdays.services import check_working_day

MAX_NOTE = 2000
MAX_GRADE = 50
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Rows an imported sheet may hold (a 问卷星 export: one row per answer).
MAX_IMPORT_ROWS = 100_000
#: The headers of an imported sheet's unit-name and score columns (first match wins).
UNIT_HEADERS = ("单位名称", "被评议单位", "单位", "unit")
SCORE_HEADERS = ("总分", "得分", "分数", "评分", "成绩", "满意度", "score")
#: The last month and day a 整改 task of year Y may be due in Y + 1.
RECTIFY_UNTIL = (3, 31)


def parse_kind(value: str) -> InputKind:
    """An input kind from its value (midyear, public, spot, supervision)."""
    try:
        return InputKind(str(value).strip().lower())
    except ValueError:
        raise TrackerError(_("Unknown kind %(kind)s: midyear, public, spot or supervision.",
                             kind=value)) from None


def _clean(text: str, what: str, limit: int, multiline: bool = True) -> str:
    text = check_text((text or "").replace("\r\n", "\n").strip(), what, multiline=multiline)
    if len(text) > limit:
        raise TrackerError(_("%(what)s is longer than %(n)d characters.", what=what, n=limit))
    return text


# -- the inputs ----------------------------------------------------------------------

def set_input(unit: Unit, year: int, kind, score, grade, note: str, source: str, actor,
              now: datetime, file: tuple[str, bytes] | None = None) -> AssessmentInput:
    """Record a unit's 年中评估, 群众评议, 抽查 or 督导 figure: a score (0–100, one decimal)
    or a grade, with a note and where it comes from; it replaces the one recorded."""
    kind = parse_kind(kind)
    score = None if str(score or "").strip() == "" else parse_points(score)
    grade = _clean(grade or "", _("The grade"), MAX_GRADE, multiline=False)
    if (score is None) == (not grade):
        raise TrackerError(_("Give either a score or a grade."))
    if score is not None and not 0 <= score <= 100:
        raise TrackerError(_("A score lies between 0 and 100."))
    note = _clean(note, _("The note"), MAX_NOTE)
    if file is not None and len(file[1]) > MAX_FILE_BYTES:
        raise TrackerError(_("The file is larger than %(n)d MB.", n=MAX_FILE_BYTES // 2**20))
    entry = db.session.scalar(sa.select(AssessmentInput).where(
        AssessmentInput.unit_id == unit.id, AssessmentInput.year == year,
        AssessmentInput.kind == kind))
    if entry is None:
        entry = AssessmentInput(unit_id=unit.id, year=year, kind=kind)
        db.session.add(entry)
    entry.score, entry.grade, entry.note = score, grade if score is None else "", note
    entry.source = source[:300]
    if file is not None:
        entry.file_name, entry.file_data = Path(file[0]).name[:255], file[1]
    entry.created_by_id, entry.updated_at = getattr(actor, "id", None), now
    db.session.flush()
    return entry


def input_file(unit_id: int, year: int, kind) -> tuple[str, bytes] | None:
    """The file attached to the unit's input of ``kind`` (name, bytes), or None."""
    entry = db.session.scalar(sa.select(AssessmentInput).where(
        AssessmentInput.unit_id == unit_id, AssessmentInput.year == year,
        AssessmentInput.kind == parse_kind(kind))
        .options(undefer(AssessmentInput.file_data)))
    if entry is None or not entry.file_name or entry.file_data is None:
        return None
    return entry.file_name, entry.file_data


def inputs_of(year: int, unit_ids: list[int]) -> dict[int, dict[str, AssessmentInput]]:
    """{unit id: {kind: input}} for the year."""
    out: dict = {u: {} for u in unit_ids}
    for entry in db.session.scalars(sa.select(AssessmentInput).where(
            AssessmentInput.year == year, AssessmentInput.unit_id.in_(unit_ids))):
        out[entry.unit_id][entry.kind.value] = entry
    return out


def _rows(name: str, data: bytes) -> list[list]:
    """The rows of a CSV (UTF-8 or GB18030, as Excel and 问卷星 save it) or .xlsx file."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        text = decode_text(data)
        if text is None:
            raise TrackerError(_("%(name)s: not a text file in UTF-8 or GB18030.", name=name))
        return [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise TrackerError(_("%(name)s: not a readable .xlsx workbook.", name=name)) from None
        try:
            return [["" if c is None else c for c in row]
                    for row in book.worksheets[0].iter_rows(values_only=True)
                    if any(c not in (None, "") for c in row)][:MAX_IMPORT_ROWS + 1]
        finally:
            book.close()
    raise TrackerError(_("%(name)s: the file must end in .csv or .xlsx.", name=name))


def _column(headers: list[str], wanted: tuple[str, ...]) -> int | None:
    for word in wanted:
        for i, header in enumerate(headers):
            if word.lower() in header.lower():
                return i
    return None


def read_import(name: str, data: bytes) -> list[tuple[str, Decimal, int]]:
    """A sheet as (unit name, score, answers): a header row, a unit-name column and a
    score column (a 问卷星 export gives one row per answer: a unit's rows are averaged)."""
    rows = _rows(name, data)
    if len(rows) < 2:
        raise TrackerError(_("%(name)s: a header row and at least one row are needed.",
                             name=name))
    headers = [str(h).strip() for h in rows[0]]
    unit_col, score_col = _column(headers, UNIT_HEADERS), _column(headers, SCORE_HEADERS)
    if unit_col is None or score_col is None:
        raise TrackerError(_("%(name)s: no unit-name column (单位) and score column (总分, "
                             "得分, 分数…) among the headers: %(headers)s.", name=name,
                             headers="、".join(headers)))
    scores: dict[str, list[Decimal]] = {}
    for number, row in enumerate(rows[1:], start=2):
        cells = list(row) + [""] * len(headers)
        unit, value = " ".join(str(cells[unit_col]).split()), str(cells[score_col]).strip()
        if not unit:
            raise TrackerError(_("%(name)s row %(row)d: no unit name.", name=name, row=number))
        try:
            score = Decimal(value)
        except ArithmeticError:
            raise TrackerError(_("%(name)s row %(row)d: the score %(value)s is not a number.",
                                 name=name, row=number, value=value)) from None
        if not score.is_finite() or not 0 <= score <= 100:
            raise TrackerError(_("%(name)s row %(row)d: a score lies between 0 and 100.",
                                 name=name, row=number))
        scores.setdefault(unit, []).append(score)
    return [(unit, (sum(values) / len(values)).quantize(Decimal("0.1")), len(values))
            for unit, values in scores.items()]


def import_inputs(name: str, data: bytes, year: int, kind, actor,
                  now: datetime) -> list[AssessmentInput]:
    """Import a 年中评估 or 群众评议 sheet: every unit it names must exist, or nothing is
    recorded."""
    kind = parse_kind(kind)
    if kind not in (InputKind.MIDYEAR, InputKind.PUBLIC):
        raise TrackerError(_("Only midyear and public results are imported from a sheet."))
    entries = read_import(name, data)
    units = {u.name: u for u in db.session.scalars(
        sa.select(Unit).where(Unit.name.in_([e[0] for e in entries])))}
    unknown = [e[0] for e in entries if e[0] not in units]
    if unknown:
        raise TrackerError(_("%(name)s: no unit named %(units)s.", name=name,
                             units="、".join(unknown[:10])))
    base = Path(name).name
    return [set_input(units[unit], year, kind, score, "", "", _source(base, answers), actor,
                      now) for unit, score, answers in entries]


def _source(name: str, answers: int) -> str:
    return f"导入：{name}" + (f"（{answers} 条平均）" if answers > 1 else "")


# -- 督导 visits and findings ----------------------------------------------------------

def add_visit(unit: Unit, visited_on: date, visitors: str, findings: list[str], actor,
              now: datetime) -> SupervisionVisit:
    """Record a 日常督导 visit and what it found (one finding a line)."""
    if visited_on > local_today(now):
        raise TrackerError(_("The visit's date lies in the future."))
    visitors = _clean(visitors, _("Who went"), 300, multiline=False)
    if not visitors:
        raise TrackerError(_("Say who went."))
    visit = SupervisionVisit(unit_id=unit.id, year=visited_on.year, visited_on=visited_on,
                             visitors=visitors, created_by_id=getattr(actor, "id", None),
                             created_at=now)
    db.session.add(visit)
    for text in findings:
        add_finding(unit, visited_on.year, FindingKind.SUPERVISION, text, now, visit=visit)
    db.session.flush()
    return visit


def add_finding(unit: Unit, year: int, kind, text: str, now: datetime,
                visit: SupervisionVisit | None = None) -> Finding:
    """A problem found at the unit by a 督导 visit or the 抽查."""
    text = _clean(text, _("The finding"), MAX_NOTE)
    if not text:
        raise TrackerError(_("Say what was found."))
    finding = Finding(unit_id=unit.id, year=year, kind=FindingKind(kind), visit=visit,
                      text=text, created_at=now)
    db.session.add(finding)
    db.session.flush()
    return finding


def findings_of(year: int, unit_id: int | None = None) -> list[Finding]:
    """The year's findings (of one unit), with their visit, unit and 整改 task loaded."""
    query = sa.select(Finding).where(Finding.year == year).options(
        selectinload(Finding.visit), selectinload(Finding.unit), selectinload(Finding.task))
    if unit_id is not None:
        query = query.where(Finding.unit_id == unit_id)
    return db.session.scalars(query.order_by(Finding.id)).all()


def visits_of(year: int) -> list[SupervisionVisit]:
    """The year's 督导 visits, newest first, with their unit and findings loaded."""
    return db.session.scalars(
        sa.select(SupervisionVisit).where(SupervisionVisit.year == year)
        .options(selectinload(SupervisionVisit.unit), selectinload(SupervisionVisit.findings))
        .order_by(SupervisionVisit.visited_on.desc(), SupervisionVisit.id.desc())).all()


# -- the 抽查 draw -------------------------------------------------------------------

def draw(pool: list[str], count: int, seed: str) -> list[str]:
    """``count`` names drawn from ``pool`` (sorted first) with ``random.Random(seed)``:
    the same pool and seed always give the same names. Pure."""
    return random.Random(seed).sample(sorted(pool), count)


def draw_sample(year: int, count: int, seed: str | None, actor, now: datetime) -> SpotDraw:
    """Draw the units of the 抽查 from the assessed units and record the draw."""
    pool = [u.name for u in assessed_units()]
    if not 1 <= count <= len(pool):
        raise TrackerError(_("Draw from 1 to %(n)d units (there are %(n)d).", n=len(pool)))
    seed = (seed or "").strip() or secrets.token_hex(4)
    _clean(seed, _("The seed"), 64, multiline=False)
    spot = SpotDraw(year=year, seed=seed, count=count, pool=sorted(pool),
                    drawn=draw(pool, count, seed), created_by_id=getattr(actor, "id", None),
                    created_at=now)
    db.session.add(spot)
    db.session.flush()
    return spot


def draws_of(year: int) -> list[SpotDraw]:
    return db.session.scalars(sa.select(SpotDraw).where(SpotDraw.year == year)
                              .order_by(SpotDraw.id.desc())).all()


# -- 整改 ------------------------------------------------------------------------------

def rectify_until(year: int) -> date:
    """The last day a 整改 task of the year's assessment may be due: the end of next March."""
    return date(year + 1, *RECTIFY_UNTIL)


def create_rectification(plan: Plan, year: int, unit: Unit, title: str, description: str,
                         due: date, actor, now: datetime) -> Task:
    """A 整改 task for the unit, due any working day from today to the end of next March,
    whether or not next year's plan is loaded: it is the task of the plan assessed, dated in
    the year it falls due (so calendars, feeds and reminders show it then)."""
    title = " ".join(_clean(title, _("The title"), 300, multiline=False).split())
    if not title:
        raise TrackerError(_("A task needs a title."))
    if not local_today(now) <= due <= rectify_until(year):
        raise TrackerError(_("A rectification task is due from today to %(until)s.",
                             until=rectify_until(year).isoformat()))
    check_working_day(due)
    phases = [p for p in plan.phases if p.active]
    phase = phase_of(due, phases, due.year) if due.year == year else None
    task = Task(plan=plan, duty=None, unit=unit, year=due.year, seq=0, phase=phase,
                title=title[:300], description=_clean(description, _("The description"), 5000),
                due_date=due, due_manual=True, status=TaskStatus.OPEN,
                created_by_id=getattr(actor, "id", None), created_at=now, updated_at=now)
    db.session.add(task)
    record(task, actor, TaskEventKind.CREATED, now, title=title, due_date=due.isoformat(),
           rectification=year)
    db.session.flush()
    return task


def rectify_row(assessment: Assessment, code: str, title: str, due: date, actor,
                now: datetime) -> Task:
    """A 整改 task for a rubric row the unit lost points on (its first deduction without
    one)."""
    node = db.session.scalar(sa.select(RubricNode).where(
        RubricNode.plan_id == assessment.plan_id, RubricNode.code == code.strip(),
        RubricNode.is_leaf))
    if node is None:
        raise TrackerError(_("No rubric row %(code)s in this plan.", code=code))
    deductions = [d for d in assessment.deductions if d.node_id == node.id] \
        if assessment.begun_at else []
    if not deductions:
        raise TrackerError(_("Row %(code)s has no deduction to rectify.", code=code))
    open_ones = [d for d in deductions if not d.rectification_task_id]
    if not open_ones:
        raise TrackerError(_("A rectification task exists for this deduction already."))
    deduction = open_ones[0]
    return rectify_deduction(assessment, deduction, title, due, actor, now)


def rectify_deduction(assessment: Assessment, deduction: Deduction, title: str | None,
                      due: date, actor, now: datetime) -> Task:
    """Turn a deduction into a 整改 task (its reason as the task's description)."""
    if deduction.rectification_task_id:
        raise TrackerError(_("A rectification task exists for this deduction already."))
    node = deduction.node
    title = title or f"整改：{node.code if node.numbered else ''} {node.requirement}"[:120]
    task = create_rectification(assessment.plan, assessment.year, assessment.unit, title,
                                deduction.reason, due, actor, now)
    deduction.rectification_task = task
    db.session.flush()
    return task


def rectify_finding(plan: Plan, finding: Finding, title: str, due: date, actor,
                    now: datetime) -> Task:
    """Turn a 督导 or 抽查 finding into a 整改 task for its unit."""
    if finding.task_id:
        raise TrackerError(_("A rectification task exists for this finding already."))
    task = create_rectification(plan, finding.year, finding.unit, title or
                                f"整改：{finding.text}"[:120], finding.text, due, actor, now)
    finding.task = task
    db.session.flush()
    return task


def rectifications(year: int, unit_ids: list[int] | None = None) -> list[Task]:
    """The 整改 tasks of the year's assessment (from deductions and findings)."""
    from_deductions = sa.select(Deduction.rectification_task_id).join(
        Assessment, Assessment.id == Deduction.assessment_id).where(
        Assessment.year == year, Deduction.rectification_task_id.is_not(None))
    from_findings = sa.select(Finding.task_id).where(Finding.year == year,
                                                     Finding.task_id.is_not(None))
    query = sa.select(Task).where(Task.id.in_(from_deductions.union(from_findings)))
    if unit_ids is not None:
        query = query.where(Task.unit_id.in_(unit_ids))
    return db.session.scalars(query.order_by(Task.due_date, Task.id)).all()


def open_rectifications(unit_id: int, before_year: int) -> list[Task]:
    """The unit's 整改 tasks of earlier years' assessments still open (for next year's
    pages)."""
    tasks = rectifications(before_year - 1, [unit_id])
    return [t for t in tasks if t.status in PENDING or t.status == TaskStatus.SUBMITTED]


# -- 综合考评 --------------------------------------------------------------------------

@dataclass
class InputLine:
    """One input on the unit's sheet: its name, figure, source and weight."""

    kind: str
    label: str
    figure: str
    source: str
    note: str
    weight: int
    #: The score where the input is one (not a grade).
    score: Decimal | None = None
    #: The name of the file attached to it (its report, the 问卷星 export…), if any.
    file_name: str = ""


def combined(plan: Plan, total: Decimal, inputs: dict[str, AssessmentInput]
             ) -> tuple[list[InputLine], Decimal | None, str]:
    """The inputs the plan names with the unit's figures, the total by the plan's rule
    (``weighted``: the rubric's part and each input's weight; None while an input weighed
    is missing or a grade; ``beside``: None) and the rule's caption."""
    config = plan.assessment or {}
    names = config.get("inputs") or [{"kind": k, "label": "", "weight": 0}
                                     for k in INPUT_NAMES]
    lines = []
    for item in names:
        entry = inputs.get(item["kind"])
        lines.append(InputLine(item["kind"], item.get("label") or INPUT_NAMES[item["kind"]],
                               entry.figure if entry else "", entry.source if entry else "",
                               entry.note if entry else "", item.get("weight", 0),
                               entry.score if entry else None,
                               entry.file_name if entry else ""))
    if config.get("combine") != "weighted":
        caption = config.get("note") or "列于考核得分旁，不计入得分（本系统设定）"
        return lines, None, caption
    rubric_part = 100 - sum(line.weight for line in lines)
    caption = "综合得分 = 考核得分×{}% + ".format(rubric_part) + " + ".join(
        f"{line.label}×{line.weight}%" for line in lines) + "（本系统设定）"
    value = total * rubric_part / 100
    for line in lines:
        entry = inputs.get(line.kind)
        if entry is None or entry.score is None:
            return lines, None, caption
        value += entry.score * line.weight / 100
    return lines, value.quantize(Decimal("0.1")), caption


def sheet_inputs(plan: Plan, year: int, scored: list) -> dict:
    """{unit id: (input lines, total by the plan's rule or None, caption)} for the units'
    scoring sheets (``scored``: their ``UnitResult``), in one query."""
    inputs = inputs_of(year, [r.unit.id for r in scored])
    return {r.unit.id: combined(plan, r.total, inputs[r.unit.id]) for r in scored}
