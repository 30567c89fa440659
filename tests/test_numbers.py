"""Numbers past what int() reads (4,300 digits), past float's range, not numbers at all,
and ids past the INTEGER columns: every place a person types a number, on the web and
the command line, answers a form error, a 4xx page or ``Error: …`` with exit 2 (never
a 500 or a traceback), on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from tests.planning.formdata import form_data
from tests.test_cli import refused
from tracker.assessment.models import RubricNode
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.planning import services
from tracker.tasks.models import Task

#: Too many digits for int(), past float, not finite, past INTEGER, past BIGINT.
NUMBERS = ["9" * 5000, "1" + "0" * 4300, "1e999", "-1e999", "1e308", "nan", "-inf",
           "3000000000", "99999999999999999999", "1E+999999999", "٣"]


@pytest.fixture
def clients(app, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    return (login(app.test_client(), town.users.admin),
            login(app.test_client(), town.users.manager))


@pytest.mark.parametrize("value", NUMBERS)
def test_numbers_on_the_web_are_refused_cleanly(town, clients, value):
    admin, manager = clients
    session = db.session.scalar(sa.select(Task.id).join(Duty, Task.duty_id == Duty.id).where(
        Task.unit_id == town.units.a.id, Duty.code == "study-session").order_by(Task.due_date))
    node = db.session.scalar(sa.select(RubricNode.id).where(RubricNode.code == "3-1-1"))
    draft = services.rollover(town.year, town.year + 1, None, utcnow())
    db.session.commit()
    base = f"/plans/{draft.id}"
    sheet = f"/assessment/{town.year}/units/{town.units.a.id}"
    admin.post(f"{sheet}/start")
    cases = [
        (manager, "/reminders/settings", {"mode": "digest", "hour": value}),
        (manager, f"/tasks/{session}/work", {"held_on": f"{town.year}-01-05",
                                             "attendance": value, "action": "save"}),
        (admin, "/plans/new", {"year": value}),
        (admin, "/duties/party-congress/date", {"year": value, "date": f"{town.year}-05-06"}),
        (admin, "/tasks/accept", {"task": value}),
        (admin, f"{base}/rubric", form_data(admin.get(f"{base}/rubric").text, total=value)),
        (admin, f"{base}/rubric/1-4-1", form_data(admin.get(f"{base}/rubric/1-4-1").text,
                                                  requires__0__at_least=value)),
        (admin, f"{base}/rubric/1-4-1", form_data(admin.get(f"{base}/rubric/1-4-1").text,
                                                  requires__0__deduct=value)),
        (admin, f"{sheet}/deductions", {"node_id": node, "points": value, "reason": "x"}),
        (admin, f"{sheet}/deductions", {"node_id": value, "points": "1", "reason": "x"}),
        (admin, f"{sheet}/self", {"node_id": value, "points": value}),
        (manager, f"{sheet}/self", {"node_id": node, "points": value}),
    ]
    for client, url, data in cases:
        response = client.post(url, data=data)
        assert response.status_code in (200, 302, 400, 404), (url, response.status_code)
        assert "Traceback" not in response.text
    for url in (f"/?year={value}", f"/tasks?year={value}", f"/assessment?year={value}",
                f"/tasks/{value}", f"/assessment/{value}/units/{town.units.a.id}",
                f"/calendar/export.ics?year={value}", f"/overview?year={value}",
                f"/tasks?unit={value}"):
        response = admin.get(url)
        assert response.status_code in (200, 302, 400, 404), (url, response.status_code)


@pytest.mark.parametrize("value", NUMBERS[:-1])  # click reads "٣" as 3, rightly
def test_numbers_on_the_command_line_are_refused_cleanly(runner, town, value):
    task = db.session.scalar(sa.select(Task.id).where(Task.unit_id == town.units.a.id))
    db.session.commit()
    year = str(town.year)
    for args in (
        ["tasks", "submit", value, "--as", "manager@example.org"],
        ["tasks", "review", value, "--as", "admin@example.org", "--accept"],
        ["tasks", "submit", str(task), "--as", "manager@example.org", "--attendance", value],
        ["tasks", "list", "--year", value],
        ["plan", "load", "shuyuan-2020", "--year", value],
        ["plan", "set-date", "party-congress", "--year", value, "--date", f"{year}-05-06"],
        ["plan", "rollover", "--year", year, "--to", value],
        ["plan", "export", "shuyuan-2020", "--year", value, "-o", "x.toml"],
        ["workdays", "list", "--year", value],
        ["ics", "export", "--year", value, "-o", "x.ics"],
        ["assessment", "export", "--year", value, "-o", "x.csv"],
        ["reminders", "prune", "--keep-days", value],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args[:3], result.output[-500:])
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), args
