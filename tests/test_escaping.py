"""Hostile text in every stored text field comes out inert wherever it is shown.

Every free-text column people or plan files can fill (unit and user names, plan, phase,
duty and rubric texts, task titles, notes, statements, review comments, evidence file
names, deductions, self-assessment notes, failed mails) is set to markup, then every page
is fetched by every role: the markup must appear escaped, never as markup. Mails carry it
escaped in their HTML part and unfolded in their headers; the spreadsheets carry it as
text, never as a formula.
"""

import csv
import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.reminders.conftest import mail_config, smtp_server  # noqa: F401 (a fixture)
from tests.tasks.test_views import PDF
from tests.web.test_routes import ROUTES
from tracker.assessment import services as assessment
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import OutboxMessage, OutboxStatus
from tracker.tasks import services as work
from tracker.tasks.models import EvidenceFile, Task

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
    "reminder_outbox": ["subject", "last_error"],
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


@pytest.fixture
def hostile_town(app, town, instance_path):
    """The town with work in every state that shows text: a returned task with a note,
    statement, comment and a file, an assessment with a deduction and a self-assessment,
    a failed mail; then every free-text column filled with markup."""
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
    plan = assessment.plan_for_year(town.year)
    sheet = assessment.get_or_start(town.units.a, plan, town.year, admin, now)
    _, leaves = assessment.rubric_tree(plan)
    assessment.set_self_assessment(sheet, leaves[0].id, 0, "note", "", now)
    db.session.add(OutboxMessage(
        key="digest:escaping", user=manager, recipient=manager.email, subject="s",
        message_id="<m@x>", message=b"", status=OutboxStatus.FAILED, attempts=5,
        next_attempt_at=now, last_error="550"))
    db.session.commit()
    fill_with_markup()
    return town


def pages(town) -> list[str]:
    """Every GET route of the route table, and the calendar's views and filters."""
    task = first_task(town.units.a)
    evidence = db.session.scalar(sa.select(EvidenceFile))
    urls = [template.format(own=task.id, foreign=task.id, own_file=evidence.id,
                            foreign_file=evidence.id, user=town.users.manager.id,
                            own_unit=town.units.a.id, foreign_unit=town.units.a.id,
                            year=town.year)
            for checks in ROUTES.values() for method, template, _ in checks if method == "GET"]
    day = task.due_date.isoformat()
    return urls + [f"/?view={view}&date={day}" for view in ("month", "week", "agenda")] + [
        f"/?unit={town.units.a.id}&date={day}", f"/tasks?status=returned&year={town.year}",
        f"/progress?unit={town.units.a.id}", f"/overview?sort=overdue&dir=desc&year={town.year}",
        f"/assessment?year={town.year}"]


@pytest.mark.parametrize("role", ["admin", "manager", "viewer"])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_markup_in_stored_text_is_escaped_on_every_page(app, hostile_town, login, role,
                                                        language):
    client = login(app.test_client(), getattr(hostile_town.users, role))
    shown = set()
    for url in pages(hostile_town):
        response = client.get(url, headers={"Accept-Language": language})
        response.close()  # downloads are streamed files
        if not response.content_type.startswith("text/html"):
            continue
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (url, response.status_code)
        assert not MARKUP.search(body), (url, MARKUP.search(body).group(0),
                                         body[max(0, MARKUP.search(body).start() - 200):][:400])
        shown |= set(re.findall(r"&lt;i class=xss&gt;([a-z_]+\.[a-z_]+)#", body))
    # The markup did reach the pages, escaped: each role saw the texts it may see.
    expected = {"units.name", "users.name", "tasks.note", "tasks.review_comment",
                "evidence_files.original_name", "deductions.reason", "rubric_nodes.deduction",
                "plans.rubric_title" if language == "zh-CN" else "plans.rubric_title_en",
                "duties.description", "phases.title" if language == "zh-CN" else
                "phases.title_en", "tasks.title" if language == "zh-CN" else "tasks.title_en",
                "assessment_rows.self_note"}
    if role == "admin":
        expected |= {"reminder_outbox.subject", "reminder_outbox.last_error"}
    assert expected <= shown, expected - shown


def test_markup_in_exported_text_stays_text(app, hostile_town, login):
    """Names that look like formulas stay text in the xlsx and the CSV."""
    unit = hostile_town.units.a
    unit.name = '=HYPERLINK("http://evil.example","点击")'
    hostile_town.units.b.name = "+1+1"
    db.session.commit()
    client = login(app.test_client(), hostile_town.users.admin)
    year = hostile_town.year

    book = load_workbook(io.BytesIO(client.get(f"/assessment/{year}/export.xlsx").data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row
             if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = {c.value for c in cells}
    assert unit.name in values and "+1+1" in values

    text = client.get(f"/assessment/{year}/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    names = {row[0] for row in rows[1:]}
    assert "'" + unit.name in names and "'+1+1" in names
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


def test_markup_in_task_titles_and_names_is_escaped_in_mails(app, hostile_town, smtp_server):
    """A real dispatch pass to a real SMTP server: the HTML part escapes, headers hold."""
    app.config.update(mail_config(smtp_server))
    task = first_task(hostile_town.units.b)
    dispatch(datetime.combine(task.due_date - timedelta(days=1), time(8),
                              tzinfo=ZoneInfo("Asia/Shanghai")))
    mails = smtp_server.take()
    assert mails, "no reminder was sent"
    for mail in mails:
        html, text = mail.html, mail.text
        assert not MARKUP.search(html), MARKUP.search(html).group(0)
        assert "&lt;i class=xss&gt;tasks.title#" in html
        assert "<i class=xss>tasks.title#" in text  # plain text shows the title as it is
        for name, value in mail.message.items():
            assert "\n" not in str(value) and "\r" not in str(value), name
        assert set(mail.message.keys()) >= {"Subject", "From", "To", "Message-ID"}
