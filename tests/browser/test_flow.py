"""A unit records completion with a file, the coordinator accepts it, progress rises."""


import sqlalchemy as sa

from tracker.extensions import db
from tracker.tasks.models import Task, TaskStatus

PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sign_in(page, base, email):
    """Sign in through the form (the page may be a phone's: the form's own button, not one
    in the header)."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button.primary")
    page.wait_for_url(f"{base}/")


def done_percent(page, base):
    page.goto(f"{base}/progress")
    return int(page.locator("[data-testid=done-percent]").first.inner_text().rstrip("%"))


def test_complete_with_upload_accept_and_see_progress(live_server, town, page_for, tmp_path):
    base = live_server
    task = db.session.scalar(
        sa.select(Task).join(Task.duty).where(Task.unit_id == town.units.a.id,
                                              Task.duty.has(code="self-check-h1")))
    evidence = tmp_path / "自查记录.pdf"
    evidence.write_bytes(PDF)

    manager = page_for("manager")
    sign_in(manager, base, "manager@example.org")
    assert manager.locator("table.calendar").is_visible()
    manager.shot("calendar")
    heading = manager.locator("h1").inner_text()
    manager.click("a[rel=next]")
    assert manager.locator("h1").inner_text() != heading
    manager.click("a[rel=prev]")
    manager.click("a[rel=prev]")
    manager.shot("previous-month")
    before = done_percent(manager, base)

    manager.goto(f"{base}/?date={task.due_date.isoformat()}")
    manager.click(f"a[href='/tasks/{task.id}']")
    assert "上半年意识形态工作自查" in manager.locator("h1").inner_text()
    manager.set_input_files("input[name=file]", str(evidence))
    manager.click("form[enctype] button")
    # Sent in the background (with a progress bar): the list shows it when it is done.
    manager.locator("ul.files a", has_text="自查记录.pdf").wait_for()
    manager.fill("textarea[name=note]", "已完成上半年自查")
    manager.click("button[value=submit]")
    assert manager.locator("[data-testid=task-status]").inner_text() == "Submitted" or \
        manager.locator("[data-testid=task-status]").inner_text() == "已提交"
    manager.shot("submitted")

    admin = page_for("admin")
    sign_in(admin, base, "admin@example.org")
    admin.goto(f"{base}/tasks/{task.id}")
    admin.check("input[name=verdict][value=accept]")
    admin.click("form[action$='/review'] button")
    admin.shot("accepted")
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.ACCEPTED

    after = done_percent(manager, base)
    manager.shot("progress")
    assert after > before


def test_week_and_agenda_views_and_language_switch(live_server, town, page_for):
    page = page_for("viewer", locale="en-US")
    sign_in(page, live_server, "viewer@example.org")
    page.click("nav.views a:nth-child(2)")  # week
    assert page.locator("table.calendar.week").is_visible()
    page.click("nav.views a:nth-child(3)")  # agenda
    assert page.locator(".agenda").is_visible()
    page.click("button[value=zh_CN]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.shot("agenda-zh")
