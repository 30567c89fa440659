"""The scoring sheet as people print it: the .xlsx rendered by LibreOffice (headless) to
PDF, read back with pdfminer: no wrapped row prints over another, the 汇总 sheet is one A4
landscape page, and a unit's sheet repeats its header row on every page.

Where LibreOffice is missing these tests skip with the reason, unless
TRACKER_TEST_REQUIRE_LIBREOFFICE=1 (as .ci/run sets), where they fail.
"""

import io
import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTTextBox, LTTextLine

from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus

REQUIRE = os.environ.get("TRACKER_TEST_REQUIRE_LIBREOFFICE") == "1"


@pytest.fixture
def backend():
    """Rendering does not depend on the database: SQLite only."""
    return "sqlite"


@pytest.fixture(scope="module")
def soffice():
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        reason = "LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)"
        if REQUIRE:
            pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_LIBREOFFICE=1)", pytrace=False)
        pytest.skip(reason)
    return binary


def render(soffice, xlsx: bytes, tmp_path):
    """The .xlsx as LibreOffice prints it: its pages, each (width, height, text lines)."""
    source = tmp_path / "sheet.xlsx"
    source.write_bytes(xlsx)
    profile = tmp_path / "profile"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{profile}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(tmp_path)})
    pages = []
    for page in extract_pages(str(tmp_path / "sheet.pdf")):
        lines = [line for box in page if isinstance(box, LTTextBox) for line in box
                 if isinstance(line, LTTextLine) and line.get_text().strip()]
        pages.append((page.width, page.height, lines))
    return pages


def overprinted(lines):
    """Pairs of text lines that print over each other."""
    return [(a.get_text().strip(), b.get_text().strip())
            for i, a in enumerate(lines) for b in lines[i + 1:]
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1]


def test_the_scoring_sheet_prints_cleanly(app, town, create_unit, client, login, soffice,
                                          tmp_path):
    create_unit("党政办公室", "office")
    load_plan(read_plan("shuyuan-2020"), town.year, db.session.scalar(
        sa.select(sa.func.max(Task.created_at))))
    for task in db.session.scalars(sa.select(Task).where(Task.unit_id == town.units.a.id)):
        task.status = TaskStatus.ACCEPTED
    db.session.commit()
    login(client, town.users.admin)
    xlsx = client.get(f"/assessment/{town.year}/export.xlsx").data
    pages = render(soffice, xlsx, tmp_path)

    for number, (_, _, lines) in enumerate(pages, start=1):
        assert not overprinted(lines), f"page {number}: {overprinted(lines)[:3]}"
    # 汇总: one A4 page, landscape, the units ranked with their raw and scaled totals.
    width, height, lines = pages[0]
    assert width > height and round(width) == 842 and round(height) == 595
    summary = " ".join(line.get_text() for line in lines)
    assert "排名" in summary and "党政办公室" in summary and "适用分值" in summary
    assert not any("排名" in line.get_text() for line in pages[1][2])
    # A unit's sheet: portrait A4, the header row on every page, 不适用 on an office's.
    sheets = pages[1:]
    assert all(round(w) == 595 for w, _, _ in sheets)
    for _, _, lines in sheets:
        assert any("一级项目" in line.get_text() for line in lines)
    office_text = " ".join(line.get_text() for _, _, lines in sheets for line in lines
                           if "党政办公室" in " ".join(x.get_text() for x in lines))
    assert "不适用" in office_text


def test_the_checker_sees_overprinted_rows(soffice, tmp_path):
    """Without the row heights, LibreOffice prints wrapped rows over each other: the check
    above would see it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    book = Workbook()
    sheet = book.active
    sheet.column_dimensions["A"].width = 12
    for row in range(1, 6):
        cell = sheet.cell(row=row, column=1, value="意识形态工作责任制考核评分细则" * 3)
        cell.alignment = Alignment(wrap_text=True)
        sheet.row_dimensions[row].height = 15  # one line for three lines of text
    stream = io.BytesIO()
    book.save(stream)
    (_, _, lines), *_ = render(soffice, stream.getvalue(), tmp_path)
    assert overprinted(lines)
