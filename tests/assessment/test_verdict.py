"""The verdict a town publishes: points from accepted evidence alone, whatever way the plan
was loaded; each unit's rows as the town has them; the document's words apart from the
plan's own choices."""

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import samples
from tracker.assessment.services import (add_deduction, get_or_start, remove_deduction,
                                         results)
from tracker.core.errors import TrackerError
from tracker.extensions import db
from tracker.phases.models import Duty, RubricNode
from tracker.phases.planfile import bundled_plans, parse_plan, read_plan
from tracker.phases.services import plan_for_year
from tracker.tasks.loading import load_plan, sync_loaded_years
from tracker.tasks.models import Task, TaskStatus
from tracker.units.models import RowRuleMode, Unit, UnitKind
from tracker.units.services import set_row_rule

YEAR = 2026
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_14d02de2da2b3d4d.txt"
TEST_SEED = Path(__file__).resolve().parents[1] / "data" / "seed-shuyuan-2020.txt"
BUNDLED = bundled_plans()["shuyuan-2020"].read_text("utf-8")


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def units(create_unit):
    made = {kind: create_unit(name, kind) for kind, name in (
        ("village", "洋溢村党总支"), ("branch", "机关党支部"), ("office", "党政办公室"),
        ("enterprise", "镇资产经营公司"), ("institution", "文化服务中心"),
        ("coordinator", "镇党委宣传办"))}
    db.session.commit()
    return made


def tasks_of(unit, duty=None, status=None):
    query = sa.select(Task).where(Task.unit_id == unit.id).order_by(Task.due_date, Task.id)
    if duty:
        query = query.join(Duty, Duty.id == Task.duty_id).where(Duty.code == duty)
    if status:
        query = query.where(Task.status == status)
    return db.session.scalars(query).all()


def verdict(unit, today):
    plan = plan_for_year(YEAR)
    return results(plan, YEAR, [unit], today)[unit.id]


def accept(tasks):
    for task in tasks:
        task.status = TaskStatus.ACCEPTED
    db.session.commit()


# -- points only from evidence --------------------------------------------------------

def test_a_unit_with_no_accepted_work_scores_nothing_whatever_its_kind(units):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    for kind in ("village", "branch", "office", "enterprise", "institution"):
        result = verdict(units[kind], date(YEAR, 12, 31))
        assert result.raw == 0 and result.total == 0, kind
        assert all(r.gap for r in result.rows.values() if r.applicable), kind


def test_a_mid_year_start_asks_the_one_off_work_as_catch_up_and_scores_none_of_it(
        units, runner, create_user, tmp_path):
    """Started on the seed's own issue date: phase 1's documents are asked as catch-up
    work (补报) ten working days on (the plan's choice), the sessions the document counts
    are all there, no mail goes out on day one, and nothing scores without evidence."""
    create_user("li@example.org", "manager", units["village"])
    start = date(YEAR, 5, 12)
    load_plan(read_plan("shuyuan-2020"), YEAR, at(start), effective_from=start)
    db.session.commit()
    village = units["village"]
    catch_up = date(YEAR, 5, 26)  # 10 working days after Tuesday 12 May 2026
    for code in ("responsibility-docs", "work-plan", "duty-split", "propaganda-staff",
                 "opinion-mechanism", "new-media-filing", "pudong-app",
                 "contingency-sino-vietnam-war", "contingency-two-sessions"):
        task, = tasks_of(village, code)
        assert task.due_date == catch_up and task.title.endswith("（补报）"), code
    sessions = tasks_of(village, "study-session")
    assert len(sessions) == 6  # 每年集中学习研讨不少于6次: all six still reachable
    assert [t.due_date for t in sessions[:2]] == [catch_up, catch_up]
    # A recurring duty's past occurrence is not asked at all.
    assert [t.due_date for t in tasks_of(village, "position-register")] == [date(YEAR, 10, 30)]
    assert not [t for t in tasks_of(village) if t.due_date < start]
    # Day one brings no mail.
    out = runner.invoke(args=["reminders", "dispatch", "--now", f"{start}T02:00:00+00:00"])
    assert out.exit_code == 0 and out.stdout.startswith("0 queued, 0 sent,"), out.output
    # The year's verdict: nothing handed in, nothing scored (the inspection still asks).
    result = verdict(village, start)
    assert result.total == 0
    row = next(r for r in result.rows.values() if r.node.code == "1-1-1")
    assert row.final == 0 and row.gap == "not_due"
    # A session held in March is recorded on its catch-up slot with its real date.
    manager = "li@example.org"
    first = sessions[0]
    record = tmp_path / "学习记录.jpg"
    record.write_bytes(samples.jpeg(40, 30))
    out = runner.invoke(args=["tasks", "submit", str(first.id), "--as", manager, "--note",
                              "3月学习", "--held", "2026-03-15", "--attendance", "7",
                              "--file", str(record)])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert first.held_on == date(YEAR, 3, 15) and first.status == TaskStatus.SUBMITTED


def test_publishing_again_from_a_later_day_keeps_the_record(units):
    """Re-published from 1 December: overdue, returned and finished work all stay; the
    office that never produced its documents does not climb to 100."""
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    office = units["office"]
    accept([t for t in tasks_of(office) if t.due_date <= date(YEAR, 4, 30)
            and t.duty.code != "opinion-mechanism"])
    returned, = tasks_of(office, "self-check-h1")
    returned.status = TaskStatus.RETURNED
    db.session.commit()
    now = at(date(YEAR, 12, 6))
    before = verdict(office, now.date())
    open_before = {t.id for t in tasks_of(office) if t.status in (TaskStatus.OPEN,
                                                                  TaskStatus.RETURNED)}
    result = load_plan(read_plan("shuyuan-2020"), YEAR, now, effective_from=date(YEAR, 12, 1))
    db.session.commit()
    assert result.tasks.cancelled == 0
    after = {t.id for t in tasks_of(office) if t.status in (TaskStatus.OPEN,
                                                            TaskStatus.RETURNED)}
    assert after == open_before
    assert tasks_of(office, "opinion-mechanism")[0].status == TaskStatus.OPEN
    assert verdict(office, now.date()).total == before.total < 100


def test_replacing_the_plan_keeps_overdue_and_returned_work(units):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    village = units["village"]
    overdue = [t.id for t in tasks_of(village) if t.due_date < date(YEAR, 12, 6)]
    other = parse_plan(BUNDLED.replace('name = "shuyuan-2020"', 'name = "shuyuan-2026"', 1)
                       .encode(), "other.toml")
    result = load_plan(other, YEAR, at(date(YEAR, 12, 6)), replace=True)
    db.session.commit()
    assert result.tasks.cancelled == 0
    assert all(db.session.get(Task, i).status == TaskStatus.OPEN for i in overdue)
    assert verdict(village, date(YEAR, 12, 6)).total == 0


def test_a_changed_plan_cancels_only_open_work_not_yet_due(units):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    village = units["village"]
    dropped = re.sub(r'\[\[duties\]\]\ncode = "articles".*?(?=\[\[duties\]\])', "", BUNDLED,
                     flags=re.S)
    dropped = dropped.replace('{ duties = "articles", at_least = 2, label = "在镇级平台上发布文章", '
                              'label_en = "Articles on a town platform", deduct = 2 },\n', "")
    dropped = dropped.replace("requires = [\n]\n", "")
    load_plan(parse_plan(dropped.encode(), "dropped.toml"), YEAR, at(date(YEAR, 7, 1)))
    db.session.commit()
    first, second = tasks_of(village, "articles")
    assert first.status == TaskStatus.OPEN  # due 06-30: overdue, kept
    assert second.status == TaskStatus.CANCELLED  # due 12-15: not yet due


def test_a_unit_added_in_december_scores_nothing_until_it_shows_evidence(units, create_unit):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    late = create_unit("新建村党支部", "village")
    db.session.commit()
    sync_loaded_years(at(date(YEAR, 12, 6)), [late.id])
    db.session.commit()
    assert tasks_of(late) and verdict(late, date(YEAR, 12, 6)).total == 0
    accept(tasks_of(late, "responsibility-docs"))
    assert verdict(late, date(YEAR, 12, 6)).raw == 6


def test_a_kind_changed_gets_the_new_kinds_work_and_keeps_its_record(units, app, client,
                                                                    login, create_user):
    app.config["WTF_CSRF_ENABLED"] = False
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    unit = units["enterprise"]
    accept(tasks_of(unit, "responsibility-docs"))
    admin = create_user("admin@example.org", "admin", units["coordinator"])
    db.session.commit()
    login(client, admin)
    response = client.post(f"/admin/units/{unit.id}", data={
        "name": unit.name, "kind": "institution", "active": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert unit.kind == UnitKind.INSTITUTION
    assert tasks_of(unit, "cultural-venues")  # the institution's culture row
    assert tasks_of(unit, "responsibility-docs")[0].status == TaskStatus.ACCEPTED


# -- each unit's rows as the town has them ----------------------------------------------

def test_branches_get_branch_committee_sessions_and_offices_no_party_documents(units):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    assert not tasks_of(units["branch"], "study-session")
    sessions = tasks_of(units["branch"], "branch-study-session")
    assert len(sessions) == 6 and "两委" not in sessions[0].title
    assert not tasks_of(units["office"], "work-plan")
    assert tasks_of(units["institution"], "cultural-venues")
    assert not tasks_of(units["enterprise"], "cultural-venues")


def refused(result, message):
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_exempt_and_include_from_the_command_line(units, runner, snapshot):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    village, enterprise = units["village"], units["enterprise"]
    out = runner.invoke(args=["unit", "exempt", village.name, "--row", "2-8-2", "--year",
                              str(YEAR), "--reason", "本村无宗教场所"])
    assert out.exit_code == 0, out.output
    result = verdict(village, date(YEAR, 12, 31))
    row = next(r for r in result.rows.values() if r.node.code == "2-8-2")
    assert not row.applicable and row.na_reason == "本村无宗教场所"
    assert result.possible == 98
    # The religion duty serves only 2-8-2: its open work is withdrawn, overdue or not (the
    # unit is no longer asked for it).
    religion = tasks_of(village, "religion-exchange")
    assert religion and {t.status for t in religion} == {TaskStatus.CANCELLED}
    out = runner.invoke(args=["unit", "include", enterprise.name, "--row", "2-7-1", "--year",
                              str(YEAR)])
    assert out.exit_code == 0, out.output
    assert tasks_of(enterprise, "cultural-venues")
    assert any(r.node.code == "2-7-1" and r.applicable
               for r in verdict(enterprise, date(YEAR, 12, 31)).rows.values())
    out = runner.invoke(args=["unit", "exempt", village.name, "--row", "2-8-2", "--year",
                              str(YEAR), "--clear"])
    assert out.exit_code == 0, out.output
    before = snapshot()
    for args, message in (
        (["unit", "exempt", village.name, "--row", "9-9-9", "--year", str(YEAR), "--reason",
          "x"], "no rubric row 9-9-9"),
        (["unit", "exempt", village.name, "--row", "2-8-2", "--year", "2031", "--reason",
          "x"], "No plan is loaded for 2031"),
        (["unit", "exempt", village.name, "--row", "2-8-2", "--year", str(YEAR), "--reason",
          "无\x07场所"], "Error:"),
        (["unit", "exempt", village.name, "--row", "2-8-2", "--year", str(YEAR)],
         "Give the reason"),
        (["unit", "include", village.name, "--row", "2-8-2", "--year", str(YEAR)],
         "applies to this unit's kind already"),
        (["unit", "exempt", "没有的单位", "--row", "2-8-2", "--year", str(YEAR), "--reason",
          "x"], "no unit named"),
    ):
        refused(runner.invoke(args=args), message)
    assert snapshot() == before


def test_ranks_within_the_plans_groups(units, client, login, create_user):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    accept(tasks_of(units["office"]))
    admin = create_user("admin@example.org", "admin", units["coordinator"])
    db.session.commit()
    login(client, admin)
    page = client.get(f"/assessment?year={YEAR}", headers={"Accept-Language": "zh-CN"}).text
    assert "机关 1" in page and "村居 1" in page and "企事业 1" in page
    assert "未定稿" in page
    english = client.get(f"/assessment?year={YEAR}", headers={"Accept-Language": "en"}).text
    assert "Offices and their branches 1" in english and "provisional" in english


# -- the document's words and the plan's ----------------------------------------------

def squash(text):
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("seed", [SEED, TEST_SEED], ids=["shared", "tests-data"])
def test_every_document_string_of_the_bundled_plan_stands_in_the_seed(seed):
    if not seed.exists():
        pytest.skip(f"{seed} is not here")
    text = squash(seed.read_text("utf-8"))
    spec = read_plan("shuyuan-2020")
    quoted = [(d.code, d.due["document"]) for d in spec.duties if d.due.get("document")]
    assert len(quoted) >= 25
    assert [(code, words) for code, words in quoted if squash(words) not in text] == []
    # The plan's own cadences stand apart, in due.note.
    study = next(d for d in spec.duties if d.code == "study-session")
    assert study.due["document"] == "每年集中学习研讨不少于6次"
    assert "每两个月" in study.due["note"] and "每两个月" not in study.due["document"]


def test_points_stay_decimal_in_the_scores(units):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    contingency = [t for t in tasks_of(units["village"]) if t.duty.code.startswith("contingency")]
    accept([t for t in tasks_of(units["village"]) if t not in contingency[:1]])
    row = next(r for r in verdict(units["village"], date(YEAR, 12, 31)).rows.values()
               if r.node.code == "2-3-2")
    assert row.final == Decimal("1.5")


def test_exempt_on_the_units_page(units, app, client, login, create_user):
    app.config["WTF_CSRF_ENABLED"] = False
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    admin = create_user("admin@example.org", "admin", units["coordinator"])
    db.session.commit()
    login(client, admin)
    village = units["village"]
    page = f"/admin/units/{village.id}"
    bad = client.post(f"{page}/rows", data={"year": YEAR, "code": "9-9-9", "mode": "exempt",
                                             "reason": "x"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 400 and "no rubric row 9-9-9" in bad.text
    done = client.post(f"{page}/rows", data={"year": YEAR, "code": "2-8-2", "mode": "exempt",
                                              "reason": "本村无宗教场所"})
    assert done.status_code == 302
    assert "本村无宗教场所" in client.get(page).text
    row = next(r for r in verdict(village, date(YEAR, 12, 31)).rows.values()
               if r.node.code == "2-8-2")
    assert not row.applicable and row.na_reason == "本村无宗教场所"
    sheet = client.get(f"/assessment/{YEAR}/units/{village.id}").text
    assert "本村无宗教场所" in sheet
    # Another user of the town may not.
    manager = create_user("li@example.org", "manager", village)
    db.session.commit()
    login(client, manager)
    refused_ = client.post(f"{page}/rows", data={"year": YEAR, "code": "2-8-1",
                                                 "mode": "exempt", "reason": "x"})
    assert refused_.status_code == 404  # the coordinator's one gate
    assert next(r for r in verdict(village, date(YEAR, 12, 31)).rows.values()
                if r.node.code == "2-8-1").applicable


def test_an_enterprise_and_its_own_party_branch_report_the_party_rows_once(units, runner):
    """镇资产经营公司 names its 党支部: 1-2-1 (党组织制定的文件) is asked of the branch only,
    and both sheets say where the evidence lives."""
    out = runner.invoke(args=["unit", "add", "资产公司党支部", "--kind", "branch"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(args=["unit", "add", "镇资产经营有限公司", "--kind", "enterprise",
                              "--party-org", "资产公司党支部"])
    assert out.exit_code == 0, out.output
    refused(runner.invoke(args=["unit", "add", "某公司", "--kind", "enterprise", "--party-org",
                                "党政办公室"]), "is not a party organisation")
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    company = db.session.scalar(sa.select(Unit).where(Unit.name == "镇资产经营有限公司"))
    branch = db.session.scalar(sa.select(Unit).where(Unit.name == "资产公司党支部"))
    assert not tasks_of(company, "work-plan") and tasks_of(branch, "work-plan")
    assert tasks_of(company, "duty-split")  # 1-2-2 is every unit's own
    accept(tasks_of(branch, "work-plan"))
    scored = results(plan_for_year(YEAR), YEAR, [company, branch], date(YEAR, 12, 31))
    mine = next(r for r in scored[company.id].rows.values() if r.node.code == "1-2-1")
    theirs = next(r for r in scored[branch.id].rows.values() if r.node.code == "1-2-1")
    assert mine.final == 2 and mine.evidence_at == "资产公司党支部"
    assert theirs.final == 2 and theirs.also_for == ["镇资产经营有限公司"]


def accept_all_but(unit, missing: str):
    """Every task of the unit accepted (the first session marked "on ideology") but the
    duty ``missing``'s."""
    for task in tasks_of(unit):
        if task.duty and task.duty.code != missing:
            task.status = TaskStatus.ACCEPTED
            if (task.duty.occurrence or {}).get("flags") and task.seq == 1:
                task.flags = [flag["code"] for flag in task.duty.occurrence["flags"]]
    db.session.commit()


@pytest.mark.parametrize("kind, missing, possible, raw, total", [
    # 2-2-1's 政务新媒体管理制度 missing: the row's 8 points.
    ("village", "new-media", 100, 92, Decimal("92")),
    # 2-3-1's 舆情处置流程图 missing: 2 of the 71 points a branch carries.
    ("branch", "opinion-mechanism", 71, 69, Decimal("97.2")),
    # 3-1-1's staff list is there, its 2 articles are not: the minimum's 2 points.
    ("office", "articles", 50, 48, Decimal("96.0")),
    # 4-1-1's 上半年自查记录 missing: 3 of 52.
    ("enterprise", "self-check-h1", 52, 49, Decimal("94.2")),
    # 2-7-1's 文化服务机构名册 missing: 6 of the 60 an institution carries.
    ("institution", "cultural-venues", 60, 54, Decimal("90.0")),
])
def test_each_kind_scored_by_hand_before_and_after_the_coordinator_acts(
        units, create_user, kind, missing, possible, raw, total):
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    db.session.commit()
    unit = units[kind]
    accept_all_but(unit, missing)
    before = verdict(unit, date(YEAR, 12, 31))
    assert (before.possible, before.raw, before.total) == (possible, raw, total)
    admin = create_user("admin@example.org", "admin", units["coordinator"])
    get_or_start(unit, plan_for_year(YEAR), YEAR, admin, at(date(YEAR, 12, 31)))
    db.session.commit()
    after = verdict(unit, date(YEAR, 12, 31))
    assert after.assessment is not None
    assert (after.possible, after.raw, after.total) == (possible, raw, total)
    assert sum(d.points for d in after.assessment.deductions) == possible - raw


def test_deductions_follow_the_units_own_rows(units, create_user):
    """A row the coordinator exempted takes no deduction; a row included for the unit
    does, as its kind's rows do."""
    load_plan(read_plan("shuyuan-2020"), YEAR, at(date(YEAR, 1, 5)))
    now = at(date(YEAR, 12, 6))
    set_row_rule(units["village"], YEAR, "2-8-2", RowRuleMode.EXEMPT, "本村无宗教场所", None, now)
    set_row_rule(units["enterprise"], YEAR, "2-7-1", RowRuleMode.INCLUDE, "", None, now)
    admin = create_user("admin@example.org", "admin", units["coordinator"])
    db.session.commit()
    row = {code: db.session.scalar(sa.select(RubricNode.id).where(RubricNode.code == code))
           for code in ("2-7-1", "2-8-2")}
    plan = plan_for_year(YEAR)
    village = get_or_start(units["village"], plan, YEAR, admin, now)
    with pytest.raises(TrackerError, match="does not apply"):
        add_deduction(village, row["2-8-2"], "1", "x", admin, now)
    db.session.rollback()
    enterprise = get_or_start(units["enterprise"], plan, YEAR, admin, now)
    before = sum(d.points for d in enterprise.deductions if d.node_id == row["2-7-1"])
    assert before == 6  # its cultural register is missing: the row's 6 points
    for deduction in [d for d in enterprise.deductions if d.node_id == row["2-7-1"]]:
        remove_deduction(enterprise, deduction, now)
    add_deduction(enterprise, row["2-7-1"], "1.5", "名册不全", admin, now)
    db.session.commit()
    assert verdict(units["enterprise"], date(YEAR, 12, 6)).rows[row["2-7-1"]].final == Decimal(
        "4.5")
