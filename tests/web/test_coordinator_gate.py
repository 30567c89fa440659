"""The coordinator's pages have one gate: every coordinator-only route answers a unit's
manager or viewer as a page that does not exist (404, the same page as an unknown URL)
and asks anyone signed out to sign in first.

``COORDINATOR_ONLY`` declares which endpoints are the coordinator's; an endpoint of the URL
map that is not classified here fails ``test_every_route_is_classified``.
"""

import re

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.models import PlanVersion
from tests.web.test_routes import ROUTES

#: The endpoints only the coordinator may use.
COORDINATOR_ONLY = frozenset({
    "auth.users", "auth.new_user", "auth.edit_user", "auth.reset_password",
    "dashboard.overview",
    "tasks.review_task", "tasks.move", "tasks.new_task", "tasks.accept_many", "tasks.set_date",
    "workdays.index", "workdays.change",
    "units.units", "units.edit", "units.row_rule", "units.clear_rule",
    "workdays.notice_preview", "workdays.notice_confirm", "planning.confirm_import",
    "binder.export_town",
    "reminders.failed", "reminders.resend_failed",
    "assessment.start", "assessment.refresh", "assessment.deduct", "assessment.withdraw",
    "assessment.rectification", "assessment.lock_sheet", "assessment.feedback",
    "assessment.waive",
    "yearend.cycle", "yearend.save_inputs", "yearend.import_sheet", "yearend.visit",
    "yearend.new_draw", "yearend.spot_finding", "yearend.rectify", "yearend.open_links",
    "yearend.adopt", "yearend.close_links", "yearend.close_link", "yearend.feedback_issue",
    "planning.index", "planning.new", "planning.import_document", "planning.draft",
    "planning.save_source", "planning.delete", "planning.new_version", "planning.rollover",
    "planning.preview", "planning.publish", "planning.download", "planning.edit_plan",
    "planning.edit_phases", "planning.duties", "planning.edit_duty", "planning.delete_duty",
    "planning.schedule_preview", "planning.edit_rubric", "planning.edit_row",
})
#: The endpoints others may use too (each decides what they see: tests/web/test_routes.py).
SHARED = frozenset({
    "static", "auth.login", "auth.logout", "auth.language", "auth.settings",
    "calendar.index", "calendar.new_feed", "calendar.revoke_feed", "calendar.feed",
    "calendar.export", "tasks.index", "tasks.show", "tasks.work", "tasks.upload",
    "tasks.download", "tasks.preview", "tasks.delete_evidence", "dashboard.progress",
    "assessment.index", "assessment.sheet", "assessment.print_sheet",
    "assessment.self_assess", "assessment.download", "reminders.unsubscribe_link",
    "reminders.settings", "reminders.robot", "reminders.test_robot", "reminders.remove_robot",
    "inbox.index", "inbox.read", "inbox.read_all", "health.healthz", "pwa.manifest",
    "pwa.service_worker", "pwa.offline", "binder.index", "binder.export_unit", "binder.job",
    "binder.download", "binder.figures",
    "yearend.feedback_page", "yearend.feedback_print", "yearend.feedback_export",
    "yearend.feedback_acknowledge", "yearend.input_file", "survey.answer",
})


def test_every_route_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert COORDINATOR_ONLY.isdisjoint(SHARED)
    assert endpoints - COORDINATOR_ONLY - SHARED == set(), "routes not classified"
    assert (COORDINATOR_ONLY | SHARED) - endpoints == set(), "routes that are gone"
    # Each coordinator-only view is behind the one gate, and no other view is.
    gated = {endpoint for endpoint, view in app.view_functions.items()
             if getattr(view, "coordinator_only", False)}
    assert gated == COORDINATOR_ONLY


def _page(response) -> bytes:
    """The page without the address it was asked at (the language switch's ``next``) and
    the CSRF tokens (signed with the second they were made in)."""
    return re.sub(rb'name="(next|csrf_token)" value="[^"]*"', b"", response.get_data())


def _urls(app, town, endpoint):
    """Every method and URL of ``endpoint`` (from the route table, ids of the town)."""
    version = db.session.scalar(sa.select(PlanVersion.id))
    for rule in app.url_map.iter_rules(endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for tested_method, template, _ in ROUTES[endpoint]:
                if tested_method == method:
                    yield method, template.format(
                        own=1, foreign=1, own_file=1, foreign_file=1, user=town.users.other.id,
                        foreign_unit=town.units.b.id, own_unit=town.units.a.id,
                        year=town.year, version=version)
                    break


@pytest.mark.parametrize("endpoint", sorted(COORDINATOR_ONLY))
def test_coordinator_only_routes_answer_others_as_missing(app, town, login, endpoint):
    app.config["WTF_CSRF_ENABLED"] = False
    urls = list(_urls(app, town, endpoint))
    assert urls
    for role in ("manager", "viewer", "other"):
        client = login(app.test_client(), getattr(town.users, role))
        unknown = {}  # an unknown URL's page, as this user sees it
        for method, url in urls:
            if method not in unknown:
                unknown[method] = _page(client.open("/no-such-page", method=method))
            response = client.open(url, method=method, data={})
            assert response.status_code == 404, (role, method, url, response.status_code)
            assert _page(response) == unknown[method], (role, method, url)
    for method, url in urls:
        response = app.test_client().open(url, method=method, data={})
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)
