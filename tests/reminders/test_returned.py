"""Work returned for rework: the unit's people hear of it, once, by the next pass."""

from datetime import datetime, timezone

import sqlalchemy as sa

from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import OutboxMessage, ReminderMode
from tracker.reminders.services import set_preferences
from tracker.tasks.models import Task, TaskStatus

COMMENT = "缺少会议照片 <b>请补充</b> & 签到表\n第二行"


def submitted_task(town):
    """The unit's first self-check, (again) submitted for review."""
    db.session.expire_all()  # the review happened in the request's session
    task = db.session.scalar(sa.select(Task).where(Task.unit_id == town["branch"].id,
                                                   Task.duty.has(code="self-check-h1")))
    task.status = TaskStatus.SUBMITTED
    db.session.commit()
    return task


def review(app, login, town, task, verdict, comment=""):
    app.config["WTF_CSRF_ENABLED"] = False
    client = login(app.test_client(), town["admin"])
    response = client.post(f"/tasks/{task.id}/review",
                           data={"verdict": verdict, "comment": comment})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def test_a_returned_task_is_mailed_to_the_units_people(mail_app, town, smtp_server, login):
    task = submitted_task(town)
    review(mail_app, login, town, task, "return", COMMENT)
    queued = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in queued] == ["manager@shuyuan.example",
                                             "viewer@shuyuan.example"]

    # The pass also sends the town's due-date reminders of the moment: look at the notices.
    report = dispatch(datetime.now(timezone.utc))
    assert {m.id for m in queued} <= {sent[0] for sent in report.sent}
    mails = {m.recipients[0]: m for m in smtp_server.take()
             if m.message["Message-ID"].startswith("<returned.")}
    assert len(mails) == 2
    zh, en = mails["manager@shuyuan.example"], mails["viewer@shuyuan.example"]
    assert zh.message["Subject"] == "【退回】上半年意识形态工作自查：请按意见修改后重新提交"
    assert en.message["Subject"].startswith("Returned for rework: ")
    assert zh.message["Message-ID"].startswith(f"<returned.{task.id}.1.")
    for mail in (zh, en):
        assert not mail.message.defects
        assert f"https://tracker.shuyuan.example/tasks/{task.id}" in mail.text
        assert COMMENT in mail.text.replace("\r\n", "\n")
        assert "缺少会议照片 &lt;b&gt;请补充&lt;/b&gt; &amp; 签到表" in mail.html
        assert "<b>请补充</b>" not in mail.html
        assert mail.message["List-Unsubscribe"]
    assert "宣传办 协调员退回了【洋溢村党总支】的一项工作" in zh.text

    # Nothing twice: another pass sends nothing.
    assert dispatch(datetime.now(timezone.utc)).sent == []
    assert smtp_server.take() == []


def test_a_second_return_is_a_new_notice(mail_app, town, smtp_server, login):
    task = submitted_task(town)
    review(mail_app, login, town, task, "return", "第一次")
    review(mail_app, login, town, submitted_task(town), "return", "第二次")
    keys = db.session.scalars(sa.select(OutboxMessage.key).order_by(OutboxMessage.id)).all()
    assert len(keys) == len(set(keys)) == 4


def test_accepting_mails_nobody_and_reminders_off_means_no_notice(mail_app, town, login):
    task = submitted_task(town)
    review(mail_app, login, town, task, "accept")
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0

    task = submitted_task(town)
    set_preferences(town["viewer"].id, mode=ReminderMode.NONE)
    db.session.commit()
    review(mail_app, login, town, task, "return", "请补充")
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == [
        "manager@shuyuan.example"]


def test_a_refused_return_queues_nothing(mail_app, town, login):
    """No comment: the return is refused, and no notice is left behind."""
    task = submitted_task(town)
    mail_app.config["WTF_CSRF_ENABLED"] = False
    client = login(mail_app.test_client(), town["admin"])
    response = client.post(f"/tasks/{task.id}/review", data={"verdict": "return"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
