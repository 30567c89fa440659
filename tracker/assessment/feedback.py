"""The 问题反馈单: per unit, the deductions with their reasons, the 督导 and 抽查 findings,
the 整改 required with deadlines; issued by the coordinator, acknowledged by the unit.
Flush, never commit."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from tracker.assessment.cycle import (InputLine, combined, findings_of, inputs_of,
                                      rectifications)
from tracker.assessment.records import Feedback, Finding
from tracker.assessment.services import UnitResult, assessed_units, results
from tracker.core import signals
from tracker.core.errors import TrackerError
from tracker.core.pdf import cjk_font_or_error, render_pdf
from tracker.core.web import today as local_today
from tracker.extensions import db
from tracker.phases.models import Plan
from tracker.tasks.models import Task
from tracker.units.models import Unit


@dataclass
class FeedbackSheet:
    """Everything a unit's 反馈单 shows."""

    unit: Unit
    year: int
    plan: Plan
    result: UnitResult
    #: (row code, 工作要求, points, reason, 整改 task or None), in the rubric's order.
    deductions: list = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rectifications: list[Task] = field(default_factory=list)
    inputs: list[InputLine] = field(default_factory=list)
    combined_total: object = None
    combine_caption: str = ""
    record: Feedback | None = None


def feedback_for(plan: Plan, year: int, unit: Unit) -> FeedbackSheet:
    """The unit's 反馈单 as it stands."""
    result = results(plan, year, [unit], local_today())[unit.id]
    deductions = []
    for row in result.rows.values():
        for d in row.deductions:
            code = row.node.code if row.node.numbered else ""
            deductions.append((code, row.node.requirement, d.points, d.reason,
                               d.rectification_task))
    lines, total, caption = combined(plan, result.total,
                                     inputs_of(year, [unit.id])[unit.id])
    return FeedbackSheet(
        unit=unit, year=year, plan=plan, result=result, deductions=deductions,
        findings=findings_of(year, unit.id), rectifications=rectifications(year, [unit.id]),
        inputs=lines, combined_total=total, combine_caption=caption,
        record=feedback_record(unit.id, year))


def feedback_record(unit_id: int, year: int) -> Feedback | None:
    return db.session.scalar(sa.select(Feedback).where(Feedback.unit_id == unit_id,
                                                       Feedback.year == year))


def render_html(sheet: FeedbackSheet, today=None, printing: bool = False) -> str:
    """The 反馈单 as an HTML page (in Chinese: it is handed over as a document)."""
    with force_locale("zh_Hans_CN"):
        return render_template("assessment/feedback_sheet.html", sheet=sheet,
                               today=today or local_today(), printing=printing)


def render_feedback_pdf(sheet: FeedbackSheet) -> bytes:
    """The 反馈单 as PDF, Chinese fonts embedded."""
    font = cjk_font_or_error()
    with force_locale("zh_Hans_CN"):
        html = render_template("assessment/feedback_sheet.html", sheet=sheet,
                               today=local_today(), printing=True, font=font)
    return render_pdf(html, base_url=Path(current_app.static_folder).as_uri() + "/")


def issue(sheet: FeedbackSheet, actor, now: datetime) -> Feedback:
    """Issue the 反馈单 to the unit: its people are told by mail, the group robot and the
    inbox (the reminders area queues these in this transaction); a 反馈单 issued again
    asks for a new acknowledgement."""
    if sheet.result.assessment is None:
        raise TrackerError(_("Begin the assessment of %(unit)s first.", unit=sheet.unit.name))
    record = sheet.record
    if record is None:
        record = Feedback(unit_id=sheet.unit.id, year=sheet.year)
        db.session.add(record)
    record.issued_at, record.issued_by_id = now, getattr(actor, "id", None)
    record.acknowledged_at = record.acknowledged_by_id = None
    db.session.flush()
    sheet.record = record
    path = f"/assessment/{sheet.year}/units/{sheet.unit.id}/feedback"
    url = current_app.config["BASE_URL"].rstrip("/") + path
    summary = (f"扣分 {len(sheet.deductions)} 项，督导和抽查发现问题 {len(sheet.findings)} 项，"
               f"整改任务 {len(sheet.rectifications)} 项")
    signals.feedback_issued.send(sheet.unit, year=sheet.year, path=path, url=url,
                                 summary=summary,
                                 tasks=sheet.rectifications, now=now)
    return record


def acknowledge(unit: Unit, year: int, user, now: datetime) -> Feedback:
    """The unit confirms it received the 反馈单."""
    record = feedback_record(unit.id, year)
    if record is None:
        raise TrackerError(_("No feedback sheet was issued to this unit for %(year)d.",
                             year=year))
    if record.acknowledged_at is None:
        record.acknowledged_at, record.acknowledged_by_id = now, user.id
        db.session.flush()
    return record


def issued(year: int) -> list[tuple[Unit, Feedback | None]]:
    """Every assessed unit with its 反馈单 of the year (None: not issued): who has not
    acknowledged it shows at a glance."""
    records = {f.unit_id: f for f in db.session.scalars(
        sa.select(Feedback).where(Feedback.year == year))}
    return [(u, records.get(u.id)) for u in assessed_units()]
