"""The assessment's exports, registered with ``tracker.core.exports``: the scoring sheet
(.xlsx in the annex's layout, CSV, the print view) and the 问题反馈单 (print view, PDF).

The views serve any format registered for these subjects (``/assessment/<year>/export.<fmt>``
for the scoring sheet), the command line writes any by its extension (``assessment export
-o FILE.ext``, ``assessment feedback -o FILE.ext``), and the pages list them.
"""

from dataclasses import dataclass
from datetime import date

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l

from tracker.assessment import export, feedback
from tracker.assessment.cycle import sheet_inputs
from tracker.assessment.scoring import GAP_NO_TASK, GAP_NOT_DUE, Layout
from tracker.assessment.services import (gap_reason, layout_for, ranking_groups, results,
                                         statement_caps)
from tracker.core import exports
from tracker.phases.models import Plan

SHEET = "assessment.sheet"
FEEDBACK = "assessment.feedback"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ScoringSheet:
    """The scoring sheet of some units for a year: what every format of it writes."""

    plan: Plan
    year: int
    layout: Layout
    #: The rubric's groups, as ``layout_for`` gives them.
    groups: list
    #: The units' ``UnitResult``, in the order the sheet lists them.
    results: list
    #: {unit id: (input lines, total by the plan's rule or None, caption)}.
    inputs: dict

    @property
    def title(self) -> str:
        return f"{self.plan.rubric_title or self.plan.title}（{self.year}）"


def scoring_sheet(plan: Plan, year: int, units: list, day: date) -> ScoringSheet:
    """The units' scoring sheet as it stands on ``day``."""
    layout, groups = layout_for(plan)
    scored = results(plan, year, units, day)
    ordered = [scored[u.id] for u in units]
    return ScoringSheet(plan, year, layout, groups, ordered, sheet_inputs(plan, year, ordered))


def _write_xlsx(sheet: ScoringSheet, stream) -> None:
    export.write_xlsx(stream, sheet.title, sheet.layout, sheet.groups, sheet.results,
                      ranking_groups(sheet.plan), sheet.inputs)


def _write_csv(sheet: ScoringSheet, stream) -> None:
    stream.write(export.csv_text(sheet.layout, sheet.results, sheet.inputs).encode("utf-8"))


def _write_print(sheet: ScoringSheet, stream) -> None:
    """The first unit's sheet as a page to print on A4 (a browser's session: its links)."""
    result = sheet.results[0]
    gaps = {node_id: gap_reason(r.node, r.evidence, r.gap)
            for node_id, r in result.rows.items() if r.gap}
    stream.write(render_template(
        "assessment/print.html", unit=result.unit, plan=sheet.plan, year=sheet.year,
        layout=sheet.layout, groups=sheet.groups, result=result,
        caps=statement_caps(sheet.plan), gaps=gaps, GAP_NOT_DUE=GAP_NOT_DUE,
        GAP_NO_TASK=GAP_NO_TASK, can_self=False).encode("utf-8"))


def _sheet_url(export_, unit_id=None, year=None):
    if export_.inline:
        # The print view is one unit's page.
        return (url_for("assessment.print_sheet", year=year, unit_id=unit_id)
                if unit_id else None)
    return url_for("assessment.download", year=year, fmt=export_.format, unit=unit_id)


exports.subject(SHEET, url=_sheet_url)
exports.register(exports.Export(SHEET, "print", ".html", "text/html", _l("Print view"),
                                _write_print, inline=True, cli=False))
exports.register(exports.Export(SHEET, "xlsx", ".xlsx", XLSX, _l("Scoring sheet (.xlsx)"),
                                _write_xlsx))
exports.register(exports.Export(SHEET, "csv", ".csv", "text/csv", "CSV", _write_csv))


def _write_feedback_print(sheet: feedback.FeedbackSheet, stream) -> None:
    stream.write(feedback.render_html(sheet).encode("utf-8"))


def _write_feedback_pdf(sheet: feedback.FeedbackSheet, stream) -> None:
    stream.write(feedback.render_feedback_pdf(sheet))


def _feedback_url(export_, unit_id=None, year=None):
    if export_.inline:
        return url_for("yearend.feedback_print", year=year, unit_id=unit_id)
    return url_for("yearend.feedback_export", year=year, unit_id=unit_id, fmt=export_.format)


exports.subject(FEEDBACK, url=_feedback_url)
exports.register(exports.Export(FEEDBACK, "print", ".html", "text/html", _l("Print view"),
                                _write_feedback_print, inline=True, cli=False))
exports.register(exports.Export(FEEDBACK, "pdf", ".pdf", "application/pdf", "PDF",
                                _write_feedback_pdf))
