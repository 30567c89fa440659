"""The command-line contract of DESIGN.md, and its answers to bad input."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tracker.auth.models import Role, User
from tracker.auth.passwords import verify_password
from tracker.extensions import db
from tracker.phases.planfile import bundled_plans
from tracker.tasks.models import Task
from tracker.units.models import Unit

BUNDLED = bundled_plans()["shuyuan-2020"].read_text("utf-8")


def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(result, message):
    """Exit code 2, the message on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith("Error:") or "Usage:" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def loaded(runner, create_unit):
    create_unit("洋溢村党总支", "branch")
    create_unit("党政办公室", "office")
    create_unit("镇党委宣传办", "coordinator")
    db.session.commit()
    ok(runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", "2026"]))


def test_plan_list_shows_bundled_and_loaded(runner, loaded):
    out = ok(runner.invoke(args=["plan", "list"]))
    assert "shuyuan-2020" in out and "2026" in out
    assert "书院镇2020年度落实意识形态工作责任制工作方案" in out


def test_plan_show_json_shape(runner, app):
    data = json.loads(ok(runner.invoke(args=["plan", "show", "shuyuan-2020", "--format", "json"])))
    assert [(p["code"], p["start"], p["end"]) for p in data["phases"]] == [
        ("P1", "02-01", "04-30"), ("P2", "04-01", "06-30"),
        ("P3", "07-01", "10-31"), ("P4", "11-01", "12-31")]
    assert all({"code", "title"} <= set(p) for p in data["phases"])

    def walk(nodes):
        for node in nodes:
            assert {"code", "title", "points", "children"} <= set(node)
            yield node
            yield from walk(node["children"])

    nodes = list(walk(data["rubric"]))
    leaves = [n for n in nodes if not n["children"]]
    assert len(leaves) == 32
    assert all(leaf["requirement"] and leaf["deduction"] for leaf in leaves)
    assert [g["points"] for g in data["rubric"]] == [26, 46, 12, 6, 10]
    study = next(d for d in data["duties"] if d["code"] == "study-session")
    assert study["rubric"] == ["1-4-1"]
    assert study["applies_to"] == ["village", "community"]
    assert study["due"]["rrule"] == "FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1"
    # The document's words apart from the plan's own cadence.
    assert study["due"]["source"] == "plan"
    assert study["due"]["document"] == "每年集中学习研讨不少于6次"
    assert study["due"]["note"] == "每两个月一次（参考进度）"
    branch = next(d for d in data["duties"] if d["code"] == "branch-study-session")
    assert branch["applies_to"] == ["branch"] and branch["title"] == "支委会集中学习研讨"
    assert study["occurrence"]["flags"][0]["code"] == "ideology"
    row = next(n for n in nodes if n["code"] == "1-4-1")
    assert row["applies_to"] == ["village", "community", "branch"]
    assert row["evidence"] == ["study-session", "branch-study-session"]
    assert row["requires"][0]["at_least"] == 6
    assert data["not_applicable"] == "rescale"
    assert study["reminders"] == {"before": [7, 1, 0], "overdue_every": 7}
    assert data["document_number"] == "书委〔2020〕29号"


def test_plan_show_text(runner, app):
    out = ok(runner.invoke(args=["plan", "show", "shuyuan-2020"]))
    assert "Rubric: 100 points, 32 rows" in out and "study-session" in out


def test_plan_load_reports_and_is_idempotent(runner, loaded):
    out = ok(runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", "2026"]))
    assert "0 tasks created" in out and "(unchanged)" in out


def test_tasks_list_formats_and_filters(runner, loaded):
    rows = json.loads(ok(runner.invoke(args=["tasks", "list", "--format", "json"])))
    assert rows and {"id", "unit", "duty", "title", "due", "phase", "status"} <= set(rows[0])
    assert rows == sorted(rows, key=lambda r: r["due"])
    mine = json.loads(ok(runner.invoke(
        args=["tasks", "list", "--unit", "洋溢村党总支", "--year", "2026", "--format", "json"])))
    assert {r["unit"] for r in mine} == {"洋溢村党总支"}
    assert sum(r["duty"] == "branch-study-session" for r in mine) == 6
    parsed = list(csv.DictReader(io.StringIO(ok(runner.invoke(
        args=["tasks", "list", "--unit", "洋溢村党总支", "--format", "csv"])))))
    assert [r["id"] for r in parsed] == [str(r["id"]) for r in mine]
    assert parsed[0]["title"] == mine[0]["title"]
    table = ok(runner.invoke(args=["tasks", "list", "--unit", "镇党委宣传办"]))
    assert "coord-guidance" in table and len(table.splitlines()) == 2 + 26
    # 2026 lies in the past by 2027: every open task is overdue then.
    overdue = json.loads(ok(runner.invoke(
        args=["tasks", "list", "--status", "overdue", "--format", "json"])))
    assert all(r["overdue"] and r["status"] == "open" for r in overdue)
    assert json.loads(ok(runner.invoke(
        args=["tasks", "list", "--status", "accepted", "--format", "json"]))) == []


FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_csv_exports_neutralise_formulas(runner, loaded):
    """A title (or unit name) a spreadsheet would run as a formula is written with a
    leading apostrophe (OWASP, CSV injection), in `tasks list` and `unit list`."""
    tasks = db.session.scalars(sa.select(Task).order_by(Task.id).limit(len(FORMULAS))).all()
    for task, title in zip(tasks, FORMULAS):
        task.title = title
    db.session.scalars(sa.select(Unit)).first().name = "=cmd|' /C calc'!A0"
    db.session.commit()
    parsed = list(csv.DictReader(io.StringIO(ok(runner.invoke(
        args=["tasks", "list", "--format", "csv"])), newline="")))
    titles = {r["title"] for r in parsed}
    assert {"'" + title for title in FORMULAS} <= titles
    assert not [t for t in titles if t.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert all(r["id"].isdigit() for r in parsed)  # numbers stay numbers
    units = list(csv.DictReader(io.StringIO(ok(runner.invoke(
        args=["unit", "list", "--format", "csv"])))))
    assert "'=cmd|' /C calc'!A0" in {u["name"] for u in units}


def test_unit_add_gets_tasks_for_loaded_years(runner, loaded):
    out = ok(runner.invoke(args=["unit", "add", "新北村党支部", "--kind", "branch"]))
    assert "Added unit 新北村党支部 (branch)" in out and "for shuyuan-2020 2026" in out
    unit = db.session.scalar(sa.select(Unit).where(Unit.name == "新北村党支部"))
    assert db.session.scalar(sa.select(sa.func.count(Task.id)).where(Task.unit_id == unit.id)) > 40


def test_unit_import(runner, app, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("\ufeffname,kind\n外灶村党总支,branch\n经济发展办公室, office\n\n", "utf-8")
    assert "Imported 2 units" in ok(runner.invoke(args=["unit", "import", str(path)]))
    out = json.loads(ok(runner.invoke(args=["unit", "list", "--format", "json"])))
    assert {(u["name"], u["kind"]) for u in out} == {("外灶村党总支", "branch"),
                                                     ("经济发展办公室", "office")}


def test_user_add_with_password_from_stdin(runner, loaded):
    out = ok(runner.invoke(args=["user", "add", "Li.Ming@Example.ORG", "--role", "manager",
                                 "--unit", "洋溢村党总支", "--password-stdin"],
                           input="s3cret-passphrase\n"))
    assert "Added li.ming@example.org (manager of 洋溢村党总支)" in out
    assert "Password" not in out
    user = db.session.scalar(sa.select(User))
    assert user.role == Role.MANAGER and user.unit.name == "洋溢村党总支"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(user.password_hash, "s3cret-passphrase")
    assert not verify_password(user.password_hash, "s3cret-passphrasE")


def test_user_add_generates_a_password_once(runner, app):
    out = ok(runner.invoke(args=["user", "add", "admin@example.org", "--role", "admin"]))
    password = out.split("Password (shown once): ")[1].strip()
    user = db.session.scalar(sa.select(User))
    assert len(password) >= 16 and verify_password(user.password_hash, password)


def test_init_db_on_a_new_database(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert "Database ready at" in ok(runner.invoke(args=["init-db"]))
    assert "Database ready at" in ok(runner.invoke(args=["init-db"]))
    assert "tasks" in sa.inspect(db.engine).get_table_names()


def test_demo_is_repeatable(fresh_app):
    runner = fresh_app.test_cli_runner()
    first = ok(runner.invoke(args=["demo"]))
    assert "Demo town: 12 units" in first and "admin@shuyuan.example" in first
    tasks = db.session.scalar(sa.select(sa.func.count(Task.id)))
    second = ok(runner.invoke(args=["demo"]))
    assert "admin@shuyuan.example" in second
    assert db.session.scalar(sa.select(sa.func.count(Task.id))) == tasks
    line = next(ln for ln in second.splitlines() if "admin@shuyuan.example" in ln)
    user = db.session.scalar(sa.select(User).where(User.email == "admin@shuyuan.example"))
    assert verify_password(user.password_hash, line.split()[1])
    # Each user says who they are: the role and the unit.
    assert line.split()[2] == "coordinator" and line.endswith("镇党委宣传办")
    viewer = next(ln for ln in second.splitlines() if "viewer@shuyuan.example" in ln)
    assert "unit viewer" in viewer and viewer.endswith("洋溢村党总支")
    kept = (Path(fresh_app.instance_path) / "demo-credentials.txt").read_text("utf-8")
    assert "\tunit manager (records the unit's work)\t洋溢村党总支\n" in kept


@pytest.mark.parametrize("now, until", [
    # 4 January: nothing of this year is due yet; last year's work shows.
    ("2027-01-04T09:00", datetime(2027, 1, 4, 1, tzinfo=timezone.utc)),
    ("2028-02-29T12:00", datetime(2028, 2, 29, 4, tzinfo=timezone.utc)),
    # 23:30 on New Year's Eve in Shanghai is 15:30 UTC: still the old year there.
    ("2026-12-31T23:30+08:00", datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)),
])
def test_demo_work_went_through_the_services_with_its_evidence(fresh_app, instance_path, now,
                                                               until):
    """Whatever the day, the demo town has finished work: the files and statements its duty
    asks for, on disk, done before that day; the demo's PDFs are well-formed (every xref
    offset is right)."""
    from tracker.tasks.models import FINISHED, TaskStatus
    from tracker.tasks.services import needs_files, statement_cap

    out = ok(fresh_app.test_cli_runner().invoke(args=["demo", "--now", now]))
    assert f"loaded for {until.astimezone(ZoneInfo('Asia/Shanghai')).year - 1} and" in out
    finished = db.session.scalars(sa.select(Task).where(Task.status.in_(FINISHED))).all()
    assert finished and any(t.status == TaskStatus.ACCEPTED for t in finished)
    for task in finished:
        assert task.submitted_at <= until and task.submitted_by is not None
        assert task.statement if statement_cap(task) else not task.statement
        assert bool(task.evidence_files) == needs_files(task), task.title
        for file in task.evidence_files:
            data = (instance_path / "evidence" / file.stored_name).read_bytes()
            assert file.original_name.endswith(".pdf") and file.size == len(data)
            xref = int(data.rsplit(b"startxref\n", 1)[1].split()[0])
            assert data[xref:].startswith(b"xref\n0 6\n")
            offsets = [int(line[:10]) for line in data[xref:].splitlines()[3:8]]
            assert [data[o:].split(b" ", 1)[0] for o in offsets] == [b"1", b"2", b"3", b"4", b"5"]


# -- bad input: a clear message, exit code 2, nothing written -----------------

def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


BAD_INPUT = {
    "malformed TOML": (lambda p: ["plan", "load", write(p, "bad.toml", "[plan\nname = 1"),
                                  "--year", "2026"], "bad.toml: invalid TOML"),
    "invalid RRULE": (lambda p: ["plan", "load", write(p, "rrule.toml", BUNDLED.replace(
        "FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12", "FREQ=MONTHLY;BYMONTH=2,4,99")), "--year", "2026"],
        "(study-session): due: invalid RRULE"),
    "unknown plan": (lambda p: ["plan", "load", "atlantis", "--year", "2026"],
                     "no bundled plan of that name"),
    "year out of range": (lambda p: ["plan", "load", "shuyuan-2020", "--year", "3026"],
                          "3026 is not in the range"),
    "duplicate unit": (lambda p: ["unit", "add", "洋溢村党总支", "--kind", "branch"],
                       "a unit named '洋溢村党总支' already exists"),
    "unknown unit kind": (lambda p: ["unit", "add", "x", "--kind", "county"],
                          "'county' is not one of"),
    "bad e-mail": (lambda p: ["user", "add", "not-an-address", "--role", "admin"],
                   "'not-an-address' is not a valid e-mail address"),
    "unknown role": (lambda p: ["user", "add", "a@example.org", "--role", "boss"],
                     "'boss' is not one of"),
    "manager without unit": (lambda p: ["user", "add", "a@example.org", "--role", "manager"],
                             "a manager belongs to a unit"),
    "unknown unit for user": (lambda p: ["user", "add", "a@example.org", "--role", "viewer",
                                         "--unit", "火星村"], "no unit named '火星村'"),
    "short password": (lambda p: ["user", "add", "a@example.org", "--role", "admin",
                                  "--password-stdin"], "at least 8 characters"),
    "CSV not UTF-8": (lambda p: ["unit", "import", write(p, "gbk.csv",
                                 "name,kind\n外灶村,branch\n".encode("gbk"))], "not UTF-8"),
    "CSV missing": (lambda p: ["unit", "import", str(p / "absent.csv")], "cannot read the file"),
    "CSV bad kind": (lambda p: ["unit", "import", write(p, "kind.csv",
                                "name,kind\n外灶村党总支,village\n黄华村,county\n")],
                     "kind.csv: line 3: unknown unit kind 'county'"),
    "CSV repeated name": (lambda p: ["unit", "import", write(p, "dup.csv",
                                     "name,kind\n黄华村,branch\n黄华村,branch\n")],
                          "dup.csv: line 3: unit '黄华村' already on line 2"),
    "CSV unit exists": (lambda p: ["unit", "import", write(p, "exists.csv",
                                   "name,kind\n新村,branch\n洋溢村党总支,branch\n")],
                        "a unit named '洋溢村党总支' already exists"),
    "CSV without header": (lambda p: ["unit", "import", write(p, "nohead.csv",
                                      "外灶村党总支,branch\n")], "line 1: the header must name"),
    "CSV extra field": (lambda p: ["unit", "import", write(p, "extra.csv",
                                   "name,kind\n外灶村党总支,branch,x\n")],
                        "line 2: more fields than the header"),
    "tasks of unknown unit": (lambda p: ["tasks", "list", "--unit", "火星村"],
                              "no unit named '火星村'"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_and_nothing_changes(case, runner, loaded, snapshot, tmp_path):
    args, message = BAD_INPUT[case]
    before = snapshot()
    refused(runner.invoke(args=args(tmp_path), input="short\n"), message)
    assert snapshot() == before


def test_commands_before_init_db_say_what_to_do(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["tasks", "list"])
    refused(result, "run `tracker init-db` first")


def test_the_console_script(tmp_path):
    """The installed ``tracker`` script, as a person runs it."""
    script = Path(sys.executable).with_name("tracker")
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance")}
    run = lambda *args: subprocess.run([str(script), *args], env=env, capture_output=True,  # noqa: E731
                                       text=True, timeout=120)
    done = run("init-db")
    assert done.returncode == 0, done.stderr
    shown = run("plan", "show", "shuyuan-2020", "--format", "json")
    assert shown.returncode == 0 and len(json.loads(shown.stdout)["duties"]) == 50
    bad = run("plan", "load", "shuyuan-2020", "--year", "1999")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "1999 is not in the range" in bad.stderr
    flask = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "tracker",
                            "plan", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert flask.returncode == 0 and "shuyuan-2020" in flask.stdout


def test_dev_help_is_on_stdout():
    """``python3 dev.py --help`` is a newcomer's first command: its text on stdout, exit 0;
    an unknown command gets it on stderr with exit 2."""
    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run([sys.executable, "dev.py", "--help"], cwd=root, capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0 and shown.stderr == ""
    assert "python3 dev.py run" in shown.stdout and "python3 dev.py test" in shown.stdout
    wrong = subprocess.run([sys.executable, "dev.py", "serve"], cwd=root, capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and wrong.stdout == "" and "python3 dev.py run" in wrong.stderr
