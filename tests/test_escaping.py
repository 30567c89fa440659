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
from openpyxl import load_workbook

from tests.hostile import MARKUP, first_task, pages
from tests.mailserver import mail_config
from tracker.extensions import db
from tracker.reminders.dispatch import dispatch


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
        expected |= {"reminder_outbox.subject", "reminder_outbox.last_error",
                     "plan_versions.title", "plan_versions.source",
                     "workday_overrides.name"}
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
    # Reminders only: the town's returned-work notice was built before the markup went in
    # (whether it is due by then depends on the day the suite runs).
    mails = [m for m in smtp_server.take() if not m.message["Message-ID"].startswith("<returned.")]
    assert mails, "no reminder was sent"
    for mail in mails:
        html, text = mail.html, mail.text
        assert not MARKUP.search(html), MARKUP.search(html).group(0)
        assert "&lt;i class=xss&gt;tasks.title#" in html
        assert "<i class=xss>tasks.title#" in text  # plain text shows the title as it is
        for name, value in mail.message.items():
            assert "\n" not in str(value) and "\r" not in str(value), name
        assert set(mail.message.keys()) >= {"Subject", "From", "To", "Message-ID"}
