"""``tracker ics export`` and ``tracker feed issue|revoke``."""

import re

import pytest
import sqlalchemy as sa

from tracker.auth.models import Role
from tracker.calendar.models import FeedToken
from tracker.extensions import db
from tracker.tasks.models import Task
from tests.calendar.conftest import YEAR, parse_ics, tasks_in_scope
from tests.test_cli import ok, refused


def uids(data: bytes, name="VEVENT"):
    return sorted(str(c["UID"]) for c in parse_ics(data).tasks(name))


def expected(tasks):
    return sorted(f"task-{t.id}@127.0.0.1" for t in tasks)


def test_export_writes_every_task_by_default(runner, plan_town, tmp_path):
    out = tmp_path / "all.ics"
    stdout = ok(runner.invoke(args=["ics", "export", "-o", str(out)]))
    assert str(out) in stdout
    admin = plan_town.users.admin
    assert uids(out.read_bytes()) == expected(tasks_in_scope(admin))
    # The same data gives the same file.
    again = tmp_path / "again.ics"
    ok(runner.invoke(args=["ics", "export", "-o", str(again)]))
    assert again.read_bytes() == out.read_bytes()


def test_export_one_unit_one_user_one_year_as_todos(runner, plan_town, tmp_path):
    units, users = plan_town.units, plan_town.users
    out = tmp_path / "unit.ics"
    ok(runner.invoke(args=["ics", "export", "--unit", units.b.name, "--year", str(YEAR),
                           "-o", str(out)]))
    assert uids(out.read_bytes()) == expected(tasks_in_scope(users.admin,
                                                             Task.unit_id == units.b.id))
    ok(runner.invoke(args=["ics", "export", "--user", "VIEWER@example.org", "--kind", "todo",
                           "-o", str(out)]))
    parsed = parse_ics(out.read_bytes())
    assert uids(out.read_bytes(), "VTODO") == expected(tasks_in_scope(users.viewer))
    assert parsed.calendar["X-WR-CALNAME"] == f"工作任务 · {units.a.name}"
    ok(runner.invoke(args=["ics", "export", "--year", str(YEAR + 1), "-o", str(out)]))
    assert uids(out.read_bytes()) == []


@pytest.mark.parametrize("args, message", [
    (["--unit", "没有这个单位"], "no unit named"),
    (["--user", "nobody@example.org"], "no user with the e-mail"),
    (["--user", "not an address"], "is not a valid e-mail address"),
    (["--unit", "洋溢村党总支", "--user", "manager@example.org"], "not both"),
    (["--year", "1999"], "1999"),
    (["--year", "twenty"], "twenty"),
    (["--kind", "journal"], "journal"),
])
def test_export_refuses_bad_input(runner, plan_town, tmp_path, args, message):
    out = tmp_path / "bad.ics"
    refused(runner.invoke(args=["ics", "export", *args, "-o", str(out)]), message)
    assert not out.exists()


def test_export_needs_an_output_and_reports_an_unwritable_one(runner, plan_town, tmp_path):
    refused(runner.invoke(args=["ics", "export"]), "-o")
    refused(runner.invoke(args=["ics", "export", "-o", str(tmp_path / "no" / "such" / "x.ics")]),
            "cannot write")


def test_feed_issue_prints_working_urls_once_and_revoke_stops_them(runner, plan_town, client):
    out = ok(runner.invoke(args=["feed", "issue", "manager@example.org"]))
    https = re.search(r"http://127\.0\.0\.1:5000/feeds/[A-Za-z0-9_-]{43}\.ics", out).group(0)
    assert https.replace("http://", "webcal://") in out
    path = https.removeprefix("http://127.0.0.1:5000")
    response = client.get(path)
    assert response.status_code == 200
    assert uids(response.data) == expected(tasks_in_scope(plan_town.users.manager))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedToken)) == 1

    assert "Revoked" in ok(runner.invoke(args=["feed", "revoke", "manager@example.org"]))
    assert client.get(path).status_code == 404
    assert "no active" in ok(runner.invoke(args=["feed", "revoke", "manager@example.org"]))
    refused(runner.invoke(args=["feed", "issue", "nobody@example.org"]), "no user")


def test_feed_issue_refuses_a_deactivated_user(runner, plan_town):
    plan_town.users.other.active = False
    db.session.commit()
    refused(runner.invoke(args=["feed", "issue", "other@example.org"]), "deactivated")
    assert plan_town.users.other.role == Role.MANAGER


def test_a_task_says_where_its_dates_come_from(runner, plan_town, tmp_path):
    """The document's words apart from the system's own arrangement, in DESCRIPTION (read
    back by an independent parser)."""
    out = tmp_path / "unit.ics"
    ok(runner.invoke(args=["ics", "export", "--unit", plan_town.units.a.name, "-o", str(out)]))
    session = next(c for c in parse_ics(out.read_bytes()).tasks("VEVENT")
                   if "支委会集中学习研讨" in str(c["SUMMARY"]))
    description = str(session["DESCRIPTION"])
    assert "系统安排日期（本系统设定）。原文：每年集中学习研讨不少于6次。" in description
    assert "本系统安排：每两个月一次（参考进度）（本系统设定）。" in description


def test_rectification_next_january_brings_no_phases_of_a_year_without_a_plan(
        runner, plan_town, tmp_path):
    """A 整改 task due next January is a task of this year's plan; next year's calendar
    shows it, but not this year's phases as if they were next year's (no plan is loaded
    for it). This year's calendar keeps its phases."""
    from datetime import date, datetime, timezone

    from tracker.assessment.cycle import create_rectification
    from tracker.phases.services import plan_for_year
    from tracker.workdays.services import work_calendar

    due = work_calendar().working_on_or_after(date(YEAR + 1, 1, 12))
    create_rectification(plan_for_year(YEAR), YEAR, plan_town.units.a, "整改：补齐学习研讨记录",
                         "", due, None, datetime(YEAR, 12, 1, 2, tzinfo=timezone.utc))
    db.session.commit()
    for year, phases in ((YEAR + 1, 0), (YEAR, 4)):
        out = tmp_path / f"{year}.ics"
        ok(runner.invoke(args=["ics", "export", "--unit", plan_town.units.a.name, "--year",
                               str(year), "-o", str(out)]))
        events = parse_ics(out.read_bytes()).components("VEVENT")
        summaries = [str(e["SUMMARY"]) for e in events]
        assert sum(str(e["UID"]).startswith("phase-") for e in events) == phases, summaries
        if year == YEAR + 1:
            assert any("补齐学习研讨记录" in s for s in summaries)
