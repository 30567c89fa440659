"""`tracker reminders dispatch`, the scheduler job, and the one-scheduler lock."""

import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import click
import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from tests.conftest import make_app
from tracker.core.errors import TrackerError
from tracker.core.cli import parse_instant
from tracker.reminders.jobs import (EVIDENCE_JOB_ID, JOB_ID, PRUNE_JOB_ID, SchedulerLock,
                                   add_jobs, serving_with_flask_run)


def test_dispatch_command_prints_what_it_sent(mail_app, town, smtp_server):
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["reminders", "dispatch", "--now", "2026-02-03T08:00:00"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "sent    manager@shuyuan.example  工作提醒：1 项待办即将到期" in lines
    assert "sent    viewer@shuyuan.example  Reminder: 1 item due soon" in lines
    assert lines[-1] == "2 queued, 2 sent, 0 to retry, 0 failed."
    assert len(smtp_server.take()) == 2
    # 07:59 in plan time the next morning (an offset given): nothing new.
    result = runner.invoke(args=["reminders", "dispatch", "--now", "2026-02-03T23:59:00+00:00"])
    assert result.stdout.splitlines() == ["0 queued, 0 sent, 0 to retry, 0 failed."]


def test_dispatch_command_lists_failures(mail_app, town, smtp_server):
    smtp_server.refuse["viewer@shuyuan.example"] = "550 5.1.1 No such user"
    result = mail_app.test_cli_runner().invoke(
        args=["reminders", "dispatch", "--now", "2026-02-03T08:00:00+08:00"])
    assert "failed  viewer@shuyuan.example  550 5.1.1 No such user" in result.stdout


@pytest.mark.parametrize("now", ["yesterday", "2026-13-01T08:00", "2026-02-30", ""])
def test_dispatch_command_refuses_a_bad_now(runner, now):
    result = runner.invoke(args=["reminders", "dispatch", "--now", now])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error:") and "ISO-8601" in result.stderr
    assert "Traceback" not in result.output


def test_dispatch_command_refuses_a_bad_backend(app, runner):
    app.config["MAIL_BACKEND"] = "carrier-pigeon"
    result = runner.invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 2 and "MAIL_BACKEND" in result.stderr


def test_parse_instant_reads_plain_times_in_plan_time():
    assert parse_instant("2026-02-03T08:00", "Asia/Shanghai") == datetime(
        2026, 2, 3, 0, 0, tzinfo=timezone.utc)
    assert parse_instant("2026-02-03T08:00:00Z", "Asia/Shanghai") == datetime(
        2026, 2, 3, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(TrackerError):
        parse_instant("soon", "Asia/Shanghai")


def test_dispatch_and_prune_are_one_coalesced_job_each_with_a_long_misfire_grace(app):
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.start(paused=True)
    try:
        add_jobs(scheduler, app, None)
        add_jobs(scheduler, app, None)  # again: replaces, never doubles
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown()
    assert set(jobs) == {JOB_ID, PRUNE_JOB_ID, EVIDENCE_JOB_ID}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == app.config["REMINDERS_MISFIRE_GRACE_SECONDS"] >= 3600
    assert jobs[JOB_ID].trigger.interval.total_seconds() == app.config[
        "REMINDERS_INTERVAL_SECONDS"]
    prune = jobs[PRUNE_JOB_ID].trigger  # daily at 03:00 plan time
    assert str(prune.timezone) == app.config["TIMEZONE"]
    assert str(prune.fields[prune.FIELD_NAMES.index("hour")]) == "3"
    cleanup = jobs[EVIDENCE_JOB_ID].trigger  # nightly at 04:00 plan time
    assert str(cleanup.fields[cleanup.FIELD_NAMES.index("hour")]) == "4"


def test_the_app_never_starts_a_scheduler_by_itself(app):
    """Not at import, not in create_app, not in tests: even with SCHEDULER_ENABLED."""
    enabled = make_app(app.config["SQLALCHEMY_DATABASE_URI"], SCHEDULER_ENABLED=True)
    assert "reminders.scheduler" not in enabled.extensions
    assert not serving_with_flask_run()


def test_only_flask_run_serving_process_runs_the_in_app_scheduler(monkeypatch):
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    run = click.Command("run")
    with click.Context(run, info_name="run") as ctx:
        ctx.params = {"reload": False}
        assert serving_with_flask_run()
        ctx.params = {"reload": True}  # the reloader's parent only watches files
        assert not serving_with_flask_run()
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")  # the reloader's child serves
        assert serving_with_flask_run()
    with click.Context(click.Command("serve"), info_name="serve"):
        assert not serving_with_flask_run()


def test_one_scheduler_lock_per_database(app):
    first, second = SchedulerLock(app), SchedulerLock(app)
    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held
    first.release()
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def _scheduler(env):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "tracker", "scheduler",
                             "--interval", "1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(process, text, timeout=30):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not seen in {''.join(seen)!r}")


def test_a_second_scheduler_waits_until_the_first_stops(app, town, database_url,
                                                        instance_path):
    env = {**os.environ, "TRACKER_SQLALCHEMY_DATABASE_URI": database_url,
           "TRACKER_INSTANCE_PATH": str(instance_path), "TRACKER_SECRET_KEY": '"test"',
           "TRACKER_REMINDERS_LOCK_POLL_SECONDS": "0.2", "PYTHONUNBUFFERED": "1"}
    first = _scheduler(env)
    second = None
    try:
        _wait_for(first, "Reminder scheduler running")
        # It dispatched at once (the file backend: .eml files in the outbox).
        _wait_for(first, "reminders:")
        second = _scheduler(env)
        _wait_for(second, "waiting until it stops")
        first.terminate()
        assert first.wait(10) == 0
        _wait_for(second, "Reminder scheduler running")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
            if process is not None:
                process.stdout.close()
