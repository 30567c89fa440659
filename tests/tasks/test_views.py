"""The task list and the task page: completion with evidence, review, dates, ad-hoc
tasks."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.tasks.models import EvidenceFile, Task, TaskEvent, TaskEventKind, TaskStatus
from tracker.workdays.services import work_calendar

#: Task titles are checked in Chinese, the plan's own language.
ZH = {"Accept-Language": "zh-CN"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def task_of(unit, duty_code, seq=1):
    return db.session.scalar(
        sa.select(Task).join(Task.duty).where(Task.unit_id == unit.id, Task.seq == seq,
                                              Task.duty.has(code=duty_code)))


def fresh(task):
    db.session.expire_all()
    return db.session.get(Task, task.id)


def upload(client, task, data=PDF, name="记录.pdf"):
    return client.post(f"/tasks/{task.id}/evidence",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_complete_review_return_resubmit_accept(app, client, town, login):
    task = task_of(town.units.a, "topic-meeting")
    login(client, town.users.manager)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "1-5-1" in page.text and "未能提供会议纪要或记录" in page.text

    response = client.post(f"/tasks/{task.id}/work", data={"note": "开会", "action": "submit"})
    assert response.status_code == 400 and "Attach the evidence" in response.text
    assert fresh(task).status == TaskStatus.OPEN

    assert upload(client, task).status_code == 302
    response = client.post(f"/tasks/{task.id}/work", data={"note": "已开会", "action": "submit"})
    assert response.status_code == 302
    task = fresh(task)
    assert task.status == TaskStatus.SUBMITTED and task.note == "已开会"
    assert task.submitted_by_id == town.users.manager.id

    admin = app.test_client()
    login(admin, town.users.admin)
    response = admin.post(f"/tasks/{task.id}/review", data={"verdict": "return", "comment": ""})
    assert response.status_code == 400 and "Say what needs rework" in response.text
    admin.post(f"/tasks/{task.id}/review", data={"verdict": "return", "comment": "缺签到表"})
    assert fresh(task).status == TaskStatus.RETURNED
    assert "缺签到表" in client.get(f"/tasks/{task.id}").text

    client.post(f"/tasks/{task.id}/work", data={"note": "补签到表", "action": "submit"})
    admin.post(f"/tasks/{task.id}/review", data={"verdict": "accept"})
    task = fresh(task)
    assert task.status == TaskStatus.ACCEPTED and task.reviewed_by_id == town.users.admin.id
    kinds = [e.kind for e in db.session.scalars(
        sa.select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id))]
    # The refused first submit left nothing behind, not even its note.
    assert kinds == [TaskEventKind.EVIDENCE_ADDED,
                     TaskEventKind.NOTE_SAVED, TaskEventKind.SUBMITTED, TaskEventKind.RETURNED,
                     TaskEventKind.NOTE_SAVED, TaskEventKind.SUBMITTED, TaskEventKind.ACCEPTED]
    # Accepted: the unit can change it no more.
    assert upload(client, task).status_code == 400


def test_viewer_reads_but_cannot_work(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.viewer)
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "Record completion" not in page.text
    assert upload(client, task).status_code == 403
    assert client.post(f"/tasks/{task.id}/work", data={"action": "submit"}).status_code == 403


def test_other_units_tasks_and_files_are_not_found(app, client, town, login):
    task = task_of(town.units.a, "briefing")
    owner = app.test_client()
    login(owner, town.users.manager)
    upload(owner, task)
    evidence = db.session.scalar(sa.select(EvidenceFile))
    login(client, town.users.other)
    assert client.get(f"/tasks/{task.id}").status_code == 404
    assert client.get(f"/tasks/{task.id}/evidence/{evidence.id}").status_code == 404
    assert upload(client, task).status_code == 404
    # A file id under another task id (one the user may see) is not found either.
    own = task_of(town.units.b, "briefing")
    assert client.get(f"/tasks/{own.id}/evidence/{evidence.id}").status_code == 404


def test_download_is_an_attachment_with_the_original_name(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    upload(client, task, PNG, "../../etc/照片 1.png")
    evidence = db.session.scalar(sa.select(EvidenceFile))
    assert evidence.original_name == "照片 1.png"
    assert re.fullmatch(r"\d{4}/[0-9a-f]{32}\.png", evidence.stored_name)
    response = client.get(f"/tasks/{task.id}/evidence/{evidence.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%85%A7%E7%89%87%201.png" in response.headers[
        "Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_files_are_stored_outside_static(app, client, town, login, instance_path):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    upload(client, task)
    evidence = db.session.scalar(sa.select(EvidenceFile))
    stored = instance_path / "evidence" / evidence.stored_name
    assert stored.read_bytes() == PDF
    assert app.static_folder not in str(stored)
    assert client.get(f"/static/{evidence.stored_name}").status_code == 404


@pytest.mark.parametrize("data, name, status, message", [
    (b"MZ\x90\x00 not a pdf", "report.pdf", 400, "is not a .pdf file"),
    (PNG, "photo.jpg", 400, "is not a .jpg file"),
    (b"#!/bin/sh\necho hi\n", "run.sh", 400, "are not accepted"),
    (PDF, "noextension", 400, "has no extension"),
    (b"", "empty.pdf", 400, "empty"),
])
def test_bad_files_are_refused(client, town, login, data, name, status, message):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = upload(client, task, data, name)
    assert response.status_code == status and message in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 0


def test_oversized_upload_is_413(app, client, town, login, instance_path):
    app.config["MAX_EVIDENCE_BYTES"] = 1024
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = upload(client, task, PDF + b"0" * 2048)
    assert response.status_code == 413
    # Far larger than any evidence: refused before it is read.
    app.config["MAX_CONTENT_LENGTH"] = 4096
    assert upload(client, task, PDF + b"0" * 10000).status_code == 413
    assert not list((instance_path / "evidence").rglob("*.pdf")) if (
        instance_path / "evidence").exists() else True


def test_statement_cap_counts_characters_not_bytes(client, town, login):
    task = task_of(town.units.a, "united-front")  # 500字以内的情况说明
    login(client, town.users.manager)
    page = client.get(f"/tasks/{task.id}")
    assert 'maxlength="500"' in page.text
    statement = "统" * 500  # 1,500 bytes in UTF-8, 500 characters
    response = client.post(f"/tasks/{task.id}/work",
                           data={"statement": statement, "action": "submit"})
    assert response.status_code == 302
    assert fresh(task).status == TaskStatus.SUBMITTED
    other = task_of(town.units.a, "opinion-exploration")
    response = client.post(f"/tasks/{other.id}/work",
                           data={"statement": "统" * 501, "action": "save"})
    assert response.status_code == 400 and "501 characters" in response.text
    assert fresh(other).statement == ""


def test_html_is_shown_escaped(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    client.post(f"/tasks/{task.id}/work",
                data={"note": "<script>alert(1)</script>", "action": "save"})
    page = client.get(f"/tasks/{task.id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_move_one_task_and_a_whole_occurrence(app, client, town, login, runner):
    task = task_of(town.units.a, "study-session", seq=3)
    sibling = task_of(town.units.b, "study-session", seq=3)
    login(client, town.users.admin)
    year = town.year
    response = client.post(f"/tasks/{task.id}/move",
                           data={"due_date": f"{year + 1}-01-10", "scope": "task"})
    assert response.status_code == 400 and f"must lie in {year}" in response.text
    calendar = work_calendar()
    first = calendar.working_on_or_after(date(year, 6, 16))
    second = calendar.working_on_or_after(date(year, 6, 23))
    # A day off typed by hand is refused, the nearest working days offered.
    saturday = date(year, 6, 13) + timedelta(days=(5 - date(year, 6, 13).weekday()) % 7)
    response = client.post(f"/tasks/{task.id}/move",
                           data={"due_date": saturday.isoformat(), "scope": "task"})
    before, after = calendar.nearest_working_days(saturday)
    assert response.status_code == 400 and "is a day off" in response.text
    assert before.isoformat() in response.text and after.isoformat() in response.text
    client.post(f"/tasks/{task.id}/move", data={"due_date": first.isoformat(), "scope": "task"})
    assert fresh(task).due_date == first
    assert str(fresh(sibling).due_date) == f"{year}-06-30"
    client.post(f"/tasks/{task.id}/move", data={"due_date": second.isoformat(), "scope": "all"})
    assert fresh(sibling).due_date == second
    # Loading the plan again keeps the dates the coordinator set.
    result = runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", str(year)])
    assert result.exit_code == 0
    assert fresh(task).due_date == second


def test_manager_cannot_move_dates(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = client.post(f"/tasks/{task.id}/move", data={"due_date": f"{town.year}-06-20"})
    assert response.status_code == 404


def test_adhoc_task_for_several_units(client, town, login):
    login(client, town.users.admin)
    response = client.post("/tasks/new", data={
        "title": "党代会舆情应对预案 <b>", "description": "会前一周报送",
        "due_date": f"{town.year}-09-20", "units": [town.units.a.id, town.units.b.id]})
    assert response.status_code == 302
    made = db.session.scalars(sa.select(Task).where(Task.duty_id.is_(None))).all()
    assert {t.unit_id for t in made} == {town.units.a.id, town.units.b.id}
    assert all(t.phase.code == "P3" and t.due_manual for t in made)
    page = client.get(f"/tasks/{made[0].id}").text
    assert "党代会舆情应对预案 &lt;b&gt;" in page
    response = client.post("/tasks/new", data={"title": "x", "due_date": "2099-01-01",
                                                "units": [town.units.a.id]})
    assert response.status_code == 400 and "No plan is loaded for 2099" in response.text


def test_unit_users_see_only_their_unit(client, town, login):
    login(client, town.users.other)
    page = client.get("/tasks", query_string={"unit": town.units.a.id, "year": town.year})
    ids = {int(i) for i in re.findall(r'href="/tasks/(\d+)"', page.text)}
    units = set(db.session.scalars(sa.select(Task.unit_id).where(Task.id.in_(ids))))
    assert units == {town.units.b.id}


def test_filters(client, town, login):
    login(client, town.users.manager)
    page = client.get("/tasks", query_string={"duty": "self-check-h1", "year": town.year},
                      headers=ZH)
    assert "上半年意识形态工作自查" in page.text
    assert len(re.findall(r'href="/tasks/\d+"', page.text)) == 1
    page = client.get("/tasks", query_string={"phase": "P4", "year": town.year}, headers=ZH)
    assert "班子集中学习研讨（两委成员学习日）（第6次，共6次）" in page.text
    assert "班子集中学习研讨（两委成员学习日）（第1次" not in page.text


def test_the_list_opens_on_this_year_at_what_falls_due_next(client, town, login, monkeypatch):
    from datetime import date, datetime, timezone

    from tracker.phases.planfile import read_plan
    from tracker.tasks.loading import load_plan

    now = datetime(town.year, 7, 1, 4, tzinfo=timezone.utc)
    monkeypatch.setattr("tracker.core.web.utcnow", lambda: now)
    load_plan(read_plan("shuyuan-2020"), town.year - 1, now)  # last year must not come first
    db.session.commit()
    login(client, town.users.admin)
    html = client.get("/tasks").text
    shown = db.session.scalars(sa.select(Task).where(
        Task.id.in_(int(i) for i in re.findall(r'href="/tasks/(\d+)"', html)))).all()
    assert shown and {t.year for t in shown} == {town.year}
    following = db.session.scalar(
        sa.select(Task).where(Task.year == town.year, Task.due_date >= date(town.year, 7, 1))
        .order_by(Task.due_date, Task.unit_id, Task.title).limit(1))
    assert following in shown and 'rel="prev"' in html  # earlier work is a page back
    assert f"· {town.year}</h1>" in html
    # A page asked for is that page; another year opens on its first.
    first = client.get("/tasks", query_string={"page": 1}).text
    assert 'rel="prev"' not in first and f"year={town.year}" in first
    assert 'rel="prev"' not in client.get("/tasks", query_string={"year": town.year - 1}).text


def test_the_task_page_gives_the_documents_words_and_the_systems_as_the_feed_does(
        client, town, login):
    """原文 in the document's words; the cadence the plan chose labelled as the system's
    once (the note carries its own （参考进度）, the label adds （本系统设定）), as in the
    calendar feed's DESCRIPTION."""
    town.users.manager.locale = "zh_CN"
    db.session.commit()
    login(client, town.users.manager)
    task = task_of(town.units.a, "study-session", seq=2)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    words = re.search(r'data-testid="date-source">(.*?)</span></dd>', page, re.S)[1]
    text = re.sub(r"<[^>]+>", "", words)
    assert "原文：每年集中学习研讨不少于6次。" in text
    assert text.count("本系统安排：每两个月一次（参考进度）（本系统设定）。") == 1
    assert text.count("参考进度") == 1
