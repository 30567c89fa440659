"""The plan editor's fixtures: the coordinator's client and next year's draft."""

import pytest

from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.planning import services


@pytest.fixture
def admin(app, town, login):
    """The coordinator's client (CSRF off: tests/web checks the tokens)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return login(app.test_client(), town.users.admin)


@pytest.fixture
def draft(town):
    """Next year's draft, rolled over from the town's plan."""
    version = services.rollover(town.year, town.year + 1, None, utcnow())
    db.session.commit()
    return version
