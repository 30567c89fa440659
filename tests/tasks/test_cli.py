"""``tracker tasks submit|review`` and ``tracker plan set-date``: the web's rules and
history, from the command line."""

import pytest
import sqlalchemy as sa

from tests.hostile import PDF
from tracker.extensions import db
from tracker.phases.models import Duty
from tracker.tasks.models import Task, TaskEvent, TaskEventKind, TaskStatus


def ok(result):
    assert result.exit_code == 0, result.output
    return result.output


def refused(result, message):
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error:") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def task_of(unit, code, seq=1):
    return db.session.scalar(
        sa.select(Task).join(Duty, Task.duty_id == Duty.id)
        .where(Task.unit_id == unit.id, Duty.code == code, Task.seq == seq))


@pytest.fixture
def files(tmp_path):
    pdf = tmp_path / "纪要.pdf"
    pdf.write_bytes(PDF)
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"not a pdf at all")
    return pdf, fake


def test_submit_with_files_then_review_as_the_web_does(town, runner, files, instance_path,
                                                      smtp_server):
    pdf, _ = files
    task = task_of(town.units.a, "work-plan")
    out = ok(runner.invoke(args=["tasks", "submit", str(task.id), "--as", "manager@example.org",
                                 "--note", "已完成", "--file", str(pdf), "--file", str(pdf)]))
    assert f"Task {task.id}" in out and "submitted for review" in out
    db.session.expire_all()
    assert task.status == TaskStatus.SUBMITTED and task.note == "已完成"
    assert [f.original_name for f in task.evidence_files] == ["纪要.pdf", "纪要.pdf"]
    for file in task.evidence_files:
        assert (instance_path / "evidence" / file.stored_name).read_bytes() == PDF
    ok(runner.invoke(args=["tasks", "review", str(task.id), "--as", "admin@example.org",
                           "--return", "--comment", "缺少职责分工"]))
    db.session.expire_all()
    assert task.status == TaskStatus.RETURNED and task.review_comment == "缺少职责分工"
    kinds = db.session.scalars(sa.select(TaskEvent.kind).where(TaskEvent.task_id == task.id)
                               .order_by(TaskEvent.id)).all()
    assert kinds == [TaskEventKind.EVIDENCE_ADDED, TaskEventKind.EVIDENCE_ADDED,
                     TaskEventKind.NOTE_SAVED, TaskEventKind.SUBMITTED, TaskEventKind.RETURNED]
    # The unit hears of it as from the web: the notice is queued in the same transaction.
    from tracker.reminders.models import OutboxMessage
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.key.startswith(f"returned:{task.id}:"))) == 2  # the manager, the viewer
    ok(runner.invoke(args=["tasks", "submit", str(task.id), "--as", "manager@example.org"]))
    ok(runner.invoke(args=["tasks", "review", str(task.id), "--as", "admin@example.org",
                           "--accept"]))
    db.session.expire_all()
    assert task.status == TaskStatus.ACCEPTED


def test_an_occurrence_is_recorded_from_the_command_line(town, runner, files):
    pdf, _ = files
    task = task_of(town.units.a, "study-session")
    ok(runner.invoke(args=["tasks", "submit", str(task.id), "--as", "manager@example.org",
                           "--file", str(pdf), "--held", f"{town.year}-01-01",
                           "--attendance", "9", "--mark", "ideology"]))
    db.session.expire_all()
    assert (str(task.held_on), task.attendance, task.flags) == (  # not after today, any day
        f"{town.year}-01-01", 9, ["ideology"])


@pytest.mark.parametrize("args, message", [
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "other@example.org",
                   "--file", str(f[0])], "may not record work"),
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "viewer@example.org",
                   "--file", str(f[0])], "may not record work"),
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "manager@example.org"],
     "Attach the evidence"),
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "manager@example.org",
                   "--file", str(f[1])], "is not a .pdf file"),
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "manager@example.org",
                   "--file", "/no/such/file.pdf"], "cannot read the file"),
    (lambda t, f: ["tasks", "submit", str(t["study"]), "--as", "manager@example.org",
                   "--file", str(f[0])], "date it was held"),
    (lambda t, f: ["tasks", "submit", str(t["united"]), "--as", "manager@example.org"],
     "Write the statement"),
    (lambda t, f: ["tasks", "submit", str(t["done"]), "--as", "manager@example.org",
                   "--file", str(f[0])], "cannot be changed now"),
    (lambda t, f: ["tasks", "submit", "999999", "--as", "manager@example.org"],
     "there is no task 999999"),
    (lambda t, f: ["tasks", "submit", str(t["plan"]), "--as", "nobody@example.org"],
     "no user with the e-mail"),
    (lambda t, f: ["tasks", "review", str(t["done"]), "--as", "manager@example.org",
                   "--accept"], "may not review"),
    (lambda t, f: ["tasks", "review", str(t["done"]), "--as", "admin@example.org",
                   "--accept"], "Only submitted work"),
    (lambda t, f: ["tasks", "review", str(t["submitted"]), "--as", "admin@example.org",
                   "--return"], "Say what needs rework"),
    (lambda t, f: ["tasks", "review", str(t["submitted"]), "--as", "admin@example.org"],
     "give --accept or --return"),
    (lambda t, f: ["plan", "set-date", "study-session", "--year", str(t["year"]), "--date",
                   f"{t['year']}-09-01"], "come from the plan"),
    (lambda t, f: ["plan", "set-date", "contingency-party-congress", "--year",
                   str(t["year"])], "give --date"),
])
def test_refused_with_a_clear_message_and_nothing_changes(town, runner, files, snapshot,
                                                          instance_path, args, message):
    tasks = {"plan": task_of(town.units.a, "work-plan").id,
             "study": task_of(town.units.a, "study-session").id,
             "united": task_of(town.units.a, "united-front").id,
             "done": task_of(town.units.a, "briefing").id,
             "submitted": task_of(town.units.a, "annual-report").id, "year": town.year}
    db.session.get(Task, tasks["done"]).status = TaskStatus.ACCEPTED
    db.session.get(Task, tasks["submitted"]).status = TaskStatus.SUBMITTED
    db.session.commit()
    before = snapshot()
    refused(runner.invoke(args=args(tasks, files)), message)
    assert snapshot() == before
    evidence = instance_path / "evidence"
    assert not evidence.exists() or not any(p.is_file() for p in evidence.rglob("*"))


def test_set_date_makes_the_tasks(town, runner):
    out = ok(runner.invoke(args=["plan", "set-date", "contingency-party-congress",
                                 "--year", str(town.year), "--date", f"{town.year}-09-20"]))
    assert "2 tasks made" in out
    assert task_of(town.units.a, "contingency-party-congress").due_date.isoformat() == \
        f"{town.year}-09-20"
