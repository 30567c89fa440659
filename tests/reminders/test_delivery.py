"""Dispatch passes against a real SMTP server: what arrives, when, once."""

import email.policy
import re
from datetime import date, datetime, timedelta
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.reminders.backends import open_connection
from tracker.reminders.dispatch import MAX_ATTEMPTS, RETRY_DELAYS, claim, dispatch, enqueue_due
from tracker.reminders.mail import envelope_sender
from tracker.reminders.models import (OutboxMessage, OutboxStatus, ReminderLedgerEntry,
                                      ReminderMode)
from tracker.reminders.services import (failed_messages, get_preferences, resend,
                                         set_preferences)
from tracker.tasks.models import Task, TaskStatus

TZ = ZoneInfo("Asia/Shanghai")
BASE = "https://tracker.shuyuan.example"


def at(month, day, hour=8, minute=0):
    """An instant of 2026 given in plan time."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def task_due(town, month, day, unit="branch"):
    """The unit's tasks due on that day."""
    return db.session.scalars(sa.select(Task).where(
        Task.unit_id == town[unit].id, Task.due_date == date(2026, month, day))
        .order_by(Task.id)).all()


def links(mail) -> set[int]:
    """Task ids linked from a mail's text part (checked against the HTML part)."""
    text_ids = {int(i) for i in re.findall(re.escape(BASE) + r"/tasks/(\d+)", mail.text)}
    html_ids = {int(i) for i in re.findall(r'href="' + re.escape(BASE) + r'/tasks/(\d+)"',
                                           mail.html)}
    assert text_ids == html_ids
    return text_ids


def outbox(**where):
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return db.session.scalars(query).all()


def test_a_digest_arrives_intact(mail_app, town, smtp_server):
    """Subject in Chinese, both parts, links right, List-Unsubscribe headers."""
    (first,) = task_due(town, 2, 10)
    report = dispatch(at(2, 3))
    mails = {m.recipients[0]: m for m in smtp_server.take()}
    assert set(mails) == {"manager@shuyuan.example", "viewer@shuyuan.example"}
    assert report.queued == 2 and len(report.sent) == 2

    mail = mails["manager@shuyuan.example"]
    msg = mail.message
    assert mail.sender == "noreply@shuyuan.example"
    assert msg["Subject"] == "工作提醒：1 项待办即将到期"
    assert msg["To"].addresses[0].display_name == "张 三"
    assert msg["From"].addresses[0].display_name == "书院镇党委宣传办"
    assert msg["Message-ID"] == (
        f"<digest.{town['manager'].id}.2026-02-03@tracker.shuyuan.example>")
    assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
    assert links(mail) == {first.id}
    assert first.title in mail.text and "还有 7 天到期" in mail.text
    unsubscribe = msg["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{BASE}/reminders/unsubscribe/") and unsubscribe.endswith(">")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    english = mails["viewer@shuyuan.example"].message
    assert english["Subject"] == "Reminder: 1 item due soon"
    assert first.title_en in mails["viewer@shuyuan.example"].text

    assert outbox(status=OutboxStatus.SENT)[0].sent_at == at(2, 3)


def test_one_mail_per_item_when_chosen_and_none_when_turned_off(mail_app, town, smtp_server):
    set_preferences(town["manager"].id, mode="each")
    set_preferences(town["viewer"].id, mode="none")
    db.session.commit()
    # 24 Feb, first pass of the year: each task's latest reminder.
    expected = {(task_due(town, 2, 10)[0].id, "overdue:14"),
                (task_due(town, 2, 25)[0].id, "before:1"),
                (task_due(town, 2, 28)[0].id, "before:7")}
    dispatch(at(2, 24))
    mails = smtp_server.take()
    assert {m.recipients[0] for m in mails} == {"manager@shuyuan.example",
                                                 "admin@shuyuan.example"}
    mine = [m for m in mails if m.recipients[0] == "manager@shuyuan.example"]
    assert len(mine) == 3
    uid = town["manager"].id
    ids = {m.message["Message-ID"] for m in mine}
    assert ids == {f"<reminder.{t}.{uid}.{kind.replace(':', '.')}."
                   f"{db.session.get(Task, t).due_date.isoformat()}@tracker.shuyuan.example>"
                   for t, kind in expected}
    assert {(t, k) for t, k in db.session.execute(
        sa.select(ReminderLedgerEntry.task_id, ReminderLedgerEntry.kind)
        .where(ReminderLedgerEntry.user_id == uid))} == expected
    # The coordinator: the town-wide overdue summary, nothing due soon of other units; and
    # the office's own study group session due on 28 Feb.
    (summary,) = [m for m in mails if m.recipients[0] == "admin@shuyuan.example"]
    assert summary.message["Subject"] == "全镇工作提醒：2 项，其中 1 项已逾期"
    assert links(summary) == {task_due(town, 2, 10)[0].id,
                              task_due(town, 2, 28, "office")[0].id}


def test_a_second_pass_sends_nothing_more(mail_app, town, smtp_server):
    first = dispatch(at(2, 24))
    assert first.queued == 3 and len(smtp_server.take()) == 3
    for now in (at(2, 24), at(2, 24, 23), at(2, 25, 7, 59)):
        report = dispatch(now)
        assert (report.queued, report.sent) == (0, [])
    assert smtp_server.take() == []
    # The next day at 08:00: the next reminders (before:0 of the 25 Feb task).
    dispatch(at(2, 25))
    (manager,) = [m for m in smtp_server.take() if m.recipients[0] == "manager@shuyuan.example"]
    assert links(manager) == {task_due(town, 2, 25)[0].id}


def test_reminders_wait_for_each_users_hour(mail_app, town, smtp_server):
    set_preferences(town["viewer"].id, hour=20)
    set_preferences(town["manager"].id, hour=0)
    db.session.commit()
    dispatch(at(2, 2, 23, 59))
    assert smtp_server.take() == []
    dispatch(at(2, 3, 0, 0))
    assert [m.recipients for m in smtp_server.take()] == [["manager@shuyuan.example"]]
    dispatch(at(2, 3, 19, 59))
    assert smtp_server.take() == []
    dispatch(at(2, 3, 20, 0))
    assert [m.recipients for m in smtp_server.take()] == [["viewer@shuyuan.example"]]


def test_no_reminder_for_submitted_accepted_or_cancelled_tasks(mail_app, town, smtp_server):
    tasks = [task_due(town, 2, 10)[0], task_due(town, 2, 25)[0], task_due(town, 2, 28)[0]]
    for task, status in zip(tasks, (TaskStatus.SUBMITTED, TaskStatus.ACCEPTED,
                                    TaskStatus.CANCELLED)):
        task.status = status
    task_due(town, 2, 28, "office")[0].status = TaskStatus.SUBMITTED  # the office's own
    db.session.commit()
    report = dispatch(at(2, 24))
    assert report.queued == 0 and smtp_server.take() == []  # and no empty mails

    tasks[0].status = TaskStatus.RETURNED  # back for rework: reminders again
    db.session.commit()
    dispatch(at(2, 24, 9))
    mails = smtp_server.take()
    assert {m.recipients[0] for m in mails} == {"manager@shuyuan.example",
                                                 "viewer@shuyuan.example",
                                                 "admin@shuyuan.example"}
    assert all(links(m) == {tasks[0].id} for m in mails)


def test_a_moved_due_date_moves_the_reminders(mail_app, town, smtp_server):
    (task,) = task_due(town, 2, 10)
    dispatch(at(2, 3))
    assert len(smtp_server.take()) == 2
    task.due_date = date(2026, 2, 20)
    db.session.commit()
    # The old date's reminders (before:1 on 9 Feb, ...) no longer apply.
    for day in (9, 10, 12):
        dispatch(at(2, day))
        assert smtp_server.take() == []
    dispatch(at(2, 13))
    mails = smtp_server.take()
    assert len(mails) == 2 and all(links(m) == {task.id} for m in mails)
    assert "2026-02-20" in mails[0].text
    kinds = db.session.execute(
        sa.select(ReminderLedgerEntry.kind, ReminderLedgerEntry.due_date)
        .where(ReminderLedgerEntry.task_id == task.id,
               ReminderLedgerEntry.user_id == town["manager"].id)
        .order_by(ReminderLedgerEntry.id)).all()
    assert kinds == [("before:7", date(2026, 2, 10)), ("before:7", date(2026, 2, 20))]


def test_inactive_users_and_units_get_nothing(mail_app, town, smtp_server):
    town["viewer"].active = False
    db.session.commit()
    dispatch(at(2, 3))
    assert [m.recipients for m in smtp_server.take()] == [["manager@shuyuan.example"]]
    town["branch"].active = False
    db.session.commit()
    dispatch(at(2, 9))
    assert smtp_server.take() == []


def test_smtp_down_then_up_every_mail_arrives_once(mail_app, town, smtp_server):
    smtp_server.stop()
    report = dispatch(at(2, 24))
    assert report.queued == 3 and report.sent == [] and report.retrying == 3
    queued = outbox(status=OutboxStatus.QUEUED)
    assert len(queued) == 3
    assert all(m.attempts == 1 and "cannot connect" in m.last_error for m in queued)
    assert {m.next_attempt_at for m in queued} == {at(2, 24) + RETRY_DELAYS[0]}

    smtp_server.start()
    assert dispatch(at(2, 24, 8, 0) + timedelta(seconds=30)).sent == []  # not yet time
    report = dispatch(at(2, 24, 8, 1))
    assert len(report.sent) == 3
    dispatch(at(2, 24, 8, 10))
    mails = smtp_server.take()
    assert len(mails) == 3
    assert len({m.message["Message-ID"] for m in mails}) == 3
    assert {m.recipients[0] for m in mails} == {"manager@shuyuan.example",
                                                 "viewer@shuyuan.example",
                                                 "admin@shuyuan.example"}
    assert all(m.status == OutboxStatus.SENT and m.attempts == 2 for m in outbox())


def test_the_server_going_away_mid_pass_loses_nothing(mail_app, town, smtp_server):
    mail_app.config["REMINDERS_BATCH_SIZE"] = 1
    original = smtp_server.handle_DATA
    count = 0

    async def accept_one_then_stop(server, session, envelope):
        nonlocal count
        count += 1
        if count > 1:
            return "421 4.3.2 Service shutting down"
        return await original(server, session, envelope)

    smtp_server.handle_DATA = accept_one_then_stop
    report = dispatch(at(2, 24))
    # The one it was sending waits for a retry; the pass stops (the rest is not tried).
    assert len(report.sent) == 1 and report.retrying == 1
    assert sorted(m.attempts for m in outbox(status=OutboxStatus.QUEUED)) == [0, 1]
    smtp_server.handle_DATA = original
    dispatch(at(2, 24, 8, 1))
    mails = smtp_server.take()
    assert len(mails) == 3 and len({m.message["Message-ID"] for m in mails}) == 3


def test_a_550_answer_fails_at_once_and_can_be_resent(mail_app, town, smtp_server):
    smtp_server.refuse["manager@shuyuan.example"] = "550 5.1.1 Mailbox unavailable"
    report = dispatch(at(2, 3))
    assert [r for _, r, _ in report.failed] == ["manager@shuyuan.example"]
    for later in (at(2, 3, 9), at(2, 3, 12)):  # later passes of the day do not retry it
        dispatch(later)
    assert smtp_server.rcpt_attempts.count("manager@shuyuan.example") == 1
    assert [m.recipients[0] for m in smtp_server.take()] == ["viewer@shuyuan.example"]

    (failed,) = failed_messages()
    assert failed.recipient == "manager@shuyuan.example" and failed.user == town["manager"]
    assert failed.attempts == 1 and failed.last_error.startswith("550 5.1.1")
    assert failed.subject == "工作提醒：1 项待办即将到期"

    # The coordinator corrects the address and sends it again: same Message-ID.
    town["manager"].email = "zhang.san@shuyuan.example"
    resent = resend(failed.id, at(2, 3, 15))
    db.session.commit()
    assert resent.status == OutboxStatus.QUEUED and resent.recipient == "zhang.san@shuyuan.example"
    assert failed_messages() == []
    dispatch(at(2, 3, 15))
    (mail,) = smtp_server.take()
    assert mail.recipients == ["zhang.san@shuyuan.example"]
    assert mail.message["Message-ID"] == (
        f"<digest.{town['manager'].id}.2026-02-03@tracker.shuyuan.example>")
    assert links(mail) == {task_due(town, 2, 10)[0].id}
    assert outbox(id=failed.id)[0].status == OutboxStatus.SENT


def test_resend_refuses_what_did_not_fail(mail_app, town, smtp_server):
    dispatch(at(2, 3))
    sent = outbox()[0]
    with pytest.raises(TrackerError, match="not failed"):
        resend(sent.id, at(2, 3, 9))
    with pytest.raises(TrackerError, match="no queued message"):
        resend(10_000, at(2, 3, 9))


def test_temporary_refusals_are_retried_with_growing_delays(mail_app, town, smtp_server):
    smtp_server.refuse["manager@shuyuan.example"] = "451 4.3.0 Try again later"
    now = at(2, 3)
    dispatch(now)
    waits = []
    for _ in range(3):
        (mine,) = outbox(recipient="manager@shuyuan.example")
        assert mine.status == OutboxStatus.QUEUED
        waits.append(mine.next_attempt_at - now)
        now = mine.next_attempt_at
        dispatch(now)
    assert waits == list(RETRY_DELAYS[:3]) and waits[0] < waits[1] < waits[2]
    del smtp_server.refuse["manager@shuyuan.example"]
    (mine,) = outbox(recipient="manager@shuyuan.example")
    dispatch(mine.next_attempt_at)
    assert sorted(m.recipients[0] for m in smtp_server.take()) == [
        "manager@shuyuan.example", "viewer@shuyuan.example"]
    assert outbox(recipient="manager@shuyuan.example")[0].attempts == 5


def test_temporary_failures_end_in_failed_after_the_last_attempt(mail_app, town, smtp_server):
    smtp_server.refuse["manager@shuyuan.example"] = "452 4.2.2 Mailbox full"
    now = at(2, 3)
    for _ in range(MAX_ATTEMPTS):
        dispatch(now)
        (mine,) = outbox(recipient="manager@shuyuan.example")
        now = mine.next_attempt_at
    assert now - at(2, 3) == sum(RETRY_DELAYS, timedelta())  # the last try, ~2 days on
    assert mine.status == OutboxStatus.FAILED and mine.attempts == MAX_ATTEMPTS
    assert [m.id for m in failed_messages()] == [mine.id]


def test_a_claim_left_by_a_dead_pass_is_taken_over_after_the_lease(mail_app, town,
                                                                   smtp_server):
    """A pass that dies after the server accepted a mail, before marking it sent: the mail
    goes again after the lease, with the same Message-ID; nothing is lost."""
    now = at(2, 3)
    assert enqueue_due(db.engine, now, mail_app.config) == 2
    claimed = claim(db.engine, now, 10, timedelta(minutes=10))
    assert len(claimed) == 2
    # The dead pass got the first one accepted, then died.
    connection = open_connection(mail_app.config, mail_app.instance_path)
    connection.send(envelope_sender(mail_app.config["MAIL_DEFAULT_SENDER"]),
                    claimed[0].recipient, claimed[0].message, claimed[0].message_id)
    connection.close()

    assert dispatch(now + timedelta(minutes=9)).sent == []  # still within its lease
    assert len(dispatch(now + timedelta(minutes=11)).sent) == 2
    mails = smtp_server.take()
    assert len(mails) == 3
    ids = [m.message["Message-ID"] for m in mails]
    assert ids.count(claimed[0].message_id) == 2 and ids.count(claimed[1].message_id) == 1
    assert all(m.status == OutboxStatus.SENT for m in outbox())


def test_file_backend_writes_eml_files_when_no_server_is_set(app, town):
    assert not app.config["MAIL_SERVER"] and app.config["MAIL_BACKEND"] is None
    report = dispatch(at(2, 3))
    assert len(report.sent) == 2
    folder = app.instance_path + "/outbox"
    files = sorted(Path(folder).glob("*.eml"))
    assert [f.name for f in files] == [f"digest.{town['manager'].id}.2026-02-03.eml",
                                       f"digest.{town['viewer'].id}.2026-02-03.eml"]
    msg = BytesParser(policy=email.policy.default).parsebytes(files[0].read_bytes())
    assert msg["Subject"] == "工作提醒：1 项待办即将到期"


def test_a_bad_backend_setting_is_refused_before_anything_is_claimed(app, town):
    app.config["MAIL_BACKEND"] = "pigeon"
    with pytest.raises(TrackerError, match="MAIL_BACKEND"):
        dispatch(at(2, 3))
    app.config["MAIL_BACKEND"] = "smtp"
    with pytest.raises(TrackerError, match="MAIL_SERVER"):
        dispatch(at(2, 3))
    assert outbox() == []


def test_reminder_preferences_default_and_validate(app, town):
    prefs = get_preferences(town["manager"].id)
    assert (prefs.mode, prefs.hour) == (ReminderMode.DIGEST, 8)
    set_preferences(town["manager"].id, mode=ReminderMode.EACH, hour=21)
    db.session.commit()
    db.session.expire_all()
    prefs = get_preferences(town["manager"].id)
    assert (prefs.mode, prefs.hour) == (ReminderMode.EACH, 21)
    for bad in ({"mode": "weekly"}, {"hour": 24}, {"hour": -1}, {"hour": "8"}, {"hour": True}):
        with pytest.raises(TrackerError):
            set_preferences(town["manager"].id, **bad)
    with pytest.raises(TrackerError, match="no user"):
        set_preferences(10_000, hour=9)


@pytest.mark.parametrize("smtputf8", [True, False])
def test_an_internationalised_address_goes_where_the_server_takes_it(mail_app, town,
                                                                     smtp_server, smtputf8):
    """It needs SMTPUTF8 (RFC 6531). A server without it: that mail fails for good, alone."""
    smtp_server.stop()
    smtp_server.smtputf8 = smtputf8
    smtp_server.start()
    town["viewer"].email = "李四@shuyuan.example"
    db.session.commit()
    report = dispatch(at(2, 3))
    mails = {m.recipients[0]: m for m in smtp_server.take()}
    if smtputf8:
        assert set(mails) == {"manager@shuyuan.example", "李四@shuyuan.example"}
        # The address goes as UTF-8 (RFC 6532); the name stays encoded.
        assert "<李四@shuyuan.example>\r\n".encode() in mails["李四@shuyuan.example"].data
        assert report.failed == []
    else:
        assert set(mails) == {"manager@shuyuan.example"}
        assert [(r, e.split(":")[0]) for _, r, e in report.failed] == [
            ("李四@shuyuan.example", "not supported by the server")]
        assert [m.recipient for m in failed_messages()] == ["李四@shuyuan.example"]
