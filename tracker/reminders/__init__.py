"""Reminder e-mails: rules, preferences, the ledger and outbox, backends, scheduling."""

from urllib.parse import urlsplit

from tracker.core import signals


@signals.task_returned.connect
def _tell_the_unit(task, reviewer, comment, now, **kwargs):
    """Work returned for rework: a notice to the unit's people, queued in the review's
    transaction (sent by the next dispatch pass)."""
    from tracker.reminders.services import queue_returned_notice

    queue_returned_notice(task, reviewer, comment, now)


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
    }.items():
        app.config.setdefault(key, value)

    from tracker.reminders import jobs

    if app.config["SCHEDULER_ENABLED"] and jobs.serving_with_flask_run():
        jobs.start_in_app(app)
