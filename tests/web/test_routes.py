"""Every route, for every role and for anonymous, answers as it should.

The table below names each endpoint of the URL map; a new route without an
entry fails ``test_every_route_is_in_the_table``. Ids of another unit's task
must look like ids that do not exist (404).
"""

import io
import re

import pytest
import sqlalchemy as sa

from tests.tasks.test_views import PDF
from tracker.extensions import db
from tracker.phases.models import PlanVersion
from tracker.tasks.models import EvidenceFile, Task

LOGIN, OK, FORBIDDEN, MISSING = "login", "ok", 403, 404
ROLES = ("anonymous", "viewer", "manager", "admin")


def expect(anonymous, viewer, manager, admin):
    return dict(zip(ROLES, (anonymous, viewer, manager, admin)))


SIGNED_IN = expect(LOGIN, OK, OK, OK)
#: The coordinator's pages (one gate, ``tracker.core.web.admin_required``): sign in first;
#: anyone else is told they do not exist.
ADMIN_ONLY = expect(LOGIN, MISSING, MISSING, OK)
EVERYONE = expect(OK, OK, OK, OK)
WORK_OWN = expect(LOGIN, FORBIDDEN, OK, OK)
FOREIGN = expect(LOGIN, MISSING, MISSING, OK)

#: endpoint -> [(method, url, expectations)]; {own}/{foreign} are task ids of the
#: viewer's and manager's unit and of another unit, {own_file}/{foreign_file} files.
ROUTES = {
    "static": [("GET", "/static/style.css", EVERYONE)],
    "auth.login": [("GET", "/login", EVERYONE), ("POST", "/login", EVERYONE)],
    "auth.logout": [("GET", "/logout", EVERYONE),
                    ("POST", "/logout", expect(LOGIN, LOGIN, LOGIN, LOGIN))],
    "auth.language": [("POST", "/language", EVERYONE)],
    "auth.settings": [("GET", "/settings", SIGNED_IN), ("POST", "/settings", SIGNED_IN)],
    "calendar.new_feed": [("POST", "/settings/feed", SIGNED_IN)],
    "calendar.revoke_feed": [("POST", "/settings/feed/revoke", SIGNED_IN)],
    "calendar.feed": [("GET", "/feeds/x.ics", expect(MISSING, MISSING, MISSING, MISSING))],
    "calendar.export": [("GET", "/calendar/export.ics", SIGNED_IN)],
    "auth.users": [("GET", "/admin/users", ADMIN_ONLY)],
    "auth.new_user": [("GET", "/admin/users/new", ADMIN_ONLY),
                      ("POST", "/admin/users/new", ADMIN_ONLY)],
    "auth.edit_user": [("GET", "/admin/users/{user}", ADMIN_ONLY),
                       ("POST", "/admin/users/{user}", ADMIN_ONLY),
                       ("GET", "/admin/users/999999", expect(LOGIN, MISSING, MISSING,
                                                             MISSING))],
    "auth.reset_password": [("POST", "/admin/users/{user}/password", ADMIN_ONLY)],
    "calendar.index": [("GET", "/", SIGNED_IN)],
    "tasks.index": [("GET", "/tasks", SIGNED_IN)],
    "dashboard.progress": [("GET", "/progress", SIGNED_IN),
                           ("GET", "/progress?unit={foreign_unit}", SIGNED_IN)],
    "dashboard.overview": [("GET", "/overview", ADMIN_ONLY)],
    "tasks.show": [("GET", "/tasks/{own}", SIGNED_IN), ("GET", "/tasks/{foreign}", FOREIGN),
                   ("GET", "/tasks/999999", expect(LOGIN, MISSING, MISSING, MISSING))],
    "tasks.work": [("POST", "/tasks/{own}/work", WORK_OWN),
                   ("POST", "/tasks/{foreign}/work", FOREIGN)],
    "tasks.upload": [("POST", "/tasks/{own}/evidence", WORK_OWN),
                     ("POST", "/tasks/{foreign}/evidence", FOREIGN)],
    "tasks.download": [("GET", "/tasks/{own}/evidence/{own_file}", SIGNED_IN),
                       ("GET", "/tasks/{foreign}/evidence/{foreign_file}", FOREIGN),
                       ("GET", "/tasks/{own}/evidence/{foreign_file}",
                        expect(LOGIN, MISSING, MISSING, MISSING))],
    # Only pictures have a preview (tests/tasks/test_evidence.py); these files are PDFs.
    "tasks.preview": [("GET", "/tasks/{own}/evidence/{own_file}/preview",
                       expect(LOGIN, MISSING, MISSING, MISSING)),
                      ("GET", "/tasks/{foreign}/evidence/{foreign_file}/preview",
                       expect(LOGIN, MISSING, MISSING, MISSING))],
    "tasks.delete_evidence": [("POST", "/tasks/{own}/evidence/{own_file}/delete", WORK_OWN),
                              ("POST", "/tasks/{foreign}/evidence/{foreign_file}/delete",
                               FOREIGN)],
    "tasks.review_task": [("POST", "/tasks/{own}/review", ADMIN_ONLY)],
    "tasks.move": [("POST", "/tasks/{own}/move", ADMIN_ONLY)],
    "tasks.new_task": [("GET", "/tasks/new", ADMIN_ONLY), ("POST", "/tasks/new", ADMIN_ONLY)],
    "tasks.accept_many": [("POST", "/tasks/accept", ADMIN_ONLY)],
    "workdays.index": [("GET", "/workdays", ADMIN_ONLY), ("GET", "/workdays?year=2031",
                                                           ADMIN_ONLY)],
    "workdays.change": [("POST", "/workdays", ADMIN_ONLY)],
    "workdays.notice_preview": [("POST", "/workdays/notice", ADMIN_ONLY)],
    "workdays.notice_confirm": [("POST", "/workdays/notice/confirm", ADMIN_ONLY)],
    "planning.index": [("GET", "/plans", ADMIN_ONLY)],
    "planning.new": [("POST", "/plans/new", ADMIN_ONLY)],
    "planning.import_document": [("POST", "/plans/import", ADMIN_ONLY)],
    "planning.confirm_import": [("POST", "/plans/import/confirm", ADMIN_ONLY)],
    "planning.draft": [("GET", "/plans/{version}", ADMIN_ONLY)],
    "planning.save_source": [("POST", "/plans/{version}/source", ADMIN_ONLY)],
    "planning.delete": [("POST", "/plans/{version}/delete", ADMIN_ONLY)],
    "planning.new_version": [("POST", "/plans/{version}/new-version", ADMIN_ONLY)],
    "planning.rollover": [("POST", "/plans/{version}/rollover", ADMIN_ONLY)],
    "planning.preview": [("GET", "/plans/{version}/preview", ADMIN_ONLY)],
    "planning.publish": [("POST", "/plans/{version}/publish", ADMIN_ONLY)],
    "planning.download": [("GET", "/plans/{version}/plan.toml", ADMIN_ONLY)],
    "planning.edit_plan": [("GET", "/plans/{version}/plan", ADMIN_ONLY),
                           ("POST", "/plans/{version}/plan", ADMIN_ONLY)],
    "planning.edit_phases": [("GET", "/plans/{version}/phases", ADMIN_ONLY),
                             ("POST", "/plans/{version}/phases", ADMIN_ONLY)],
    "planning.duties": [("GET", "/plans/{version}/duties", ADMIN_ONLY),
                        ("POST", "/plans/{version}/duties", ADMIN_ONLY)],
    "planning.edit_duty": [("GET", "/plans/{version}/duties/training", ADMIN_ONLY),
                           ("POST", "/plans/{version}/duties/training", ADMIN_ONLY),
                           ("GET", "/plans/{version}/duties/999999",
                            expect(LOGIN, MISSING, MISSING, MISSING))],
    "planning.delete_duty": [("POST", "/plans/{version}/duties/training/delete",
                              ADMIN_ONLY)],
    "planning.schedule_preview": [("GET", "/plans/{version}/schedule?schedule-kind=times"
                                   "&schedule-times=6", ADMIN_ONLY)],
    "planning.edit_rubric": [("GET", "/plans/{version}/rubric", ADMIN_ONLY),
                             ("POST", "/plans/{version}/rubric", ADMIN_ONLY)],
    "planning.edit_row": [("GET", "/plans/{version}/rubric/1-4-1", ADMIN_ONLY),
                          ("POST", "/plans/{version}/rubric/1-4-1", ADMIN_ONLY),
                          ("GET", "/plans/{version}/rubric/999999",
                           expect(LOGIN, MISSING, MISSING, MISSING))],
    "tasks.set_date": [("POST", "/duties/contingency-party-congress/date", ADMIN_ONLY)],
    "assessment.index": [("GET", "/assessment", SIGNED_IN)],
    "assessment.sheet": [("GET", "/assessment/{year}/units/{own_unit}", SIGNED_IN),
                         ("GET", "/assessment/{year}/units/{foreign_unit}", FOREIGN)],
    "assessment.print_sheet": [("GET", "/assessment/{year}/units/{own_unit}/print", SIGNED_IN),
                               ("GET", "/assessment/{year}/units/{foreign_unit}/print",
                                FOREIGN)],
    "assessment.start": [("POST", "/assessment/{year}/units/{own_unit}/start", ADMIN_ONLY),
                         ("POST", "/assessment/{year}/units/{foreign_unit}/start", FOREIGN)],
    "assessment.refresh": [("POST", "/assessment/{year}/units/{own_unit}/refresh",
                            ADMIN_ONLY)],
    "assessment.deduct": [("POST", "/assessment/{year}/units/{own_unit}/deductions",
                           ADMIN_ONLY)],
    "assessment.withdraw": [("POST", "/assessment/{year}/units/{own_unit}/deductions/999999"
                             "/delete", expect(LOGIN, MISSING, MISSING, MISSING))],
    "assessment.waive": [("POST", "/assessment/{year}/units/{own_unit}/waivers", ADMIN_ONLY)],
    "assessment.rectification": [("POST", "/assessment/{year}/units/{own_unit}/deductions/"
                                  "999999/rectify", expect(LOGIN, MISSING, MISSING,
                                                           MISSING))],
    "assessment.self_assess": [("POST", "/assessment/{year}/units/{own_unit}/self", WORK_OWN),
                               ("POST", "/assessment/{year}/units/{foreign_unit}/self",
                                FOREIGN)],
    "assessment.lock_sheet": [("POST", "/assessment/{year}/units/{own_unit}/lock", ADMIN_ONLY)],
    "assessment.download": [("GET", "/assessment/{year}/export.xlsx", SIGNED_IN),
                            ("GET", "/assessment/{year}/export.csv", SIGNED_IN)],
    "assessment.feedback": [("GET", "/assessment/{year}/feedback", ADMIN_ONLY)],
    "yearend.cycle": [("GET", "/assessment/{year}/cycle", ADMIN_ONLY)],
    "yearend.save_inputs": [("POST", "/assessment/{year}/inputs", ADMIN_ONLY)],
    "yearend.import_sheet": [("POST", "/assessment/{year}/inputs/import", ADMIN_ONLY)],
    "yearend.visit": [("POST", "/assessment/{year}/visits", ADMIN_ONLY)],
    "yearend.new_draw": [("POST", "/assessment/{year}/draws", ADMIN_ONLY)],
    "yearend.spot_finding": [("POST", "/assessment/{year}/findings", ADMIN_ONLY)],
    "yearend.rectify": [("POST", "/assessment/{year}/findings/999999/rectify",
                         expect(LOGIN, MISSING, MISSING, MISSING))],
    "yearend.open_links": [("POST", "/assessment/{year}/surveys", ADMIN_ONLY)],
    "yearend.adopt": [("POST", "/assessment/{year}/surveys/999999/adopt",
                       expect(LOGIN, MISSING, MISSING, MISSING))],
    "yearend.close_links": [("POST", "/assessment/{year}/surveys/close", ADMIN_ONLY)],
    # The file of a unit's input, to the coordinator and the unit's people (none here).
    "yearend.input_file": [
        ("GET", "/assessment/{year}/units/{own_unit}/inputs/midyear/file",
         expect(LOGIN, MISSING, MISSING, MISSING)),
        ("GET", "/assessment/{year}/units/{foreign_unit}/inputs/public/file",
         expect(LOGIN, MISSING, MISSING, MISSING))],
    "yearend.close_link": [("POST", "/assessment/{year}/surveys/999999/close",
                            expect(LOGIN, MISSING, MISSING, MISSING)),
                           ("POST", "/assessment/{year}/surveys/999999/reopen",
                            expect(LOGIN, MISSING, MISSING, MISSING))],
    # A unit's people see their 反馈单 once it is issued (none is, here).
    "yearend.feedback_page": [
        ("GET", "/assessment/{year}/units/{own_unit}/feedback", FOREIGN),
        ("GET", "/assessment/{year}/units/{foreign_unit}/feedback", FOREIGN)],
    "yearend.feedback_print": [
        ("GET", "/assessment/{year}/units/{own_unit}/feedback/print", FOREIGN),
        ("GET", "/assessment/{year}/units/{foreign_unit}/feedback/print", FOREIGN)],
    "yearend.feedback_export": [
        ("GET", "/assessment/{year}/units/{own_unit}/feedback.pdf", FOREIGN),
        ("GET", "/assessment/{year}/units/{foreign_unit}/feedback.pdf", FOREIGN)],
    "yearend.feedback_issue": [("POST", "/assessment/{year}/units/{own_unit}/feedback/issue",
                                ADMIN_ONLY)],
    "yearend.feedback_acknowledge": [
        ("POST", "/assessment/{year}/units/{own_unit}/feedback/acknowledge",
         expect(LOGIN, MISSING, MISSING, FORBIDDEN))],
    # The anonymous questionnaire: a token that names no questionnaire is 404 to all.
    "survey.answer": [("GET", "/survey/x", expect(MISSING, MISSING, MISSING, MISSING)),
                      ("POST", "/survey/x", expect(MISSING, MISSING, MISSING, MISSING))],
    "reminders.unsubscribe_link": [
        ("GET", "/reminders/unsubscribe/x", expect(MISSING, MISSING, MISSING, MISSING)),
        ("POST", "/reminders/unsubscribe/x", expect(MISSING, MISSING, MISSING, MISSING))],
    "reminders.failed": [("GET", "/reminders/failed", ADMIN_ONLY)],
    "reminders.resend_failed": [("POST", "/reminders/failed/999999/resend", ADMIN_ONLY)],
    "reminders.settings": [("POST", "/reminders/settings", SIGNED_IN)],
    "reminders.robot": [("GET", "/reminders/units/{own_unit}/robot", WORK_OWN),
                        ("POST", "/reminders/units/{own_unit}/robot", WORK_OWN),
                        ("GET", "/reminders/units/{foreign_unit}/robot", FOREIGN),
                        ("POST", "/reminders/units/{foreign_unit}/robot", FOREIGN),
                        ("GET", "/reminders/units/999999/robot",
                         expect(LOGIN, MISSING, MISSING, MISSING))],
    "reminders.test_robot": [("POST", "/reminders/units/{own_unit}/robot/test", WORK_OWN),
                             ("POST", "/reminders/units/{foreign_unit}/robot/test", FOREIGN)],
    "reminders.remove_robot": [("POST", "/reminders/units/{own_unit}/robot/delete", WORK_OWN),
                               ("POST", "/reminders/units/{foreign_unit}/robot/delete",
                                FOREIGN)],
    "inbox.index": [("GET", "/inbox", SIGNED_IN)],
    "inbox.read": [("POST", "/inbox/999999/read", expect(LOGIN, MISSING, MISSING, MISSING))],
    "inbox.read_all": [("POST", "/inbox/read", SIGNED_IN)],
    "health.healthz": [("GET", "/healthz", EVERYONE)],
    "pwa.manifest": [("GET", "/manifest.webmanifest", EVERYONE)],
    "pwa.service_worker": [("GET", "/sw.js", EVERYONE)],
    "pwa.offline": [("GET", "/offline", EVERYONE)],
    "binder.index": [("GET", "/binder", SIGNED_IN)],
    "binder.export_unit": [("POST", "/binder/{year}/units/{own_unit}.pdf", SIGNED_IN),
                           ("POST", "/binder/{year}/units/{foreign_unit}.zip", FOREIGN)],
    "binder.export_town": [("POST", "/binder/{year}/town.zip", ADMIN_ONLY)],
    "binder.job": [("GET", "/binder/jobs/" + "0" * 32, expect(LOGIN, MISSING, MISSING,
                                                              MISSING))],
    "binder.download": [("GET", "/binder/jobs/" + "0" * 32 + "/file",
                         expect(LOGIN, MISSING, MISSING, MISSING))],
    "binder.figures": [("GET", "/stats", SIGNED_IN),
                       ("GET", "/stats?unit={foreign_unit}", FOREIGN)],
    "units.units": [("GET", "/admin/units", ADMIN_ONLY), ("POST", "/admin/units", ADMIN_ONLY)],
    "units.row_rule": [("POST", "/admin/units/{foreign_unit}/rows", ADMIN_ONLY)],
    "units.clear_rule": [("POST", "/admin/units/{foreign_unit}/rows/999999/delete",
                          expect(LOGIN, MISSING, MISSING, MISSING))],
    "units.edit": [("GET", "/admin/units/{foreign_unit}", ADMIN_ONLY),
                   ("POST", "/admin/units/{foreign_unit}", ADMIN_ONLY)],
}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) == set(), "routes without expectations"
    assert set(ROUTES) - endpoints == set(), "expectations for routes that are gone"
    for rule in app.url_map.iter_rules():
        methods = rule.methods - {"HEAD", "OPTIONS"}
        tested = {m for m, _, _ in ROUTES[rule.endpoint]}
        assert methods <= tested, (rule.endpoint, methods - tested)


def _evidence(task, name):
    evidence = EvidenceFile(task=task, original_name=name, stored_name=f"x/{name}",
                            content_type="application/pdf", size=len(PDF), sha256="0" * 64)
    db.session.add(evidence)
    db.session.commit()
    return evidence


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_answers_each_role(app, town, login, endpoint, instance_path):
    app.config["WTF_CSRF_ENABLED"] = False
    own = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id))
    version = db.session.scalar(sa.select(PlanVersion.id))  # the town's published plan
    foreign = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.b.id))
    for method, template, expectations in ROUTES[endpoint]:
        for role in ROLES:
            # Fresh evidence each time: a permitted delete removes it.
            own_file, foreign_file = _evidence(own, "own.pdf"), _evidence(foreign, "far.pdf")
            for f in (own_file, foreign_file):
                path = instance_path / "evidence" / f.stored_name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(PDF)
            own_file_id, foreign_file_id = own_file.id, foreign_file.id
            url = template.format(own=own.id, foreign=foreign.id, own_file=own_file.id,
                                  foreign_file=foreign_file.id, user=town.users.other.id,
                                  foreign_unit=town.units.b.id, own_unit=town.units.a.id,
                                  year=town.year, version=version)
            client = app.test_client()
            if role != "anonymous":
                login(client, getattr(town.users, role))
            data = {"file": (io.BytesIO(PDF), "a.pdf")} if "evidence" in url else {}
            response = client.open(url, method=method, data=data)
            response.close()
            _check(response, expectations[role], f"{method} {url} as {role}")
            db.session.execute(sa.delete(EvidenceFile).where(
                EvidenceFile.id.in_([own_file_id, foreign_file_id])))
            db.session.commit()
            db.session.expire_all()


def _check(response, expected, what):
    status, location = response.status_code, response.headers.get("Location", "")
    if expected == LOGIN:
        assert status == 302 and location.startswith("/login"), (what, status, location)
    elif expected == OK:
        assert status < 500 and status not in (401, 403, 404), (what, status)
        assert not location.startswith("/login"), (what, location)
    else:
        assert status == expected, (what, status)


#: One-click unsubscribe (RFC 8058) is POSTed by mail clients without a session: its
#: signed token is the credential, so it is exempt, and that alone.
CSRF_EXEMPT = {"reminders.unsubscribe_link"}


def test_every_post_needs_the_csrf_token(app, town, login):
    """With CSRF on (as in production) a POST without the token is refused with 400."""
    own = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id))
    client = login(app.test_client(), town.users.admin)
    for endpoint, checks in ROUTES.items():
        if endpoint in CSRF_EXEMPT:
            continue
        for method, template, _ in checks:
            if method != "POST":
                continue
            url = template.format(own=own.id, foreign=own.id, own_file=1, foreign_file=1,
                                  user=town.users.other.id, foreign_unit=town.units.b.id,
                                  own_unit=town.units.a.id, year=town.year,
                                  version=db.session.scalar(sa.select(PlanVersion.id)))
            response = client.post(url, data={})
            assert response.status_code == 400, (endpoint, url, response.status_code)


#: Numbers past what the id columns hold (INTEGER: 2^31 - 1 on PostgreSQL; SQLite
#: fails past 2^63 - 1), and one that fits but names nothing.
BIG_IDS = (2**63, 2**64 + 5, 10**30, 2**63 - 1, 2**31, 2**31 - 1)


@pytest.mark.parametrize("big", BIG_IDS)
def test_ids_too_large_for_the_database_are_404(app, town, login, big):
    """Every route with a numeric id in its path, as the coordinator, with an id past
    what the database holds: 404, never 500 (one it holds that names nothing: no 500
    either); and the same ids in the query string and
    the forms that take one: no 500."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = login(app.test_client(), town.users.admin)
    version = db.session.scalar(sa.select(PlanVersion.id))
    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))
    ids = {"year": town.year, "version_id": version, "task_id": task,
           "unit_id": town.units.a.id}
    tried = 0
    for rule in app.url_map.iter_rules():
        numeric = [name for name, converter in rule._converters.items()
                   if converter.regex == r"\d+" and name != "year"]
        for name in numeric:
            url = rule.rule
            for arg, converter in rule._converters.items():
                value = big if arg == name else ids.get(arg, "xlsx" if arg == "fmt" else 1)
                url = re.sub(rf"<[^>]*:{arg}>|<{arg}>", str(value), url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={})
                if big > 2**31 - 1:
                    assert response.status_code == 404, (rule.endpoint, name, url, method)
                else:  # a row id that names nothing: whatever the route says of that
                    assert response.status_code < 500, (rule.endpoint, name, url, method)
                tried += 1
    assert tried >= 40
    year = town.year
    for url in (f"/assessment/{year}/export.csv?unit={big}", f"/progress?unit={big}",
                f"/assessment?year={big}", f"/tasks?unit={big}"):
        response = client.get(url)
        assert response.status_code < 500, url
    unit = town.units.a.id
    for url, data in ((f"/assessment/{year}/units/{unit}/deductions",
                       {"node_id": big, "points": "1", "reason": "x"}),
                      (f"/assessment/{year}/units/{unit}/self", {"node_id": big, "score": "1"}),
                      ("/admin/users/new", {"email": "big@example.org", "role": "manager",
                                            "unit_id": big}),
                      ("/tasks/new", {"title": "x", "due_date": f"{year}-06-01",
                                      "units": [big]})):
        response = client.post(url, data=data)
        assert response.status_code < 500, (url, response.status_code)
