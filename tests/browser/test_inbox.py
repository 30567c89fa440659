"""The inbox in a real browser: the coordinator returns work, the unit's manager sees the
bell count, reads the list, marks a notice and then all of them read; and the unit's
group robot set up on its page, masked once saved, with a test message."""

import sqlalchemy as sa

from tests.robotserver import DINGTALK
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.reminders.models import Notification
from tracker.tasks.models import PENDING, Task, TaskStatus

from .test_flow import sign_in


def test_the_bell_the_list_and_marking_read(live_server, town, page_for):
    base = live_server
    tasks = db.session.scalars(sa.select(Task).where(
        Task.unit_id == town.units.a.id, Task.status.in_(sorted(PENDING)))
        .order_by(Task.due_date, Task.id).limit(3)).all()
    returned, *reminded = tasks
    returned.status = TaskStatus.SUBMITTED
    for task, kind in zip(reminded, ("before:7", "overdue:14")):
        db.session.add(Notification(user_id=town.users.manager.id, task_id=task.id, kind=kind,
                                    due_date=task.due_date, created_at=utcnow()))
    db.session.commit()

    admin = page_for("admin", locale="en-US")
    sign_in(admin, base, "admin@example.org")
    admin.goto(f"{base}/tasks/{returned.id}")
    admin.check("input[name=verdict][value=return]")
    admin.fill("textarea[name=comment]", "请补充会议照片")
    admin.click("form[action$='/review'] button")
    assert admin.locator("[data-testid=bell]").get_attribute("aria-label") == "Inbox: 0 unread"

    manager = page_for("manager", locale="en-US")
    sign_in(manager, base, "manager@example.org")
    bell = manager.locator("[data-testid=bell]")
    assert bell.get_attribute("aria-label") == "Inbox: 3 unread"
    assert bell.locator(".count").inner_text() == "3"
    manager.shot("bell")
    bell.click()
    manager.wait_for_url(f"{base}/inbox")
    notices = manager.locator("[data-testid=notice]")
    assert notices.count() == 3 and manager.locator("li.unread").count() == 3
    notice = notices.filter(has_text="Returned for rework")
    assert "请补充会议照片" in notice.inner_text()
    assert "14 days overdue" in notices.nth(0).inner_text() + notices.nth(1).inner_text()
    manager.shot("inbox")

    notice.get_by_role("button", name="Mark as read").click()
    manager.wait_for_url(f"{base}/inbox")
    assert manager.locator("li.unread").count() == 2
    assert bell.get_attribute("aria-label") == "Inbox: 2 unread"
    notice.locator(f"a[href='/tasks/{returned.id}']").click()
    manager.wait_for_url(f"{base}/tasks/{returned.id}")
    assert "请补充会议照片" in manager.locator("main").inner_text()

    manager.go_back()
    manager.get_by_role("button", name="Mark all as read").click()
    manager.wait_for_url(f"{base}/inbox")
    assert manager.locator("li.unread").count() == 0 and notices.count() == 3
    assert bell.get_attribute("aria-label") == "Inbox: 0 unread"
    assert bell.locator(".count").count() == 0
    manager.shot("all-read")

    # In Chinese, the bell says so too.
    manager.click("button[value=zh_CN]")
    assert bell.get_attribute("aria-label") == "消息通知：0 条未读"


def test_setting_up_the_group_robot(app, live_server, town, page_for, robot_server):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    secret = "SEC" + "7b" * 32
    url = robot_server.add(DINGTALK, secret)
    token = url.rsplit("=", 1)[1]
    base = live_server
    manager = page_for("manager", locale="en-US")
    sign_in(manager, base, "manager@example.org")
    manager.goto(f"{base}/settings")
    manager.get_by_role("link", name="The unit's group robot").click()
    assert "no group robot yet" in manager.locator("[data-testid=robot-current]").inner_text()
    manager.check("input[name=vendor][value=dingtalk]")
    manager.fill("input[name=url]", url)
    manager.fill("input[name=secret]", secret)
    manager.click("form[autocomplete=off] button.primary")
    current = manager.locator("[data-testid=robot-current]").inner_text()
    assert "DingTalk" in current and token[:4] + "…" in current
    html = manager.content()
    assert token not in html and secret not in html
    assert manager.input_value("input[name=url]") == ""
    manager.get_by_role("button", name="Send a test message").click()
    assert "The robot took the test message" in manager.locator(".flash.success").inner_text()
    [received] = robot_server.take()
    assert received.query["sign"] and "测试消息" in received.message["markdown"]["text"]
    manager.shot("robot")
