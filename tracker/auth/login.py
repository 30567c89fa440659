"""Flask-Login glue."""

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.core import signals
from tracker.core.timeutil import utcnow
from tracker.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str):
    """The signed-in user for a session, or None if the session has ended: signed out,
    the password changed, or signed in longer ago than REMEMBER_COOKIE_DURATION."""
    try:
        uid, version, signed_in = (int(part) for part in user_id.split(":"))
        signed_in = datetime.fromtimestamp(signed_in, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if not 0 < uid <= 2**31 - 1 or utcnow() - signed_in > current_app.config[
            "REMEMBER_COOKIE_DURATION"]:
        return None
    # The unit comes along, and what the areas above show of the user on every page (the
    # unread count of the inbox): one query however many there are.
    extra = signals.values(signals.user_columns.send(User.id))
    row = db.session.execute(
        sa.select(User, *(expression.label(name) for name, expression in extra))
        .options(joinedload(User.unit)).where(User.id == uid)).first()
    if row is None or row[0].session_version != version:
        return None
    user = row[0]
    for (name, _expression), value in zip(extra, row[1:]):
        setattr(user, name, value)
    return user
