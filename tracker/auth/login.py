"""Flask-Login glue."""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str):
    """The signed-in user for a session, or None if the session is stale."""
    uid, _, version = user_id.partition(":")
    try:
        uid = int(uid)
    except ValueError:
        return None
    # The unit comes along: every page shows it in the header.
    user = db.session.scalar(sa.select(User).options(joinedload(User.unit)).where(User.id == uid))
    if user is None or str(user.session_version) != version:
        return None
    return user
