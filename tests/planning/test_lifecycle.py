"""A plan's year from the command line: one plan per year (--replace), a plan started
mid-year (--from), the plan as loaded for a year (export), next year's draft (rollover)."""

from datetime import date, datetime, timezone

import sqlalchemy as sa

from tracker.extensions import db
from tracker.phases.models import Duty, PlanVersion, VersionState
from tracker.phases.planfile import bundled_plans, parse_plan, read_plan
from tracker.reminders.dispatch import dispatch
from tracker.reminders.models import OutboxMessage
from tracker.tasks.models import Task, TaskStatus

BUNDLED = bundled_plans()["shuyuan-2020"].read_text("utf-8")


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def refused(result, message):
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "Traceback" not in result.output


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_plan_started_mid_year_asks_nothing_due_before_it(town, runner, smtp_server, app):
    from tests.mailserver import mail_config

    app.config.update(mail_config(smtp_server))
    db.session.execute(sa.delete(Task))  # the town's plan, loaded for the whole year: gone
    db.session.commit()
    out = ok(runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", "2026",
                                 "--from", "2026-05-13"]))
    assert "takes effect on 2026-05-13" in out
    due = db.session.scalars(sa.select(Task.due_date).where(Task.status == TaskStatus.OPEN))
    assert min(due) >= date(2026, 5, 13)
    # The morning after: no mail (nothing is overdue; the first date is two weeks away).
    report = dispatch(datetime(2026, 5, 14, 0, 30, tzinfo=timezone.utc))  # 08:30 in Shanghai
    assert report.queued == 0 and smtp_server.take() == []
    # Loading it again keeps the day it took effect.
    ok(runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", "2026"]))
    assert min(db.session.scalars(sa.select(Task.due_date).where(
        Task.status == TaskStatus.OPEN))) >= date(2026, 5, 13)


def test_a_second_plan_for_a_year_is_refused_unless_replacing(town, runner, tmp_path,
                                                              snapshot):
    year = town.year
    other = tmp_path / "other.toml"
    other.write_text(BUNDLED.replace('name = "shuyuan-2020"', 'name = "shuyuan-other"')
                     .replace('title = "在镇级平台上发布文章"', 'title = "在镇级平台发布文章"'),
                     encoding="utf-8")
    finished = db.session.scalar(sa.select(Task).join(Duty, Task.duty_id == Duty.id).where(
        Duty.code == "work-plan", Task.unit_id == town.units.a.id))
    finished.status = TaskStatus.ACCEPTED
    db.session.commit()
    per_unit = count(Task, Task.unit_id == town.units.a.id)
    before = snapshot()
    refused(runner.invoke(args=["plan", "load", str(other), "--year", str(year)]),
            f"{year} already has the plan shuyuan-2020")
    assert snapshot() == before

    out = ok(runner.invoke(args=["plan", "load", str(other), "--year", str(year), "--replace"]))
    assert "1 finished tasks carried over" in out
    db.session.expire_all()
    live = count(Task, Task.unit_id == town.units.a.id, Task.status != TaskStatus.CANCELLED)
    assert live == per_unit, "never doubled"
    assert finished.status == TaskStatus.ACCEPTED and finished.plan.name == "shuyuan-other"
    assert finished.duty.code == "work-plan"
    old_open = count(Task, Task.plan.has(name="shuyuan-2020"), Task.status != TaskStatus.CANCELLED)
    assert old_open == 0
    versions = db.session.scalars(sa.select(PlanVersion).where(PlanVersion.year == year)
                                  .order_by(PlanVersion.number)).all()
    assert [(v.name, v.state) for v in versions] == [
        ("shuyuan-2020", VersionState.SUPERSEDED), ("shuyuan-other", VersionState.PUBLISHED)]


def test_the_export_loads_back_unchanged_and_rolls_over(town, runner, tmp_path):
    exported = tmp_path / "plan.toml"
    ok(runner.invoke(args=["plan", "export", "shuyuan-2020", "--year", str(town.year),
                           "-o", str(exported)]))
    shown = ok(runner.invoke(args=["plan", "show", str(exported), "--format", "json"]))
    assert shown == ok(runner.invoke(args=["plan", "show", "shuyuan-2020", "--format", "json"]))
    refused(runner.invoke(args=["plan", "export", "shuyuan-2020", "--year", "2031", "-o",
                                str(exported)]), "not loaded for 2031")

    out = ok(runner.invoke(args=["plan", "rollover", "--year", str(town.year), "--to",
                                 str(town.year + 1)]))
    assert f"shuyuan-{town.year + 1}" in out
    draft = db.session.scalar(sa.select(PlanVersion).where(PlanVersion.year == town.year + 1))
    assert draft.state == VersionState.DRAFT and draft.name == f"shuyuan-{town.year + 1}"
    assert read_plan(str(exported)).duties == parse_plan(draft.source.encode(), "draft").duties
    refused(runner.invoke(args=["plan", "rollover", "--year", "2031", "--to", "2032"]),
            "2031 has no published plan")
    # A draft loads nothing.
    assert count(Task, Task.year == town.year + 1) == 0
    assert count(OutboxMessage) == 0
