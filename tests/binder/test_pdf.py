"""The binder PDF read back with poppler (pdftotext, pdffonts) and pypdf."""

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from tracker.binder.collect import collect
from tracker.binder.pdf import build_pdf
from tracker.core.timeutil import utcnow
from tracker.extensions import db

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"),
                                reason="poppler-utils (pdftotext, pdffonts) not installed")


def poppler(tool, pdf: bytes, tmp_path, *args) -> str:
    path = tmp_path / "binder.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext"
                          else [tool, str(path)], capture_output=True, text=True,
                          check=True).stdout


def test_the_binder_holds_every_row_statement_file_and_bound_evidence(filed, tmp_path):
    town = filed.town
    binder = collect(town.units.a, town.year, utcnow())
    pdf = build_pdf(binder)
    text = poppler("pdftotext", pdf, tmp_path)
    assert "工作台账" in text and "洋溢村党总支" in text and "书委〔2020〕29号" in text
    for row in binder.rows:
        if row.applicable:
            assert row.code in text
    # Statements and notes in full, every file by name, the evidence PDF's own text.
    assert "STATEMENT-TEXT 组织党外人士参观学习两次。" in text
    assert "班子会议签订责任书" in text
    for name in ("责任书.pdf", "签约现场.jpg", "分工.wps", "通知.ofd", "学习记录.heic",
                 "第二次学习.jpg"):
        assert name in text
    assert "EVIDENCE-PDF-OWN-TEXT" in text
    sha = filed.docs.evidence_files[0].sha256  # printed in two halves, one a line
    assert sha[:32] in text and sha[32:] in text
    # The sessions: date held, attendance, the ideology mark.
    assert f"{town.year}-02-20" in text and "实到 9 人" in text
    assert "本次学习有关意识形态内容" in text.replace("\n", "")  # may wrap
    # Every font embedded.
    fonts = poppler("pdffonts", pdf, tmp_path).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts


def test_the_outline_and_contents_point_at_the_rows(filed, tmp_path):
    town = filed.town
    binder = collect(town.units.a, town.year, utcnow())
    reader = PdfReader(io.BytesIO(build_pdf(binder)))
    titles = []

    def walk(items, depth=0):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                titles.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    row = next(r for r in binder.rows if r.code == "1-1-1")
    depth, title, page = next(t for t in titles if t[1].startswith("1-1-1 "))
    assert depth == 1
    # The row's page carries its heading, and the number the contents give for it.
    page_text = reader.pages[page].extract_text()
    assert row.node.title in page_text and f"第 {page + 1} 页" in page_text
    # Its bound attachments follow, in the outline too.
    attached = [t for t in titles if t[0] == 2 and t[1].startswith("附件")]
    assert any("责任书.pdf" in t[1] for t in attached)
    pdf_page = next(t[2] for t in attached if "责任书.pdf" in t[1])
    assert "EVIDENCE-PDF-OWN-TEXT" in reader.pages[pdf_page].extract_text()
    contents = reader.pages[1].extract_text()
    assert "目录" in contents


def test_rows_that_do_not_apply_give_their_reason(town, create_unit, tmp_path):
    from tracker.units.models import RowRuleMode
    from tracker.units.services import set_row_rule

    office = create_unit("党政办公室", "office")
    binder = collect(office, town.year, utcnow())
    skipped = [r for r in binder.rows if not r.applicable]
    assert skipped and all(r.reason for r in skipped)
    # A unit's own exemption (the coordinator's reason) is the reason shown.
    set_row_rule(office, town.year, "2-4-2", RowRuleMode.EXEMPT,
                 "EXEMPT-REASON 本单位无网络设施", None, utcnow())
    db.session.commit()
    binder = collect(office, town.year, utcnow())
    text = poppler("pdftotext", build_pdf(binder), tmp_path)
    assert "EXEMPT-REASON 本单位无网络设施" in text
    for row in binder.rows:
        assert row.code in text


def test_rectification_and_adhoc_work_is_filed(filed, runner, tmp_path):
    """整改 of a deduction goes under its row; 整改 of a 督导 finding and the coordinator's
    ad-hoc tasks go in the section after the rows; each with its files, in the PDF and the
    ZIP (整改 due next January counts for the year it rectifies)."""
    import zipfile
    from datetime import date

    from tests.binder.conftest import evidence_pdf, file_work, late_in
    from tracker.assessment.cycle import add_visit, rectify_finding, rectify_row
    from tracker.assessment.services import get_or_start
    from tracker.phases.services import plan_for_year
    from tracker.tasks.services import create_adhoc
    from tracker.workdays.services import work_calendar

    town = filed.town
    a, admin, manager = town.units.a, town.users.admin, town.users.manager
    now, plan = late_in(town.year), plan_for_year(town.year)
    days = work_calendar()
    assessment = get_or_start(a, plan, town.year, admin, now)
    row = next(d.node for d in assessment.deductions)
    january = days.working_on_or_after(date(town.year + 1, 1, 12))
    fixed = rectify_row(assessment, row.code, "RECTIFY-ROW 补齐材料", january, admin, now)
    visit = add_visit(a, date(town.year, 11, 20), "宣传办 张三", ["FINDING 宣传栏未更新"],
                      admin, now)
    found = rectify_finding(plan, visit.findings[0], "RECTIFY-FINDING 更新宣传栏", january,
                            admin, now)
    adhoc, = create_adhoc(admin, [a], "ADHOC-TASK 报送征文", "",
                          days.working_on_or_after(date(town.year, 12, 10)), now)
    cancelled, = create_adhoc(admin, [a], "CANCELLED-ADHOC", "",
                              days.working_on_or_after(date(town.year, 12, 10)), now)
    from tracker.tasks.models import TaskStatus
    cancelled.status = TaskStatus.CANCELLED
    for task, name in ((fixed, "整改材料.pdf"), (found, "宣传栏照片.pdf"), (adhoc, "征文.pdf")):
        file_work(task, manager, [(name, evidence_pdf(f"OWN-TEXT-{name}"))], now=now)
    db.session.commit()

    binder = collect(a, town.year, utcnow())
    mine = next(r for r in binder.rows if r.node is row)
    assert fixed in mine.tasks
    other = binder.rows[-1]
    assert other.node is None and other.heading == "其他工作（临时任务、整改）"
    assert [t.title for t in other.tasks] == ["RECTIFY-FINDING 更新宣传栏", "ADHOC-TASK 报送征文"]
    # The next year's binder has none of them: they belong to the year they rectify.
    text = poppler("pdftotext", build_pdf(binder), tmp_path)
    for words in ("RECTIFY-ROW 补齐材料", "RECTIFY-FINDING 更新宣传栏", "ADHOC-TASK 报送征文",
                  "其他工作（临时任务、整改）", "OWN-TEXT-征文.pdf", "OWN-TEXT-整改材料.pdf"):
        assert words in text, words
    assert "CANCELLED-ADHOC" not in text
    out = tmp_path / "a.zip"
    result = runner.invoke(args=["binder", "export", "--year", str(town.year), "--unit",
                                 a.name, "-o", str(out)])
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(out).namelist()
    assert any(n.startswith("其他工作（临时任务、整改）/") and n.endswith("征文.pdf") for n in names)
    assert any(n.startswith(f"{row.code} ") and n.endswith("整改材料.pdf") for n in names)


def test_evidence_pdfs_of_any_shape_are_bound_on_a4(filed, tmp_path):
    """A letter-size landscape page and a page turned by /Rotate are shrunk onto A4 and
    centred, their text kept; a PDF encrypted without an opening password is bound; one
    that needs a password, and one that is broken, are listed with why, not bound."""
    from pypdf import PdfWriter

    from tests.binder.conftest import file_work
    from tracker.core.pdf import render_pdf

    town = filed.town

    def rewritten(data: bytes, change) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        change(writer)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    letter = render_pdf('<style>@page { size: letter landscape }</style><p>LETTER-LANDSCAPE</p>')
    turned = rewritten(render_pdf("<p>TURNED-PAGE</p>"),
                       lambda w: w.pages[0].rotate(90))
    open_lock = rewritten(render_pdf("<p>OWNER-ONLY-LOCK</p>"),
                          lambda w: w.encrypt(user_password="", owner_password="owner",
                                              algorithm="AES-256"))
    locked = rewritten(render_pdf("<p>PASSWORD-LOCKED</p>"),
                       lambda w: w.encrypt(user_password="secret", algorithm="AES-256"))
    broken = b"%PDF-1.7\n" + b"\x00garbage" * 100
    import sqlalchemy as sa

    from tracker.tasks.models import Task, TaskStatus
    task = db.session.scalars(sa.select(Task).where(
        Task.unit_id == town.units.a.id, Task.status == TaskStatus.OPEN,
        Task.duty_id.is_not(None)).order_by(Task.due_date)).first()
    file_work(task, town.users.manager, [
        ("letter.pdf", letter), ("turned.pdf", turned), ("open-lock.pdf", open_lock),
        ("locked.pdf", locked), ("broken.pdf", broken)])
    db.session.commit()
    binder = collect(town.units.a, town.year, utcnow())
    pdf = build_pdf(binder)
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:  # every page A4, upright
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)
        assert not page.get("/Rotate")
    text = poppler("pdftotext", pdf, tmp_path)
    for words in ("LETTER-LANDSCAPE", "TURNED-PAGE", "OWNER-ONLY-LOCK"):
        assert words in text, words
    assert "PASSWORD-LOCKED" not in text
    listed = text.replace("\n", "")
    assert listed.count("无法读取（或已加密），未装订") == 2
    # The outline's attachments of the row point at the pages that hold them.
    titles = {}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles[item.title] = reader.get_destination_page_number(item)
    walk(reader.outline)
    for name, words in (("letter.pdf", "LETTER-LANDSCAPE"), ("turned.pdf", "TURNED-PAGE")):
        page = next(p for t, p in titles.items() if t.startswith("附件") and t.endswith(name))
        assert words in reader.pages[page].extract_text()
