"""Security and fault checks across the app: headers, a locked database, fuzzed input."""

import sqlite3
import threading
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from tracker.extensions import db
from tracker.phases.planfile import PlanError, parse_plan
from tracker.tasks.models import Task

FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@pytest.fixture
def admin_client(app, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    return login(app.test_client(), town.users.admin)


def test_security_headers_on_every_page(admin_client, town):
    task = db.session.scalar(sa.select(Task.id))
    for url in ("/", "/login", "/tasks", f"/tasks/{task}", "/overview", "/settings",
                "/assessment", "/healthz", "/nowhere", "/static/style.css"):
        response = admin_client.get(url)
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], url
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"], url
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), url
        response.close()


def _hold_write_lock(path, seconds, ready):
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.rollback()
    conn.close()


@pytest.mark.parametrize("hold, expected", [(1, 302), (7, 503)])
def test_a_locked_database(backend, database_url, admin_client, town, hold, expected):
    """Another writer holds SQLite's write lock: a request waits (busy timeout, 5 s) and
    succeeds, or fails cleanly with 503 and nothing written once the wait is over."""
    if backend != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    task = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id))
    db.session.commit()
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock,
                              args=(database_url.removeprefix("sqlite:///"), hold, ready))
    holder.start()
    ready.wait()
    response = admin_client.post(f"/tasks/{task.id}/work", data={"note": "锁", "action": "save"})
    holder.join()
    assert response.status_code == expected
    assert "Traceback" not in response.text
    db.session.expire_all()
    assert (db.session.get(Task, task.id).note == "锁") == (expected == 302)


@FUZZ
@given(note=TEXT, statement=TEXT, action=st.sampled_from(["save", "submit", "x"]))
def test_fuzzed_task_form(admin_client, town, note, statement, action):
    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))
    response = admin_client.post(f"/tasks/{task}/work",
                                 data={"note": note, "statement": statement, "action": action})
    assert response.status_code in (302, 400)


@FUZZ
@given(title=TEXT, description=TEXT, due=st.one_of(TEXT, st.dates().map(str)))
def test_fuzzed_new_task_form(admin_client, town, title, description, due):
    response = admin_client.post("/tasks/new", data={
        "title": title, "description": description, "due_date": due,
        "units": [town.units.a.id]})
    assert response.status_code in (302, 400)


@FUZZ
@given(email=TEXT, password=TEXT)
def test_fuzzed_login(app, town, email, password):
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login", data={"email": email, "password": password})
    assert response.status_code in (200, 302, 400, 429)


@FUZZ
@given(name=TEXT, kind=st.one_of(TEXT, st.sampled_from(["branch", "office"])))
def test_fuzzed_unit_form_and_cli(admin_client, runner, town, name, kind):
    assert admin_client.post("/admin/units", data={"name": name, "kind": kind}
                             ).status_code in (302, 400)
    result = runner.invoke(args=["unit", "add", name or "x", "--kind", kind])
    assert result.exit_code in (0, 2) and "Traceback" not in result.output


@FUZZ
@given(points=TEXT, reason=TEXT)
def test_fuzzed_deduction(admin_client, town, points, reason):
    from tracker.phases.models import RubricNode

    node = db.session.scalar(sa.select(RubricNode.id).where(RubricNode.code == "1-4-1"))
    response = admin_client.post(f"/assessment/{town.year}/units/{town.units.a.id}/deductions",
                                 data={"node_id": node, "points": points, "reason": reason})
    assert response.status_code in (302, 400)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.binary(max_size=2000) | TEXT.map(str.encode))
def test_fuzzed_plan_files_are_refused_with_a_message(data):
    try:
        parse_plan(data, "fuzz.toml")
    except PlanError as exc:
        assert str(exc).startswith("fuzz.toml: ")


#: Every field name the app's forms read.
FIELDS = ("note", "statement", "action", "title", "description", "due_date", "units", "name",
          "kind", "active", "email", "role", "unit_id", "verdict", "comment", "scope",
          "current", "new", "confirm", "mode", "hour", "lang", "next", "points", "reason",
          "score", "node_id", "password", "remember", "held_on", "attendance", "flags",
          "url", "secret", "no_secret", "vendor", "date", "state", "task", "duty",
          # the plan editor's
          "year", "template", "source", "effective_from", "replace", "code", "title_en",
          "rubric", "applies_to", "phase", "before", "overdue_every", "by_occurrence",
          "schedule-kind", "schedule-dates", "schedule-every", "schedule-start",
          "schedule-end", "schedule-monthly_day", "schedule-quarter_month",
          "schedule-quarter_day", "schedule-times", "schedule-rrule", "schedule-rrule_was",
          "non_working_day", "document", "evidence-0-index", "evidence-0-kind",
          "evidence-0-title", "evidence-0-max_chars", "flags-0-code", "flags-0-title",
          "phases-0-index", "phases-0-code", "phases-0-start", "phases-0-end", "nodes-0-path",
          "nodes-0-code", "nodes-0-points", "nodes-0-remove", "add", "total", "requirement",
          "deduction", "evidence", "evidence_match", "requires-0-index", "requires-0-duties",
          "requires-0-at_least", "requires-0-deduct", "issued_on", "timezone",
          "not_applicable", "numbered", "code_space")


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({f: TEXT for f in FIELDS}))
def test_every_form_takes_fuzzed_input_without_an_error(admin_client, town, values):
    """Every POST route of the URL map, as the coordinator, with generated values for
    every field: a 4xx or a redirect, never a 500."""
    from tests.web.test_routes import ROUTES

    from tracker.core.timeutil import utcnow
    from tracker.planning import services

    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))
    published = services.published(town.year)
    draft = services.rollover(town.year, town.year + 1, None, utcnow())
    db.session.commit()
    for endpoint, checks in ROUTES.items():
        for method, template, _ in checks:
            if method != "POST" or endpoint in ("auth.logout",):
                continue
            # The draft for the editor (its current revision: the forms' checks and saves
            # run, not only the refusal of a stale form); what would end it, on the
            # published version (refused).
            version = published if endpoint in ("planning.delete", "planning.publish",
                                                "planning.delete_duty") else draft
            db.session.expire_all()
            values["revision"] = services.revision(version)
            url = template.format(own=task, foreign=task, own_file=1, foreign_file=1,
                                  user=town.users.other.id, foreign_unit=town.units.b.id,
                                  own_unit=town.units.a.id, year=town.year,
                                  version=version.id)
            response = admin_client.post(url, data=values)
            assert response.status_code < 500, (endpoint, response.status_code)
            response.close()


#: Characters no text field keeps: NUL (PostgreSQL refuses it in text: a 500 once), other
#: control characters, and (in one-line text: names, titles, addresses) bidirectional
#: overrides that make a name read as something else.
REFUSED = ("\x00", "\x1b", "\x7f", "\u202e", "\u2066")


@pytest.mark.parametrize("bad", REFUSED)
def test_every_form_and_query_refuses_control_characters(app, admin_client, town, bad):
    """Every POST route of the URL map with the character in every field, and the pages'
    query strings: a 4xx or a redirect, never a 500, on SQLite and PostgreSQL."""
    from tests.web.test_routes import ROUTES

    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))
    values = {field: f"a{bad}b" for field in FIELDS}
    anonymous = app.test_client()
    for endpoint, checks in ROUTES.items():
        for method, template, _ in checks:
            url = template.format(own=task, foreign=task, own_file=1, foreign_file=1,
                                  user=town.users.other.id, foreign_unit=town.units.b.id,
                                  own_unit=town.units.a.id, year=town.year, version=1)
            for client in (admin_client, anonymous):
                if method == "POST" and endpoint != "auth.logout":
                    response = client.post(url, data=values)
                else:
                    query = urlencode({"unit": f"a{bad}", "q": f"a{bad}", "status": bad,
                                       "year": bad, "next": f"/{bad}", "kind": bad})
                    response = client.get(url + ("&" if "?" in url else "?") + query)
                assert response.status_code < 500, (endpoint, url, response.status_code)
                response.close()


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\u202e"])
def test_sign_in_with_a_control_character_is_refused_with_a_message(app, town, bad):
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login", data={"email": f"manager{bad}@example.org",
                                                      "password": "correct horse battery"})
    assert response.status_code == 400
    assert "not allowed" in response.text and f"U+{ord(bad):04X}" in response.text


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\u202e"])
def test_a_name_with_a_control_character_is_refused_in_forms(admin_client, town, bad):
    from tracker.units.models import Unit

    count = sa.select(sa.func.count()).select_from(Unit)
    before = db.session.scalar(count)
    response = admin_client.post("/admin/units", data={"name": f"新{bad}村", "kind": "village"})
    assert response.status_code == 400
    assert "not allowed" in response.text and f"U+{ord(bad):04X}" in response.text
    db.session.expire_all()
    assert db.session.scalar(count) == before


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\u202e"])
def test_the_command_line_refuses_control_characters(runner, town, tmp_path, bad):
    """``Error: ...`` and exit 2 for a name typed or imported with one; nothing added."""
    from tracker.units.models import Unit

    before = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    result = runner.invoke(args=["unit", "add", f"新{bad}村", "--kind", "village"])
    assert result.exit_code == 2 and result.stderr.startswith("Error:"), result.output
    assert f"U+{ord(bad):04X}" in result.stderr and "Traceback" not in result.output
    sheet = tmp_path / "units.csv"
    sheet.write_text(f"name,kind\n新北{bad}村,village\n好村,village\n", encoding="utf-8")
    result = runner.invoke(args=["unit", "import", str(sheet)])
    assert result.exit_code == 2 and result.stderr.startswith("Error:"), result.output
    assert f"U+{ord(bad):04X}" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(args=["tasks", "list", "--unit", f"洋溢{bad}"])
    assert result.exit_code == 2 and result.stderr.startswith("Error:"), result.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before


@pytest.mark.parametrize("path", ["/", "/tasks", "/settings", "/login"])
def test_an_unreachable_database_is_503_for_signed_in_users_too(backend, admin_client, path):
    """PostgreSQL down (nothing listening): a signed-in person's page is the 503 page
    with Retry-After, as for anybody else, not a 500 (loading the user failed, and the
    error page would load it again)."""
    if backend != "postgresql":
        pytest.skip("a database server that can be unreachable")
    from tests.conftest import make_app
    from tests.mailserver import free_port

    down = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/tracker")
    client = down.test_client()
    client.set_cookie("session", admin_client.get_cookie("session").value)
    try:
        response = client.get(path)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "try again" in response.text and "Traceback" not in response.text
    finally:
        with down.app_context():
            db.engine.dispose()
