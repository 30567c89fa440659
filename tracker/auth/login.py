"""Flask-Login glue."""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.core import signals
from tracker.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str):
    """The signed-in user for a session, or None if the session is stale."""
    uid, _, version = user_id.partition(":")
    try:
        uid = int(uid)
    except ValueError:
        return None
    # The unit comes along, and what the areas above show of the user on every page (the
    # unread count of the inbox): one query however many there are.
    extra = signals.values(signals.user_columns.send(User.id))
    row = db.session.execute(
        sa.select(User, *(expression.label(name) for name, expression in extra))
        .options(joinedload(User.unit)).where(User.id == uid)).first()
    if row is None or str(row[0].session_version) != version:
        return None
    user = row[0]
    for (name, _expression), value in zip(extra, row[1:]):
        setattr(user, name, value)
    return user
