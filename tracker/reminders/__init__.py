"""Reminders: e-mails, the units' group robots (WeCom, DingTalk, Feishu) and each person's
inbox; rules, preferences, the ledger and outbox, backends, scheduling."""

from urllib.parse import urlsplit

from tracker.core import signals


@signals.task_returned.connect
def _tell_the_unit(task, reviewer, comment, now, **kwargs):
    """Work returned for rework: a notice to the unit's people, queued in the review's
    transaction (sent by the next dispatch pass)."""
    from tracker.reminders.services import queue_returned_notice

    queue_returned_notice(task, reviewer, comment, now)


@signals.feedback_issued.connect
def _tell_the_unit_of_its_feedback(unit, year, path, url, summary, tasks, now, **kwargs):
    """A 问题反馈单 issued: the unit's people are told by mail, robot and inbox, queued in
    the transaction that issues it."""
    from tracker.reminders.services import queue_feedback_notice

    queue_feedback_notice(unit, year, path, url, summary, tasks, now)


@signals.user_columns.connect
def _unread_notifications(user_id_column, **kwargs):
    """The signed-in user's unread inbox count, loaded with the user for the header's bell."""
    from tracker.reminders.services import unread_count_column

    return "unread_notifications", unread_count_column(user_id_column)


def init_app(app):
    """Mail and reminder config defaults; the in-app scheduler where config asks for it."""
    host = urlsplit(app.config["BASE_URL"]).hostname or "localhost"
    domain = host if any(c.isalpha() for c in host) else "localhost"
    for key, value in {
        "MAIL_SERVER": None,
        #: None: 465 with MAIL_USE_SSL, 587 with MAIL_USE_TLS (STARTTLS), else 25.
        "MAIL_PORT": None,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_TIMEOUT": 30,
        "MAIL_DEFAULT_SENDER": f"tracker <noreply@{domain}>",
        "REMINDERS_INTERVAL_SECONDS": 300,
        #: A run missed by up to this much (a stalled or sleeping process) still runs.
        "REMINDERS_MISFIRE_GRACE_SECONDS": 4 * 3600,
        #: A mail claimed longer ago than this by a pass that died is taken over.
        "REMINDERS_LEASE_SECONDS": 600,
        "REMINDERS_BATCH_SIZE": 50,
        #: How often a waiting `tracker scheduler` checks whether the other one stopped.
        "REMINDERS_LOCK_POLL_SECONDS": 10,
        #: Sent mails keep their full text this many days (the row itself stays).
        "REMINDERS_KEEP_SENT_DAYS": 90,
        #: Hosts (``host[:port]``, comma-separated) taken as robot addresses beside the
        #: vendors' own, over http too: a 政务微信 deployment, an intranet gateway, tests.
        "WEBHOOK_ALLOWED_HOSTS": None,
        #: Seconds a robot has to answer (connecting, and each read).
        "REMINDERS_ROBOT_TIMEOUT_SECONDS": 5,
        #: A pass waits this long at most for a robot's pace to allow the next message;
        #: a longer wait leaves the message to a later pass.
        "REMINDERS_ROBOT_MAX_WAIT_SECONDS": 5,
    }.items():
        app.config.setdefault(key, value)

    # The built-in transports register themselves (tracker.reminders.transports).
    from tracker.reminders import inbox, jobs, mail_delivery, robot_delivery  # noqa: F401

    if app.config["SCHEDULER_ENABLED"] and jobs.serving_with_flask_run():
        jobs.start_in_app(app)
