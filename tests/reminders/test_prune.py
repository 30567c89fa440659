"""Pruning the outbox: the text of mails sent long ago goes, the record of them stays."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import OutboxMessage, OutboxStatus
from tracker.reminders.services import prune_sent

NOW = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)


def mail(key, status, sent_days_ago=None, created_days_ago=200):
    message = OutboxMessage(
        key=key, recipient="li@example.org", subject=key, message_id=f"<{key}@x>",
        message=b"Subject: x\r\n\r\nbody\r\n", status=status, attempts=1,
        next_attempt_at=NOW, created_at=NOW - timedelta(days=created_days_ago),
        sent_at=None if sent_days_ago is None else NOW - timedelta(days=sent_days_ago))
    db.session.add(message)
    return message


def texts() -> dict[str, bytes]:
    db.session.expire_all()
    return dict(db.session.execute(sa.select(OutboxMessage.key, OutboxMessage.message)).all())


def test_only_the_text_of_mails_sent_before_the_cutoff_goes(app):
    mail("old", OutboxStatus.SENT, sent_days_ago=91)
    mail("recent", OutboxStatus.SENT, sent_days_ago=89)
    mail("failed", OutboxStatus.FAILED)  # may be resent from /reminders/failed
    mail("queued", OutboxStatus.QUEUED)
    mail("sending", OutboxStatus.SENDING)
    db.session.commit()

    assert prune_sent(NOW, 90) == 1
    db.session.commit()
    after = texts()
    assert after["old"] == b""
    assert all(after[k] for k in ("recent", "failed", "queued", "sending"))
    old = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.key == "old"))
    assert (old.recipient, old.subject, old.message_id, old.status) == (
        "li@example.org", "old", "<old@x>", OutboxStatus.SENT)
    assert prune_sent(NOW, 90) == 0  # again: nothing left to prune


@pytest.mark.parametrize("days", [0, -1, 1.5, True, "90"])
def test_a_bad_number_of_days_is_refused(app, days):
    with pytest.raises(TrackerError):
        prune_sent(NOW, days)


def test_a_pruned_reminder_is_not_sent_again(mail_app, town, smtp_server):
    """The ledger keeps its rows: a pass after pruning sends nothing twice."""
    at = datetime(2026, 2, 3, 0, 0, tzinfo=timezone.utc)
    assert len(dispatch(at).sent) == 2
    smtp_server.take()
    assert prune_sent(at + timedelta(days=100), 90) == 2
    db.session.commit()
    assert dispatch(at + timedelta(hours=1)).sent == []
    assert smtp_server.take() == []


def test_the_prune_command(app, runner):
    mail("old", OutboxStatus.SENT, sent_days_ago=31)
    db.session.commit()
    result = runner.invoke(args=["reminders", "prune", "--keep-days", "30",
                                 "--now", "2026-11-01T09:00:00"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 sent mails older than 30 days pruned.\n"
    assert texts()["old"] == b""
    result = runner.invoke(args=["reminders", "prune", "--keep-days", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
