"""The inbox: every reminder and returned-work notice also lands there, in the transaction
that decides it; the header's bell counts the unread; read one or all."""

import re
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.robotserver import WECOM
from tracker.calendar.views import PAGES
from tracker.extensions import db
from tracker.reminders.channels import set_channel
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import (Channel, Notification, OutboxMessage,
                                      ReminderLedgerEntry, ReminderMode)
from tracker.reminders.services import queue_feedback_notice, set_preferences
from tracker.tasks.models import Task

from .test_returned import COMMENT, review, submitted_task

TZ = ZoneInfo("Asia/Shanghai")


def at(month, day, hour=8):
    return datetime(2026, month, day, hour, 0, tzinfo=TZ)


def notices(user):
    db.session.expire_all()
    return {(n.task_id, n.kind) for n in db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id))}


def ledger(user):
    return {(task, kind) for task, kind in db.session.execute(
        sa.select(ReminderLedgerEntry.task_id, ReminderLedgerEntry.kind)
        .where(ReminderLedgerEntry.user_id == user.id))}


def bell(html: str) -> str:
    return re.search(r'<a class="bell"[^>]*aria-label="([^"]*)"', html)[1]


def test_every_reminder_lands_in_the_inbox_mails_or_not(mail_app, town, smtp_server):
    set_preferences(town["manager"].id, mode="each")
    set_preferences(town["viewer"].id, mode="none")
    db.session.commit()
    dispatch(at(2, 24))
    mailed = {m.recipients[0] for m in smtp_server.take()}
    assert "viewer@shuyuan.example" not in mailed  # mails off: no mail ...
    due = {t.id: t for t in db.session.scalars(sa.select(Task).where(
        Task.unit_id == town["branch"].id,
        Task.due_date.in_([date(2026, 2, 10), date(2026, 2, 25), date(2026, 2, 28)])))}
    expected = {(t.id, {10: "overdue:14", 25: "before:1", 28: "before:7"}[t.due_date.day])
                for t in due.values()}
    for person in ("manager", "viewer"):  # ... but the inbox, like everyone
        assert notices(town[person]) == ledger(town[person]) == expected
    # The coordinator: the town's overdue, and the office's own study group session.
    own = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town["office"].id,
                                                     Task.due_date == date(2026, 2, 28)))
    assert notices(town["admin"]) == {(t, k) for t, k in expected if k.startswith("overdue")} | {
        (own, "before:7")}
    # Recorded once: another pass adds nothing.
    dispatch(at(2, 24, 12))
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 8
    viewer_rows = db.session.scalars(sa.select(ReminderLedgerEntry).where(
        ReminderLedgerEntry.user_id == town["viewer"].id)).all()
    assert {r.outbox_id for r in viewer_rows} == {None}


def test_a_returned_task_lands_in_the_inboxes_of_the_units_people(mail_app, town, login):
    set_preferences(town["viewer"].id, mode=ReminderMode.NONE)
    db.session.commit()
    task = submitted_task(town)
    review(mail_app, login, town, task, "return", COMMENT)
    for person in ("manager", "viewer"):
        assert notices(town[person]) == {(task.id, "returned")}
    assert notices(town["admin"]) == set()  # the reviewer
    [notice] = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == town["viewer"].id)).all()
    assert notice.detail == COMMENT and notice.read_at is None
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == [
        "manager@shuyuan.example"]


def test_a_refused_return_leaves_no_notice(mail_app, town, login):
    task = submitted_task(town)
    mail_app.config["WTF_CSRF_ENABLED"] = False
    client = login(mail_app.test_client(), town["admin"])
    assert client.post(f"/tasks/{task.id}/review", data={"verdict": "return"}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0


def test_the_bell_counts_the_unread_within_the_users_own_query(mail_app, town, login,
                                                               count_queries):
    client = login(mail_app.test_client(), town["manager"])
    PAGES.clear()  # both pages built whole (notices change no task: the content is kept)
    with count_queries() as before:
        page = client.get("/").get_data(as_text=True)
    assert bell(page) == "Inbox: 0 unread"
    dispatch(at(2, 24))
    PAGES.clear()
    with count_queries() as after:
        page = client.get("/").get_data(as_text=True)
    assert bell(page) == "Inbox: 3 unread"
    assert re.search(r'class="count"[^>]*>3<', page)
    assert len(after) == len(before)
    [load] = [s for s in after if re.search(r"FROM users\b", s) and "notifications" in s]
    assert after.index(load) == 0  # the user's own query


def test_the_list_reading_one_and_all(mail_app, town, login):
    dispatch(at(2, 24))
    mail_app.config["WTF_CSRF_ENABLED"] = False
    client = login(mail_app.test_client(), town["manager"])
    page = client.get("/inbox").get_data(as_text=True)
    rows = db.session.scalars(sa.select(Notification).where(
        Notification.user_id == town["manager"].id).order_by(Notification.id)).all()
    assert page.count('data-testid="notice"') == 3
    for row in rows:
        assert f'href="/tasks/{row.task_id}"' in page
    assert "14 days overdue" in page and "Due in 1 day" in page and "Due in 7 days" in page

    assert client.post(f"/inbox/{rows[0].id}/read").status_code == 302
    assert bell(client.get("/inbox").get_data(as_text=True)) == "Inbox: 2 unread"
    # Someone else's notice is as if it did not exist.
    other = login(mail_app.test_client(), town["viewer"])
    assert other.post(f"/inbox/{rows[1].id}/read").status_code == 404
    assert client.post("/inbox/read").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert bell(page) == "Inbox: 0 unread" and "Mark all as read" not in page
    assert bell(other.get("/inbox").get_data(as_text=True)) == "Inbox: 3 unread"
    assert client.get("/inbox?page=2").status_code == 404
    assert client.get("/inbox?page=x").status_code == 400


@pytest.mark.parametrize("locale, text", [("zh_CN", "消息通知"), ("en", "Inbox")])
def test_the_bell_speaks_the_pages_language(mail_app, town, login, locale, text):
    town["manager"].locale = locale
    db.session.commit()
    client = login(mail_app.test_client(), town["manager"])
    assert text in bell(client.get("/inbox").get_data(as_text=True))


def test_a_feedback_notice_speaks_each_persons_language_and_the_group_the_towns(
        robot_app, robot_server, town):
    """The 问题反馈单 notice: the inbox title in each person's language (the viewer reads
    English), the group robot's message in the town's."""
    set_channel(town["branch"], WECOM, robot_server.add(WECOM), now=at(12, 1))
    rectify = SimpleNamespace(id=1, title="补齐学习研讨记录", due_date=date(2027, 3, 31))
    queue_feedback_notice(town["branch"], 2026, "/assessment/2026/feedback",
                          "https://t.example/f", "扣 2 分", [rectify], at(12, 2))
    db.session.commit()
    titles = dict(db.session.execute(sa.select(Notification.user_id, Notification.title)
                                     .where(Notification.kind == "feedback")).all())
    assert titles == {town["manager"].id: "洋溢村党总支 2026 年度问题反馈单",
                      town["viewer"].id: "洋溢村党总支: feedback sheet of 2026"}
    robot = db.session.scalars(sa.select(OutboxMessage)
                               .where(OutboxMessage.channel == Channel.ROBOT)).one()
    assert robot.subject == "【问题反馈单】洋溢村党总支 2026 年度"
    content = robot.message.decode("utf-8")
    assert "整改：补齐学习研讨记录（2027-03-31 前完成）" in content and "查阅并签收：" in content
