"""Fixtures for reminders: the app sending through the test SMTP server, a town."""

from datetime import datetime, timezone

import pytest

from tests.mailserver import mail_config
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.phases.planfile import read_plan
from tracker.tasks.loading import load_plan
from tracker.units.models import UnitKind

PLAN_LOADED = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def mail_app(app, smtp_server):
    """The app, sending mail through the test SMTP server."""
    app.config.update(mail_config(smtp_server))
    return app


@pytest.fixture
def town(app, create_unit, create_user):
    """One branch with a manager and a viewer, the coordinator's office and the coordinator,
    and the bundled plan loaded for 2026."""
    branch = create_unit("洋溢村党总支", UnitKind.BRANCH)
    office = create_unit("镇党委宣传办", UnitKind.COORDINATOR)
    manager = create_user("manager@shuyuan.example", Role.MANAGER, unit=branch)
    manager.name = "张 三"
    viewer = create_user("viewer@shuyuan.example", Role.VIEWER, unit=branch)
    viewer.name = "李 四"
    viewer.locale = "en"
    admin = create_user("admin@shuyuan.example", Role.ADMIN, unit=office)
    admin.name = "宣传办 协调员"
    load_plan(read_plan("shuyuan-2020"), 2026, PLAN_LOADED)
    db.session.commit()
    return {"branch": branch, "office": office, "manager": manager, "viewer": viewer,
            "admin": admin}


@pytest.fixture
def robot_app(mail_app, robot_server):
    """The app sending mail through the test SMTP server and taking the fake robots'
    host (TRACKER_WEBHOOK_ALLOWED_HOSTS)."""
    mail_app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    return mail_app
