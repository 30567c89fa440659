"""The dispatcher killed with SIGKILL in the middle of a pass, then run again."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from tests.mailserver import MailServer, mail_config
from tracker.extensions import db
from tracker.reminders.models import OutboxMessage, OutboxStatus
from tracker.reminders.services import set_preferences


class SlowServer(MailServer):
    """Takes a while over each mail, so that a pass can be killed halfway."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


def dispatch_process(database_url, server, instance, now):
    env = {**os.environ, "TRACKER_SQLALCHEMY_DATABASE_URI": database_url,
           "TRACKER_INSTANCE_PATH": str(instance), "TRACKER_SECRET_KEY": "test-secret"}
    env.update({f"TRACKER_{k}": str(v) for k, v in mail_config(server).items()})
    tracker = str(Path(sys.executable).with_name("tracker"))
    return subprocess.Popen([tracker, "reminders", "dispatch", "--now", now],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_mid_pass_loses_nothing_and_resends_at_most_one(town, database_url,
                                                                   instance_path):
    for user in ("manager", "viewer", "admin"):
        set_preferences(town[user].id, mode="each")  # many mails: a pass takes seconds
    db.session.commit()
    server = SlowServer()
    server.start()
    try:
        first = dispatch_process(database_url, server, instance_path, "2026-06-29T09:00")
        deadline = time.monotonic() + 60
        while len(server.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.communicate()  # reaps it and closes its pipes
        assert first.returncode == -signal.SIGKILL
        killed_after = len(server.received)

        # Restarted after the lease (10 minutes) of the dead pass's claim: the new pass
        # takes the claim over and sends the rest.
        second = dispatch_process(database_url, server, instance_path, "2026-06-29T09:20")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()
    finally:
        server.stop()

    db.session.expire_all()
    outbox = db.session.scalars(sa.select(OutboxMessage)).all()
    assert len(outbox) > killed_after >= 2
    ids = Counter(m.message["Message-ID"] for m in server.received)
    expected = {f"<{m.message_id}>" if not m.message_id.startswith("<") else m.message_id
                for m in outbox}
    statuses = Counter(m.status.value for m in outbox)
    assert set(ids) == expected, (statuses, out.decode()[-600:])
    assert sum(n - 1 for n in ids.values()) <= 1, "at most one mail is sent twice"
    assert all(m.status == OutboxStatus.SENT for m in outbox)
