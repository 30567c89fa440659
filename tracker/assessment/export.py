"""The scoring sheet as .xlsx (the annex's own layout) and as CSV.

A row that does not apply to a unit's kind reads 不适用 in its 得分 cell. Where that
makes the plan's total differ from the points kept (the plan rescales, or counts such
rows in full), the sheet gives both: 合计 (the points kept) and the total by the rule.
"""

import csv
import functools
import io
import math
import re
import unicodedata
from types import SimpleNamespace

from tracker.assessment.scoring import Layout, rank, rank_within
from tracker.core.text import spreadsheet_cell

HEADERS = ["一级项目", "二级项目", "工作要求", "扣分标准", "分值", "得分"]
WIDTHS = [14, 30, 60, 36, 7, 7]
#: What a row that does not apply to the unit reads in its 得分 cell.
NOT_APPLICABLE = "不适用"
#: Row heights in points: one line of 11 pt text (CJK fonts run taller than Calibri),
#: and the padding above and below.
LINE_HEIGHT, ROW_PADDING = 16.5, 4


@functools.cache
def _styles() -> SimpleNamespace:
    """The sheet's borders and alignments, made on first use: openpyxl is imported only
    when a sheet is written, not by every process that loads the app (about 12 MB; the
    台账's PDF build, the web workers and the scheduler need none of it)."""
    from openpyxl.styles import Alignment, Border, Side

    thin = Side(style="thin")
    return SimpleNamespace(box=Border(left=thin, right=thin, top=thin, bottom=thin),
                           wrap=Alignment(wrap_text=True, vertical="center"),
                           center=Alignment(wrap_text=True, vertical="center",
                                            horizontal="center"))


def _append(sheet, values: list) -> None:
    """Append a row; text that looks like a formula (a unit named ``=HYPERLINK(...)``)
    stays text: openpyxl would otherwise store it as a formula."""
    from openpyxl.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet, value=value)
        if cell.data_type == "f":
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)


def _number(value):
    """Whole scores as integers, others with their one decimal."""
    return int(value) if value == int(value) else float(value)


def _sheet_name(name: str, taken: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"~{n}"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


def _score(row_result):
    """A row's 得分: its score, or 不适用 (with the coordinator's reason for an exemption)."""
    if row_result.applicable:
        return _number(row_result.final)
    return f"{NOT_APPLICABLE}（{row_result.na_reason}）" if row_result.na_reason else NOT_APPLICABLE


def _group_cell(result, group):
    """汇总's cell of a group: 得分 / 适用分, or 不适用 where none of its rows applies."""
    possible = result.group_possible(group)
    if not possible:
        return NOT_APPLICABLE
    return f"{_number(result.group_total(group))} / {_number(possible)}"


def state_label(result) -> str:
    """Whether the unit's figures are final (the coordinator locked its sheet)."""
    return "已定稿" if result.final else "未定稿"


def scaled_label(result) -> str:
    """The caption of the total by the plan's rule, where it differs from the points kept."""
    if result.rule == "full":
        return "计入不适用项分值后得分"
    return f"按适用分值（{result.possible}分）折算为百分制"


def text_lines(text, width: float) -> int:
    """How many lines ``text`` takes in a wrapping cell ``width`` characters wide (Excel's
    column width unit: the width of a digit), CJK characters counting as two."""
    lines = 0
    for paragraph in str(text).split("\n"):
        used = sum(2.2 if unicodedata.east_asian_width(ch) in "WF" else 1.1
                   for ch in paragraph)
        lines += max(1, math.ceil(used / max(width - 1, 1)))
    return lines


def fit_row_heights(sheet, widths: list[float], first_row: int = 1) -> None:
    """Set every row's height so that its wrapped text fits (LibreOffice, WPS and Excel all
    take a set height; without one some print wrapped rows over each other): first each
    row by its own cells, then a merged cell spreads what it needs over the rows it covers.
    """
    merged = {(r.min_row, r.min_col): r for r in sheet.merged_cells.ranges}
    inside = {(row, col) for r in merged.values() for row in range(r.min_row, r.max_row + 1)
              for col in range(r.min_col, r.max_col + 1)}
    heights = {}
    for row in sheet.iter_rows(min_row=first_row):
        lines = 1
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in inside:
                continue
            lines = max(lines, text_lines(cell.value, widths[cell.column - 1]))
        heights[row[0].row] = lines * LINE_HEIGHT + ROW_PADDING
    for (top, left), cells in merged.items():
        value = sheet.cell(row=top, column=left).value
        if value is None or top < first_row:
            continue
        width = sum(widths[c - 1] for c in range(cells.min_col, cells.max_col + 1))
        font = sheet.cell(row=top, column=left).font
        scale = (font.sz or 11) / 11 if font is not None else 1
        need = text_lines(value, width / scale) * LINE_HEIGHT * scale + ROW_PADDING
        rows = range(cells.min_row, cells.max_row + 1)
        have = sum(heights[r] for r in rows)
        if need > have:
            for r in rows:
                heights[r] += (need - have) / len(rows)
    for number, height in heights.items():
        sheet.row_dimensions[number].height = round(height, 1)


def input_rows(extra) -> list[list]:
    """The coordinator's inputs recorded for the unit as rows after 合计: label, source (and
    note), figure; the total by the plan's rule where it weighs them, and the rule's
    caption."""
    if not extra:
        return []
    lines, total, caption = extra
    rows = [[line.label + (f"（权重{line.weight}%）" if line.weight else ""), "",
             "；".join(x for x in (line.source, line.note) if x), "", "",
             _number(line.score) if line.score is not None else line.figure]
            for line in lines if line.figure]
    if not rows:
        return []  # nothing recorded: the sheet ends at its totals
    if total is not None:
        rows.append(["综合得分", "", "", "", "", _number(total)])
    rows.append([caption, "", "", "", "", ""])
    return rows


def write_xlsx(stream, title: str, layout: Layout, groups, results: list,
               ranking: list[dict] | None = None, inputs: dict | None = None) -> None:
    """One sheet per unit in the annex's layout, and a summary sheet ranking all units, in
    the whole town and within the plan's ranking groups (分类考核; ``ranking``: the plan's
    ``[{title, kinds}]``). Until a unit's sheet is locked its figures read 未定稿.
    ``inputs`` (``cycle.sheet_inputs``) adds the coordinator's inputs after 合计."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    style = _styles()
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    taken = {"汇总"}
    totals = {r.unit.id: r.total for r in results}
    ranks = rank(totals)
    within = {uid: f"{group['title']} {place}" for uid, (group, place) in rank_within(
        totals, {r.unit.id: str(r.unit.kind) for r in results}, ranking or ()).items()}
    head = (["排名", "分类排名", "单位"]
            + [f"{label}得分 / 适用分" for _, label, _ in layout.groups]
            + ["得分", "适用分值", "总分", "状态"])
    _append(summary, [title])
    summary.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    _append(summary, head)
    for result in sorted(results, key=lambda r: (ranks[r.unit.id], r.unit.name)):
        _append(summary, [ranks[result.unit.id], within.get(result.unit.id, ""),
                          result.unit.name]
                         + [_group_cell(result, g) for g in groups]
                         + [_number(result.raw), result.possible, _number(result.total),
                            state_label(result)])
    for row in summary.iter_rows(min_row=2):
        for cell in row:
            cell.border, cell.alignment = style.box, style.wrap
    for cell in summary[2]:
        cell.font, cell.alignment = Font(bold=True), style.center
    summary["A1"].font = Font(bold=True, size=14)
    summary["A1"].alignment = style.center
    widths = [6, 10, 24] + [14] * len(groups) + [8, 8, 8, 8]
    for index, width in enumerate(widths, start=1):
        summary.column_dimensions[get_column_letter(index)].width = width
    fit_row_heights(summary, widths)
    _print_setup(summary, landscape=True, titles="1:2")

    for result in results:
        sheet = book.create_sheet(_sheet_name(result.unit.name, taken))
        _unit_sheet(sheet, f"{result.unit.name} · {title}", layout, result,
                    (inputs or {}).get(result.unit.id))
    book.save(stream)


def _unit_sheet(sheet, title: str, layout: Layout, result, extra=None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    style = _styles()
    _append(sheet, [title])
    sheet.merge_cells("A1:F1")
    sheet["A1"].font = Font(bold=True, size=14)
    _append(sheet, HEADERS)
    for cell in sheet[2]:
        cell.font, cell.alignment, cell.border = Font(bold=True), style.center, style.box
    first = 3
    for offset, row in enumerate(layout.rows):
        _append(sheet, [row.group_label, row.item_label, row.requirement, row.deduction,
                        row.points, _score(result.rows[row.node_id])])
        r = first + offset
        if row.group_span > 1:
            sheet.merge_cells(start_row=r, start_column=1, end_row=r + row.group_span - 1,
                              end_column=1)
        if row.item_span > 1:
            sheet.merge_cells(start_row=r, start_column=2, end_row=r + row.item_span - 1,
                              end_column=2)
    last = first + len(layout.rows)
    _append(sheet, ["合计", "", "", "", result.possible, _number(result.raw)])
    if result.total != result.raw or result.possible != layout.total:
        _append(sheet, [scaled_label(result), "", "", "", layout.total,
                        _number(result.total)])
    totals_end = sheet.max_row
    for values in input_rows(extra):
        _append(sheet, values)
    for number in range(last, totals_end + 1):
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=4)
        sheet.cell(row=number, column=1).font = Font(bold=True)
    for number in range(totals_end + 1, sheet.max_row + 1):
        sheet.merge_cells(start_row=number, start_column=1, end_row=number, end_column=2)
        sheet.merge_cells(start_row=number, start_column=3, end_row=number, end_column=5)
    for row in sheet.iter_rows(min_row=first, max_row=sheet.max_row):
        for cell in row:
            cell.border = style.box
            cell.alignment = style.center if cell.column in (1, 5, 6) else style.wrap
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet["A1"].alignment = style.center
    fit_row_heights(sheet, WIDTHS)
    _print_setup(sheet, landscape=False, titles="2:2")


def _print_setup(sheet, landscape: bool, titles: str) -> None:
    """A4, as wide as the page, as many pages down as it takes, the heading rows repeated."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = titles


def csv_text(layout: Layout, results: list, inputs: dict | None = None) -> str:
    """Every unit's rows, flat: unit, the annex's columns; a 合计 row per unit (and the
    total by the plan's rule after it, where it differs); then, given ``inputs``
    (``cycle.sheet_inputs``), the coordinator's inputs: name in 一级项目, source in 工作要求,
    figure in 得分."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows = [["单位"] + HEADERS]
    for result in results:
        rows += [[result.unit.name, row.group_label, row.item_label, row.requirement,
                  row.deduction, row.points, _score(result.rows[row.node_id])]
                 for row in layout.rows]
        rows.append([result.unit.name, "合计", "", "", "", result.possible,
                     _number(result.raw)])
        if result.total != result.raw or result.possible != layout.total:
            rows.append([result.unit.name, scaled_label(result), "", "", "", layout.total,
                         _number(result.total)])
        rows += [[result.unit.name, *values]
                 for values in input_rows((inputs or {}).get(result.unit.id))]
    writer.writerows([spreadsheet_cell(value) for value in row] for row in rows)
    return "\ufeff" + out.getvalue()  # the BOM lets Excel read the file as UTF-8
