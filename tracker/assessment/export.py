"""The scoring sheet as .xlsx (the annex's own layout) and as CSV."""

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from tracker.assessment.scoring import Layout, rank

HEADERS = ["一级项目", "二级项目", "工作要求", "扣分标准", "分值", "得分"]
WIDTHS = [14, 30, 60, 36, 7, 7]
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")


#: A cell starting with one of these is a formula to a spreadsheet program.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _append(sheet, values: list) -> None:
    """Append a row; text that looks like a formula (a unit named ``=HYPERLINK(...)``)
    stays text: openpyxl would otherwise store it as a formula."""
    cells = []
    for value in values:
        cell = Cell(sheet, value=value)
        if cell.data_type == "f":
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)


def _csv_cell(value):
    """Text a spreadsheet would take for a formula, quoted with an apostrophe (OWASP's
    advice against CSV injection); numbers as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


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


def write_xlsx(stream, title: str, layout: Layout, groups, results: list) -> None:
    """One sheet per unit in the annex's layout, and a summary sheet ranking all units."""
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    taken = {"汇总"}
    totals = {r.unit.id: r.total for r in results}
    ranks = rank(totals)
    head = ["排名", "单位"] + [label for _, label, _ in layout.groups] + ["总分"]
    _append(summary, [title])
    summary.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    _append(summary, head)
    for result in sorted(results, key=lambda r: (ranks[r.unit.id], r.unit.name)):
        _append(summary, [ranks[result.unit.id], result.unit.name]
                         + [_number(result.group_total(g)) for g in groups]
                         + [_number(result.total)])
    for row in summary.iter_rows(min_row=2):
        for cell in row:
            cell.border, cell.alignment = BOX, WRAP
    summary["A1"].font = Font(bold=True, size=14)
    for index, width in enumerate([6, 24] + [12] * len(groups) + [8], start=1):
        summary.column_dimensions[get_column_letter(index)].width = width

    for result in results:
        sheet = book.create_sheet(_sheet_name(result.unit.name, taken))
        _unit_sheet(sheet, f"{result.unit.name} · {title}", layout, result)
    book.save(stream)


def _unit_sheet(sheet, title: str, layout: Layout, result) -> None:
    _append(sheet, [title])
    sheet.merge_cells("A1:F1")
    sheet["A1"].font = Font(bold=True, size=14)
    _append(sheet, HEADERS)
    for cell in sheet[2]:
        cell.font, cell.alignment, cell.border = Font(bold=True), CENTER, BOX
    first = 3
    for offset, row in enumerate(layout.rows):
        score = result.rows[row.node_id].final
        _append(sheet, [row.group_label, row.item_label, row.requirement, row.deduction,
                        row.points, _number(score)])
        r = first + offset
        if row.group_span > 1:
            sheet.merge_cells(start_row=r, start_column=1, end_row=r + row.group_span - 1,
                              end_column=1)
        if row.item_span > 1:
            sheet.merge_cells(start_row=r, start_column=2, end_row=r + row.item_span - 1,
                              end_column=2)
    last = first + len(layout.rows)
    _append(sheet, ["合计", "", "", "", layout.total, _number(result.total)])
    sheet.merge_cells(start_row=last, start_column=1, end_row=last, end_column=4)
    for row in sheet.iter_rows(min_row=first, max_row=last):
        for cell in row:
            cell.border = BOX
            cell.alignment = CENTER if cell.column in (1, 5, 6) else WRAP
    sheet.cell(row=last, column=1).font = Font(bold=True)
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"


def csv_text(layout: Layout, results: list) -> str:
    """Every unit's rows, flat: unit, the annex's columns; a total row per unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows = [["单位"] + HEADERS]
    for result in results:
        rows += [[result.unit.name, row.group_label, row.item_label, row.requirement,
                  row.deduction, row.points, _number(result.rows[row.node_id].final)]
                 for row in layout.rows]
        rows.append([result.unit.name, "合计", "", "", "", layout.total,
                     _number(result.total)])
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return "\ufeff" + out.getvalue()  # the BOM lets Excel read the file as UTF-8
