"""``/healthz``: what a monitor needs to know, without signing in."""

import sqlalchemy as sa
from flask import Blueprint, jsonify

from tracker.core.timeutil import utcnow
from tracker.extensions import csrf, db
from tracker.reminders.models import OutboxMessage, OutboxStatus, SchedulerHeartbeat

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    """Database reachability, the reminder scheduler's last heartbeat, the outbox backlog.

    503 when the database cannot be reached; the rest is for the monitor to judge
    (a scheduler may be off by design).
    """
    now = utcnow()
    try:
        db.session.execute(sa.text("SELECT 1"))
        beat = db.session.get(SchedulerHeartbeat, "reminders")
        backlog = dict(db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).where(
                OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING,
                                          OutboxStatus.FAILED]))
            .group_by(OutboxMessage.status)).all())
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        message = str(getattr(exc, "orig", exc)).splitlines()[0]
        return jsonify(status="error", database=f"unreachable: {message}"), 503
    response = jsonify(
        status="ok", database="ok",
        scheduler={"last_heartbeat": beat.beat_at.isoformat() if beat else None,
                   "seconds_ago": round((now - beat.beat_at).total_seconds()) if beat
                   else None},
        outbox={status.value: backlog.get(status, 0) for status in
                (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED)},
    )
    response.headers["Cache-Control"] = "no-store"
    return response
