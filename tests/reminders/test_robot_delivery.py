"""Dispatch passes posting to the fake WeCom, DingTalk and Feishu robots of
tests/robotserver.py: one message per unit and day, what each answer does, pacing."""

import json
import re
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.robotserver import DINGTALK, FEISHU, WECOM, answer, too_fast, trickle
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.reminders.channels import remove_channel, set_channel
from tracker.reminders.dispatch import RETRY_DELAYS, dispatch
from tracker.reminders.models import (Channel, OutboxMessage, OutboxStatus, ReminderLedgerEntry,
                                      UnitChannel)
from tracker.reminders.robots import NAMES
from tracker.reminders.services import failed_messages, resend
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task
from tracker.units.models import UnitKind

from .conftest import PLAN_LOADED

TZ = ZoneInfo("Asia/Shanghai")
BASE = "https://tracker.shuyuan.example"
SECRET = "SEC" + "0123456789abcdef" * 4


def at(month, day, hour=8, minute=0):
    """An instant of 2026 given in plan time."""
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def due_on(unit, month, day):
    return db.session.scalars(sa.select(Task).where(
        Task.unit_id == unit.id, Task.due_date == date(2026, month, day))
        .order_by(Task.id)).all()


def robot_rows(**where):
    db.session.expire_all()
    query = sa.select(OutboxMessage).where(OutboxMessage.channel == Channel.ROBOT)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def text_of(received) -> str:
    """What the group reads, whatever the vendor's format."""
    message = received.message
    if received.vendor == WECOM:
        return message["markdown"]["content"]
    if received.vendor == DINGTALK:
        return message["markdown"]["text"]
    post = message["content"]["post"]["zh_cn"]
    return post["title"] + "\n" + "\n".join(
        "".join(e.get("text", "") + " " + e.get("href", "") for e in row)
        for row in post["content"])


def robot_sent(report):
    """What a pass sent to robots (its mails left out)."""
    return [sent for sent in report.sent if "@" not in sent[1]]


def task_links(received) -> set[int]:
    return {int(i) for i in re.findall(re.escape(BASE) + r"/tasks/(\d+)", text_of(received))}


def give_robot(unit, robot_server, vendor, secret=None, stored_secret=None):
    """A fake robot for the unit, saved as its channel; returns the robot's address."""
    url = robot_server.add(vendor, secret)
    set_channel(unit, vendor, url, stored_secret or secret, now=at(1, 1))
    db.session.commit()
    return url


@pytest.mark.parametrize("vendor, secret", [(WECOM, None), (DINGTALK, SECRET),
                                            (FEISHU, "feishu-s3cret")])
def test_one_message_per_unit_and_day(robot_app, town, robot_server, smtp_server, vendor,
                                      secret):
    branch = town["branch"]
    url = give_robot(branch, robot_server, vendor, secret)
    (first,) = due_on(branch, 2, 10)

    report = dispatch(at(2, 3))
    [received] = robot_server.take()
    assert received.vendor == vendor
    assert "洋溢村党总支" in text_of(received) and first.title in text_of(received)
    assert "还有 7 天到期" in text_of(received)
    assert task_links(received) == {first.id}
    assert f"{BASE}/tasks?unit={branch.id}&status=pending" not in text_of(received)  # all shown
    [(_, who, subject)] = robot_sent(report)
    assert who == f"{branch.name} ({NAMES[vendor]})"
    assert subject == f"【工作提醒】{branch.name}：1 项待办即将到期"
    assert len(smtp_server.take()) == 2  # the mails go as before

    [row] = robot_rows()
    assert (row.status, row.key, row.recipient) == (
        OutboxStatus.SENT, f"robot:{branch.id}:2026-02-03", branch.name)
    assert row.unit_id == branch.id and row.user_id is None
    token = url.rsplit("=", 1)[-1].rsplit("/", 1)[-1]
    stored = b"".join((row.message, row.subject.encode(), row.recipient.encode()))
    assert token.encode() not in stored and (secret or "§").encode() not in stored
    assert {(e.task_id, e.kind) for e in db.session.scalars(
        sa.select(ReminderLedgerEntry).where(ReminderLedgerEntry.unit_id == branch.id))} == {
        (first.id, "before:7")}

    # Later the same day, and before 08:00 the next: nothing more.
    for now in (at(2, 3, 12), at(2, 3, 23, 59), at(2, 4, 7, 59)):
        assert robot_sent(dispatch(now)) == []
    assert robot_server.take() == []
    # 24 February: one message with the three reminders due by then.
    dispatch(at(2, 24))
    [received] = robot_server.take()
    assert task_links(received) == {due_on(branch, 2, 10)[0].id, due_on(branch, 2, 25)[0].id,
                                    due_on(branch, 2, 28)[0].id}
    assert "其中 1 项已逾期" in text_of(received)
    assert len(robot_rows(status=OutboxStatus.SENT)) == 2


def test_units_without_a_robot_and_inactive_units_get_none(robot_app, town, robot_server,
                                                          create_unit):
    other = create_unit("新北村党支部", UnitKind.BRANCH)
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    db.session.commit()
    give_robot(other, robot_server, WECOM)
    other.active = False
    db.session.commit()
    dispatch(at(2, 24))
    assert robot_server.take() == [] and robot_rows() == []


def test_a_rate_limit_answer_holds_the_robot_then_it_goes(robot_app, town, robot_server):
    branch = town["branch"]
    give_robot(branch, robot_server, DINGTALK, SECRET)
    robot_server.script(too_fast())
    report = dispatch(at(2, 3))
    assert robot_sent(report) == [] and report.retrying == 1
    [row] = robot_rows()
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert "rate limited" in row.last_error
    # DingTalk throttles a robot for 10 minutes: longer than the first retry delay.
    assert row.next_attempt_at >= at(2, 3) + timedelta(minutes=10)
    assert RETRY_DELAYS[0] < timedelta(minutes=10)
    held = db.session.get(UnitChannel, branch.id).held_until
    assert held >= at(2, 3) + timedelta(minutes=10)

    assert robot_sent(dispatch(at(2, 3, 8, 5))) == []
    assert robot_server.requests == 1
    report = dispatch(at(2, 3, 8, 11))
    assert len(robot_sent(report)) == 1
    [received] = robot_server.take()
    assert received.query["sign"] and received.query["timestamp"]
    assert robot_rows()[0].status == OutboxStatus.SENT and robot_rows()[0].attempts == 2


def test_a_robot_out_of_reach_is_tried_again_with_growing_delays(robot_app, town,
                                                                 robot_server):
    give_robot(town["branch"], robot_server, WECOM)
    robot_server.stop()
    now = at(2, 3)
    for attempt in range(3):
        report = dispatch(now)
        [row] = robot_rows()
        assert report.retrying == 1 and row.attempts == attempt + 1
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at >= now + RETRY_DELAYS[attempt]
        assert dispatch(row.next_attempt_at - timedelta(seconds=30)).retrying == 0
        now = row.next_attempt_at + timedelta(seconds=1)
    robot_server.start()
    assert len(robot_sent(dispatch(now))) == 1 and len(robot_server.take()) == 1


def test_a_bad_signature_fails_at_once_and_is_listed_with_a_resend(robot_app, town,
                                                                   robot_server, login):
    branch = town["branch"]
    give_robot(branch, robot_server, DINGTALK, SECRET, stored_secret="SEC" + "f" * 64)
    report = dispatch(at(2, 3))
    [(oid, recipient, error)] = report.failed
    assert recipient == branch.name and "310000" in error and "sign not match" in error
    [row] = robot_rows()
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert failed_messages() == [row]

    robot_app.config["WTF_CSRF_ENABLED"] = False
    client = login(robot_app.test_client(), town["admin"])
    page = client.get("/reminders/failed").get_data(as_text=True)
    assert "Group robot" in page and branch.name in page and "310000" in page
    assert f"/reminders/failed/{oid}/resend" in page
    assert "SEC" + "f" * 64 not in page and "SEC" + "f" * 4 not in page

    # The coordinator mends the secret and sends it again (the button queues it at once).
    set_channel(branch, DINGTALK, None, SECRET, now=at(2, 3, 9))
    db.session.commit()
    assert client.post(f"/reminders/failed/{oid}/resend").status_code == 302
    [row] = robot_rows()
    assert row.status == OutboxStatus.QUEUED and row.attempts == 0
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == oid)
                       .values(next_attempt_at=at(2, 3, 9)))
    db.session.commit()
    assert len(robot_sent(dispatch(at(2, 3, 9, 5)))) == 1
    [received] = robot_server.take()
    assert task_links(received) == {due_on(branch, 2, 10)[0].id}
    assert failed_messages() == []


def test_a_host_no_longer_allowed_is_never_asked(robot_app, town, robot_server):
    give_robot(town["branch"], robot_server, WECOM, None)
    robot_app.config["WEBHOOK_ALLOWED_HOSTS"] = ""
    report = dispatch(at(2, 3))
    [(oid, _, error)] = report.failed
    assert "not a WeCom, DingTalk or Feishu robot host" in error
    assert robot_server.requests == 0  # a refused host is never asked
    remove_channel(town["branch"])
    db.session.commit()
    with pytest.raises(TrackerError, match="no group robot"):
        resend(oid, at(2, 3, 9))


def test_a_changed_vendor_rewrites_the_waiting_message(robot_app, town, robot_server):
    branch = town["branch"]
    give_robot(branch, robot_server, WECOM)
    robot_server.stop()
    dispatch(at(2, 3))
    [row] = robot_rows()
    assert json.loads(row.message)["msgtype"] == "markdown"
    robot_server.start()
    feishu = robot_server.add(FEISHU, "feishu-s3cret")
    set_channel(branch, FEISHU, feishu, "feishu-s3cret", now=at(2, 3, 8, 1))
    db.session.commit()
    assert json.loads(robot_rows()[0].message)["msg_type"] == "post"
    assert len(robot_sent(dispatch(at(2, 3, 8, 2)))) == 1
    [received] = robot_server.take()
    assert received.vendor == FEISHU and received.message["sign"]


def test_removing_the_robot_drops_what_waits_for_it(robot_app, town, robot_server):
    give_robot(town["branch"], robot_server, WECOM)
    robot_server.stop()
    dispatch(at(2, 3))
    assert len(robot_rows(status=OutboxStatus.QUEUED)) == 1
    assert remove_channel(town["branch"])
    db.session.commit()
    assert robot_rows() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderLedgerEntry)
                             .where(ReminderLedgerEntry.unit_id.is_not(None))) == 0


def shared_robot_town(count, robot_server, create_unit):
    """``count`` units whose reminders all go to one WeCom group."""
    units = [create_unit(f"第{i + 1}村党支部", UnitKind.BRANCH) for i in range(count)]
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    url = robot_server.add(WECOM)
    for unit in units:
        set_channel(unit, WECOM, url, None, now=PLAN_LOADED)
    db.session.commit()
    return units


def test_each_robot_is_paced_twenty_a_minute(robot_app, robot_server, create_unit):
    units = shared_robot_town(25, robot_server, create_unit)
    now = at(2, 3)
    robot_server.clock = lambda: now.timestamp()
    report = dispatch(now)
    assert report.queued == 25 and len(report.sent) == 20
    assert len(robot_server.take()) == 20 and robot_server.requests == 20  # none refused
    waiting = robot_rows(status=OutboxStatus.QUEUED)
    assert len(waiting) == 5 and {r.attempts for r in waiting} == {0}
    first = min(r.sent_at for r in robot_rows(status=OutboxStatus.SENT))
    assert min(r.next_attempt_at for r in waiting) >= first + timedelta(seconds=60)

    # Another pass within the minute sends nothing to this robot: it knows what went.
    assert dispatch(now + timedelta(seconds=30)).sent == []
    later = now + timedelta(seconds=62)
    robot_server.clock = lambda: later.timestamp()
    assert len(dispatch(later).sent) == 5
    assert len(robot_server.take()) == 5 and robot_server.requests == 25
    assert {r.unit_id for r in robot_rows(status=OutboxStatus.SENT)} == {u.id for u in units}


def test_a_later_pass_knows_what_the_robot_got_this_minute(robot_app, robot_server,
                                                           create_unit):
    units = shared_robot_town(21, robot_server, create_unit)
    late = units[-1]
    remove_channel(late)
    db.session.commit()
    now = at(2, 3)
    robot_server.clock = lambda: now.timestamp()
    assert len(dispatch(now).sent) == 20
    # The last unit joins the group ten seconds later: its message waits for the minute.
    set_channel(late, WECOM, robot_server.url(WECOM, robot_server.take()[0].token), None,
                now=now)
    db.session.commit()
    soon = now + timedelta(seconds=10)
    robot_server.clock = lambda: soon.timestamp()
    report = dispatch(soon)
    assert report.queued == 1 and report.sent == [] and robot_server.requests == 20
    [waiting] = robot_rows(status=OutboxStatus.QUEUED)
    first = min(r.sent_at for r in robot_rows(status=OutboxStatus.SENT))
    assert waiting.unit_id == late.id and waiting.next_attempt_at >= first + timedelta(seconds=60)
    later = waiting.next_attempt_at
    robot_server.clock = lambda: later.timestamp()
    assert len(dispatch(later).sent) == 1 and robot_server.requests == 21


def test_a_trickling_robot_never_keeps_a_pass_past_its_lease(robot_app, robot_server,
                                                             create_unit):
    """A robot answering a byte every 50 ms (each read within the 1 s timeout, the answer
    whole after ~8 s): the pass gives up on it at 1 s and ends well within its lease,
    so no later pass takes the message over while it is being sent; nothing twice."""
    units = shared_robot_town(3, robot_server, create_unit)
    robot_app.config.update(REMINDERS_LEASE_SECONDS=4, REMINDERS_ROBOT_TIMEOUT_SECONDS=1)
    robot_server.script(*[trickle(0.05)] * 3)
    now, reports = at(2, 3), []

    def first_pass():
        with robot_app.app_context():
            reports.append(dispatch(now))
            db.session.remove()

    started = time.monotonic()
    thread = threading.Thread(target=first_pass)
    thread.start()
    thread.join(4)  # the lease
    took = time.monotonic() - started
    alive = thread.is_alive()
    robot_server.stop()  # lets a trickle still going end, so the thread does
    thread.join(30)
    assert not alive and took < 3, f"the pass took {took:.1f} s, past its 4 s lease"
    assert robot_server.requests == 1  # the others wait for the robot: not one sent twice
    rows = robot_rows()
    assert len(rows) == len(units) and OutboxStatus.SENDING not in {r.status for r in rows}
    [tried] = [r for r in rows if r.attempts == 1]
    assert "TimeoutError" in tried.last_error and tried.status == OutboxStatus.QUEUED


def test_a_nul_in_a_robots_answer_is_stored_without_it(robot_app, town, robot_server):
    """PostgreSQL refuses NUL in text: an errmsg holding one once crashed every pass and
    the message went out again every lease. Now its error is kept, NUL replaced."""
    give_robot(town["branch"], robot_server, WECOM)
    robot_server.script(answer(200, json.dumps(
        {"errcode": 93000, "errmsg": "invalid\u0000key\u001b"}).encode()))
    report = dispatch(at(2, 3))
    [(_, _, error)] = report.failed
    [row] = robot_rows()
    assert row.status == OutboxStatus.FAILED and row.last_error == error
    assert "invalid\ufffdkey\ufffd" in row.last_error
    robot_server.script(answer(200, json.dumps({"errcode": -1, "errmsg": "busy\u0000"}).encode()))
    resend(row.id, at(2, 3, 9))
    db.session.commit()
    assert dispatch(at(2, 3, 9)).retrying == 1
    assert robot_rows()[0].last_error.endswith("busy\ufffd")
    assert robot_server.requests == 2
