"""Flask-Login glue."""

from tracker.auth.models import User
from tracker.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str):
    """The signed-in user for a session, or None."""
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None
