"""The transport registry: a transport written and registered here, outside the reminders
package, takes part in the normal dispatch pass.

``SmsTransport`` is a whole transport as a provider's module would be: it reaches the
people it has a number for, makes one text a person a day of their reminders, posts it
to an SMS gateway's HTTP API and sorts the answer. The gateway is a real HTTP server on
127.0.0.1 that takes, refuses or throttles what it is sent.
"""

import json
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.mailserver import free_port
from tracker.auth.models import User
from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import (Notification, OutboxMessage, OutboxStatus,
                                      ReminderLedgerEntry, ReminderMode)
from tracker.reminders.services import failed_messages, resend, set_preferences
from tracker.reminders.transports import (Audience, Message, Outcome, Status, Transport,
                                          register, transports, unregister)
from tracker.tasks.models import Task

TZ = ZoneInfo("Asia/Shanghai")


def at(month, day, hour=8):
    """An instant of 2026 in plan time."""
    return datetime(2026, month, day, hour, tzinfo=TZ)


class SmsTransport(Transport):
    """Reminders by text message, through an SMS gateway's HTTP API."""

    name = "sms"
    audience = Audience.PERSON
    pace = ((10, timedelta(seconds=1)),)
    #: The numbers it knows, by e-mail address (a provider keeps its own address book).
    numbers: dict[str, str] = {}

    def reach(self, session, ids):
        emails = dict(session.execute(sa.select(User.id, User.email).where(User.id.in_(ids))).all())
        return {uid: self.numbers[email] for uid, email in emails.items() if email in self.numbers}

    def messages(self, due, today, now, config):
        messages = []
        for entry in due:
            message = Message(f"sms:{entry.to.id}:{entry.day.isoformat()}", entry.address, "",
                              b"", entry.reminders, user_id=entry.to.id)
            message.subject, message.data = self.render(message, entry.reminders, today, now,
                                                        config)
            messages.append(message)
        return messages

    def render(self, message, reminders, today, now, config):
        text = "；".join(f"{t.title}（{t.due.isoformat()} 到期）" for t, _ in reminders)
        subject = f"【工作提醒】{len(reminders)} 项待办"
        return subject, json.dumps({"to": message.recipient, "text": f"{subject}：{text}"},
                                   ensure_ascii=False).encode()

    def send(self, message, config):
        request = Request(config["SMS_GATEWAY"], data=message.message, method="POST",
                          headers={"Content-Type": "application/json"})
        try:
            with urlopen(request, timeout=5) as answer:
                body = json.loads(answer.read())
        except HTTPError as exc:
            status = Status.RETRY if exc.code == 429 or exc.code >= 500 else Status.FAILED
            return Outcome(status, f"SMS gateway: HTTP {exc.code}")
        except (URLError, OSError) as exc:
            return Outcome(Status.RETRY, f"SMS gateway: {exc}")
        return Outcome(Status.SENT) if body.get("code") == "OK" else Outcome(
            Status.FAILED, f"SMS gateway: {body.get('code')} {body.get('message', '')}")


class Gateway(ThreadingHTTPServer):
    """An SMS gateway's API: takes {"to", "text"}, answers {"code": "OK"}, or what a test
    scripts next ("busy": 503, "refuse": an unknown number)."""

    def __init__(self):
        super().__init__(("127.0.0.1", free_port()), GatewayHandler)
        self.texts, self.script = [], []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms"


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802  (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        action = self.server.script.pop(0) if self.server.script else "ok"
        if action == "busy":
            self.send_response(503)
            self.end_headers()
            return
        if action == "ok":
            self.server.texts.append(body)
        answer = {"code": "OK"} if action == "ok" else {"code": "E_NUMBER",
                                                         "message": "no such number"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sms(mail_app, town, gateway):
    """The SMS transport registered, with the manager's number; the app knows the gateway."""
    mail_app.config["SMS_GATEWAY"] = gateway.url
    SmsTransport.numbers = {town["manager"].email: "+8613800000001"}
    register(SmsTransport)
    yield gateway
    unregister("sms")


def sms_outbox():
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                              .order_by(OutboxMessage.id)).all()


def test_a_registered_transport_gets_its_reminders_from_the_normal_pass(sms, town,
                                                                        smtp_server):
    (task,) = db.session.scalars(sa.select(Task).where(
        Task.unit_id == town["branch"].id, Task.due_date == date(2026, 2, 10))).all()
    assert [t.name for t in transports(Audience.PERSON)] == ["mail", "inbox", "sms"]

    report = dispatch(at(2, 3))

    # The manager (the one number it knows) gets one text with the task; nobody else.
    assert sms.texts == [{"to": "+8613800000001",
                          "text": f"【工作提醒】1 项待办：{task.title}（2026-02-10 到期）"}]
    (text,) = sms_outbox()
    assert text.status == OutboxStatus.SENT and text.user_id == town["manager"].id
    assert (text.id, "+8613800000001", "【工作提醒】1 项待办") in report.sent
    # The mails and the inbox go on as before, and the ledger records the reminder once
    # per person (with the mail that carries it).
    assert sorted(m.recipients[0] for m in smtp_server.take()) == [
        "manager@shuyuan.example", "viewer@shuyuan.example"]
    assert report.queued == 3 and len(report.sent) == 3
    ledger = db.session.scalars(sa.select(ReminderLedgerEntry).where(
        ReminderLedgerEntry.user_id == town["manager"].id)).all()
    assert [(e.task_id, e.outbox.channel) for e in ledger] == [(task.id, "mail")]
    assert db.session.scalars(sa.select(Notification.task_id).where(
        Notification.user_id == town["manager"].id)).all() == [task.id]

    # Once: the next pass finds nothing new for it.
    assert dispatch(at(2, 3, 9)).queued == 0 and len(sms.texts) == 1


def test_a_person_without_mails_still_gets_the_text(sms, town, smtp_server):
    set_preferences(town["manager"].id, mode=ReminderMode.NONE)
    db.session.commit()
    report = dispatch(at(2, 3))
    assert len(sms.texts) == 1
    assert [m.recipients[0] for m in smtp_server.take()] == ["viewer@shuyuan.example"]
    # The reminder is recorded with the text that carries it.
    (entry,) = db.session.scalars(sa.select(ReminderLedgerEntry).where(
        ReminderLedgerEntry.user_id == town["manager"].id)).all()
    assert entry.outbox.channel == "sms" and report.queued == 2


def test_its_failures_are_retried_or_listed_for_the_coordinator(sms, town, smtp_server):
    sms.script = ["busy"]
    report = dispatch(at(2, 3))
    (text,) = sms_outbox()
    assert text.status == OutboxStatus.QUEUED and text.attempts == 1
    assert text.last_error == "SMS gateway: HTTP 503" and report.retrying == 1

    sms.script = ["refuse"]
    report = dispatch(at(2, 3, 9))  # the first retry is a minute later
    (text,) = sms_outbox()
    assert text.status == OutboxStatus.FAILED
    assert report.failed == [(text.id, "+8613800000001", "SMS gateway: E_NUMBER no such number")]
    assert text in failed_messages()

    # The coordinator sends it again; the next pass delivers it as it was.
    resend(text.id, at(2, 3, 10))
    db.session.commit()
    dispatch(at(2, 3, 10))
    assert sms_outbox()[0].status == OutboxStatus.SENT and len(sms.texts) == 1


def test_without_the_registration_no_text_goes(mail_app, town, gateway, smtp_server):
    mail_app.config["SMS_GATEWAY"] = gateway.url
    assert "sms" not in [t.name for t in transports()]
    dispatch(at(2, 3))
    assert gateway.texts == [] and sms_outbox() == []
