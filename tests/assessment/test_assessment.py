"""The year-end assessment: scores from evidence, deductions, locking, the scoring sheet."""

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tracker.assessment.models import Assessment, Deduction, DeductionSource
from tracker.assessment.scoring import rank, sheet_layout
from tracker.assessment.services import (add_deduction, get_or_start, lock,
                                         refresh_from_evidence, remove_deduction, results,
                                         set_self_assessment)
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today, utcnow
from tracker.extensions import db
from tracker.phases.models import Duty, RubricNode
from tracker.phases.planfile import read_plan
from tracker.phases.services import plan_for_year
from tracker.tasks.loading import load_plan
from tracker.tasks.models import Task, TaskStatus

SEED = (Path(__file__).parent.parent / "data" / "seed-shuyuan-2020.txt").read_text("utf-8")


def squash(text):
    return re.sub(r"\s+", "", text)


# -- pure ------------------------------------------------------------------------

def test_layout_of_the_bundled_rubric():
    layout = sheet_layout(read_plan("shuyuan-2020").rubric)
    assert len(layout.rows) == 32 and layout.total == 100
    assert sum(r.points for r in layout.rows) == 100
    assert [points for _, _, points in layout.groups] == [26, 46, 12, 6, 10]
    first = layout.rows[0]
    assert first.group_label == "1.加强组织领导（26分）" and first.group_span == 9
    assert first.item_span == 2 and first.requirement.startswith("1-1-1 明确领导班子一把手")
    last = layout.rows[-1]
    assert last.item_label == "" and not last.requirement.startswith("5-2")


def test_rank_shares_places():
    assert rank({"a": 90, "b": 95, "c": 90, "d": 80}) == {"b": 1, "a": 2, "c": 2, "d": 4}


# -- scores from evidence ----------------------------------------------------------

def accept_all(unit):
    """Every task of the unit accepted, one study session marked "on ideology": every
    minimum of the rubric met."""
    for task in db.session.scalars(sa.select(Task).where(Task.unit_id == unit.id)
                                   .order_by(Task.due_date)):
        task.status = TaskStatus.ACCEPTED
        if task.duty.occurrence and task.duty.occurrence["flags"] and not task.seq - 1:
            task.flags = [flag["code"] for flag in task.duty.occurrence["flags"]]
    db.session.commit()


def tasks_of_row(unit, code):
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == code))
    return db.session.scalars(
        sa.select(Task).join(Duty, Task.duty_id == Duty.id)
        .where(Task.unit_id == unit.id, Duty.rubric_rows.contains(node))).all()


def score(town, unit):
    plan = plan_for_year(town.year)
    return results(plan, town.year, [unit])[unit.id]


def row(result, code):
    return next(r for r in result.rows.values() if r.node.code == code)


def duty_tasks(unit, code):
    return db.session.scalars(
        sa.select(Task).join(Duty, Task.duty_id == Duty.id)
        .where(Task.unit_id == unit.id, Duty.code == code).order_by(Task.seq)).all()


def test_every_task_accepted_scores_100_and_missing_evidence_loses_exactly_its_row(town):
    accept_all(town.units.a)
    assert score(town, town.units.a).total == 100
    # 1-4-1's 扣分标准 "未能提供学习会议记录": no session record at all loses the row ...
    for task in duty_tasks(town.units.a, "study-session"):
        task.status = TaskStatus.OPEN
    db.session.commit()
    result = score(town, town.units.a)
    assert result.total == 96
    assert [r.node.code for r in result.rows.values() if r.final < r.node.points] == ["1-4-1"]
    # ... a task serving two rows (1-1-1 and 1-1-2) takes both when it is missing.
    duty_tasks(town.units.a, "responsibility-docs")[0].status = TaskStatus.OPEN
    db.session.commit()
    assert score(town, town.units.a).total == 90


def test_a_row_loses_points_only_for_what_its_deduction_standard_names(town):
    """The evidence a 扣分标准 names keeps its row; a minimum of the 工作要求 not met costs
    the plan's amount at once, before the coordinator does anything: four of six sessions
    (−2 of 1-4-1), no article (−2 of 3-1-1), one contingency plan short (−0.5 of 2-3-2);
    one of the two topic meetings is enough for 1-5-1 ("不少于1次")."""
    accept_all(town.units.a)
    for code, slots in (("study-session", [1, 2]), ("articles", [0, 1]),
                        ("topic-meeting", [1]), ("contingency-june-fourth", [0])):
        for i in slots:
            duty_tasks(town.units.a, code)[i].status = TaskStatus.OPEN
    db.session.commit()
    result = score(town, town.units.a)
    shortfalls = {r.node.code: [(m.label, m.count, m.at_least) for m in r.minimums if not m.met]
                  for r in result.rows.values() if any(not m.met for m in r.minimums)}
    assert shortfalls == {"1-4-1": [("集中学习研讨", 4, 6)],
                          "3-1-1": [("在镇级平台上发布文章", 0, 2)],
                          "2-3-2": [("重要敏感节点舆情应对预案", 3, 4)]}
    assert row(result, "1-4-1").final == 2 and row(result, "1-4-1").met
    assert row(result, "3-1-1").final == 4 and row(result, "3-1-1").met
    assert row(result, "2-3-2").final == Decimal("1.5")
    assert row(result, "1-5-1").final == 4
    assert result.total == Decimal("95.5")


def test_an_office_sheet_has_rows_that_do_not_apply_and_a_total_by_the_plans_rule(
        town, create_unit, client, login):
    office = create_unit("党政办公室", "office")
    load_plan(read_plan("shuyuan-2020"), town.year, utcnow())
    accept_all(office)
    result = score(town, office)
    not_applicable = [r.node.code for r in result.rows.values() if not r.applicable]
    assert "1-4-1" in not_applicable and "2-5-1" in not_applicable and "5-1" in not_applicable
    assert "1-1-1" not in not_applicable and "3-1-1" not in not_applicable
    # 1-2-1 (党组织制定的…文件) is a party organisation's: not asked of an office.
    assert "1-2-1" in not_applicable and "1-2-2" not in not_applicable
    assert result.possible == 50 and result.raw == 50 and result.total == 100
    # Rescaled: the points kept over the points that apply, out of 100.
    duty_tasks(office, "new-media")[0].status = TaskStatus.OPEN  # 2-2-1: 8 points
    db.session.commit()
    result = score(town, office)
    assert result.raw == 42 and result.total == Decimal("84.0")
    # No duty of a row that does not apply reaches the office.
    assert not duty_tasks(office, "study-session") and not duty_tasks(office, "brand-project")
    assert not duty_tasks(office, "work-plan") and duty_tasks(office, "duty-split")
    login(client, town.users.admin)
    page = client.get(f"/assessment/{town.year}/units/{office.id}")
    assert page.status_code == 200
    assert page.text.count("不适用") == len(not_applicable)
    assert 'data-testid="raw-total"' in page.text and ">84<" in page.text
    assert 'data-testid="possible">50<' in page.text
    csv_rows = list(csv.reader(io.StringIO(client.get(
        f"/assessment/{town.year}/export.csv?unit={office.id}").text.lstrip("\ufeff"))))
    scores = {r[3].split(" ")[0]: r[6] for r in csv_rows[1:] if r[3]}
    assert scores["1-4-1"] == "不适用" and scores["1-1-1"] == "3"
    # 合计: the points that apply (50) and those kept; then the line rescaled to 100.
    assert csv_rows[-2][1:] == ["合计", "", "", "", "50", "42"]
    assert csv_rows[-1][1].startswith("按适用分值（50分）折算") and csv_rows[-1][5:] == [
        "100", "84"]


def test_the_full_rule_counts_rows_that_do_not_apply_in_full(town, create_unit):
    office = create_unit("党政办公室", "office")
    load_plan(read_plan("shuyuan-2020"), town.year, utcnow())
    plan_for_year(town.year).not_applicable = "full"  # as a plan saying so would
    accept_all(office)
    duty_tasks(office, "new-media")[0].status = TaskStatus.OPEN
    db.session.commit()
    assert score(town, office).total == 92


def test_deductions_and_self_assessment_are_refused_on_rows_that_do_not_apply(
        town, create_unit, snapshot):
    office = create_unit("党政办公室", "office")
    load_plan(read_plan("shuyuan-2020"), town.year, utcnow())
    plan = plan_for_year(town.year)
    assessment = get_or_start(office, plan, town.year, town.users.admin, utcnow())
    db.session.commit()
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    before = snapshot()
    for attempt in (
        lambda: add_deduction(assessment, node.id, "1", "x", town.users.admin, utcnow()),
        lambda: set_self_assessment(assessment, node.id, "4", "", "", utcnow()),
    ):
        with pytest.raises(TrackerError, match="does not apply"):
            attempt()
        db.session.rollback()
    assert snapshot() == before


def test_a_shortfall_counts_at_once_and_the_coordinator_may_waive_it(app, town, client,
                                                                      login, snapshot):
    app.config["WTF_CSRF_ENABLED"] = False
    accept_all(town.units.a)
    for task in duty_tasks(town.units.a, "articles"):
        task.status = TaskStatus.OPEN
    db.session.commit()
    # Before anyone acts: 3-1-1's staff list is there, its articles 0/2 cost the plan's 2.
    assert row(score(town, town.units.a), "3-1-1").final == 4
    login(client, town.users.admin)
    sheet = f"/assessment/{town.year}/units/{town.units.a.id}"
    assert 'data-testid="provisional"' in client.get(f"/assessment?year={town.year}").text
    client.post(f"{sheet}/start")
    result = score(town, town.units.a)
    assert [(d.node.code, d.points, d.reason) for d in result.assessment.deductions] == [
        ("3-1-1", Decimal("2"),
         "未达到《工作方案》要求：在镇级平台上发布文章 0/2（扣2分为本系统设定）")]
    assert result.total == 98
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "3-1-1"))
    before = snapshot()
    for data, message in (({"label": "在镇级平台上发布文章", "reason": " "}, "Give the reason"),
                          ({"label": "不存在", "reason": "x"}, "no such minimum"),
                          ({"label": "在镇级平台上发布文章", "reason": "a\x00"}, "")):
        response = client.post(f"{sheet}/waivers", data={"node_id": node.id, **data},
                               headers={"Accept-Language": "en"})
        assert response.status_code == 400 and message in response.text
    assert snapshot() == before
    client.post(f"{sheet}/waivers", data={"node_id": node.id, "label": "在镇级平台上发布文章",
                                          "reason": "镇级平台本年度停刊"})
    result = score(town, town.units.a)
    assert row(result, "3-1-1").final == 6 and result.total == 100
    assert not result.assessment.deductions
    assert "镇级平台本年度停刊" in client.get(sheet).text
    # Recomputing from the evidence keeps the waiver.
    client.post(f"{sheet}/refresh")
    assert score(town, town.units.a).total == 100


def test_deductions_are_records_and_the_lock_holds(town, snapshot):
    accept_all(town.units.a)
    duty_tasks(town.units.a, "new-media")[0].status = TaskStatus.RETURNED
    db.session.commit()
    now = utcnow()
    plan = plan_for_year(town.year)
    assessment = get_or_start(town.units.a, plan, town.year, town.users.admin, now)
    db.session.commit()
    evidence = [d for d in assessment.deductions]
    assert [(d.node.code, d.points, d.source) for d in evidence] == [
        ("2-2-1", Decimal("8"), DeductionSource.EVIDENCE)]
    assert evidence[0].reason.startswith("未能提供政务新媒体相关管理制度")
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    add_deduction(assessment, node.id, "1.5", "学习记录不全", town.users.admin, now)
    db.session.commit()
    assert score(town, town.units.a).total == Decimal("90.5")

    # The work is accepted after all: recomputing drops the evidence deduction.
    duty_tasks(town.units.a, "new-media")[0].status = TaskStatus.ACCEPTED
    refresh_from_evidence(assessment, town.users.admin, now)
    db.session.commit()
    assert score(town, town.units.a).total == Decimal("98.5")

    lock(assessment, town.users.admin, now)
    db.session.commit()
    before = snapshot()
    for attempt in (
        lambda: add_deduction(assessment, node.id, "1", "x", town.users.admin, now),
        lambda: remove_deduction(assessment, assessment.deductions[0], now),
        lambda: set_self_assessment(assessment, node.id, "4", "", "", now),
        lambda: refresh_from_evidence(assessment, town.users.admin, now),
        lambda: lock(assessment, town.users.admin, now),
    ):
        with pytest.raises(TrackerError, match="locked"):
            attempt()
        db.session.rollback()
    assert snapshot() == before


@pytest.mark.parametrize("points, reason, message", [
    ("5", "超过本项分值", "would fall below zero"),
    ("0", "零分", "more than 0 points"),
    ("-1", "负数", "more than 0 points"),
    ("abc", "x", "is not a number"),
    ("1.25", "x", "at most one decimal"),
    ("1", "  ", "Give the reason"),
])
def test_bad_deductions_are_refused(town, snapshot, points, reason, message):
    plan = plan_for_year(town.year)
    assessment = get_or_start(town.units.a, plan, town.year, town.users.admin, utcnow())
    db.session.commit()
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    before = snapshot()
    with pytest.raises(TrackerError, match=message):
        add_deduction(assessment, node.id, points, reason, town.users.admin, utcnow())
    db.session.rollback()
    assert snapshot() == before


@pytest.mark.parametrize("code, score_, statement, message", [
    ("1-4-1", "4.5", "", "between 0 and 4"),
    ("1-4-1", "-1", "", "between 0 and 4"),
    ("3-3-1", "3", "说" * 501, "501 characters; at most 500"),
    ("1-4-1", "3", "说明", "asks for no written statement"),
])
def test_bad_self_assessment_is_refused(town, snapshot, code, score_, statement, message):
    plan = plan_for_year(town.year)
    assessment = get_or_start(town.units.a, plan, town.year, town.users.manager, utcnow())
    db.session.commit()
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == code))
    before = snapshot()
    with pytest.raises(TrackerError, match=message):
        set_self_assessment(assessment, node.id, score_, "", statement, utcnow())
    db.session.rollback()
    assert snapshot() == before


def test_statement_cap_counts_characters(town):
    plan = plan_for_year(town.year)
    assessment = get_or_start(town.units.a, plan, town.year, town.users.manager, utcnow())
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "5-1"))
    row = set_self_assessment(assessment, node.id, "6", "已开展", "品" * 800, utcnow())
    assert len(row.statement) == 800 and len(row.statement.encode()) == 2400


# -- the scoring sheet ---------------------------------------------------------------

def test_xlsx_matches_the_annex(client, town, login):
    accept_all(town.units.a)
    login(client, town.users.admin)
    response = client.get(f"/assessment/{town.year}/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "汇总"
    summary = list(book["汇总"].iter_rows(min_row=3, values_only=True))
    assert summary[0][:3] == (1, "村居 1", "洋溢村党总支") and summary[0][-2:] == (100, "未定稿")
    assert summary[0][3] == "26 / 26"
    sheet = book["洋溢村党总支"]
    assert [c.value for c in sheet[2]] == ["一级项目", "二级项目", "工作要求", "扣分标准",
                                           "分值", "得分"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    body, total = rows[:-1], rows[-1]
    assert len(body) == 32
    assert sum(r[4] for r in body) == 100 and total[0] == "合计" and total[4:] == (100, 100)
    # A village whose work is missing scores 0 on those rows (no points for nothing).
    other = list(book["新北村党支部"].iter_rows(min_row=3, values_only=True))
    assert other[-1][0] == "合计" and other[-1][5] < 100
    seed = squash(SEED)
    groups = {}
    current = None
    for row in body:
        current = row[0] or current
        groups[current] = groups.get(current, 0) + row[4]
        assert squash(row[2]) in seed and squash(row[3]) in seed
    assert list(groups.values()) == [26, 46, 12, 6, 10]
    merged = {str(m) for m in sheet.merged_cells.ranges}
    assert "A3:A11" in merged and "B3:B4" in merged  # group 1 spans 9 rows, 1-1 two
    # Codes as the seed writes them: "2-3-3正确应对", "2-1学习…", but "1-1 健全…".
    requirements = [r[2] for r in body]
    assert any(r.startswith("2-3-3正确应对") for r in requirements)
    assert any(r.startswith("1-1-1 明确") for r in requirements)
    items = {r[1] for r in body if r[1]}
    assert any(i.startswith("2-1学习") for i in items) and any(i.startswith("2-6 利用")
                                                              for i in items)
    # Rows have heights (wrapped text fits); the summary prints on A4 landscape.
    assert all(sheet.row_dimensions[n].height for n in range(3, 3 + 32))
    assert book["汇总"].page_setup.orientation == "landscape"
    assert book["汇总"].print_title_rows == "$1:$2"


def test_csv_export_and_the_print_view(client, town, login):
    login(client, town.users.manager)
    response = client.get(f"/assessment/{town.year}/export.csv",
                          query_string={"unit": town.units.b.id})  # ignored: own unit only
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["单位", "一级项目", "二级项目", "工作要求", "扣分标准", "分值", "得分"]
    assert {r[0] for r in rows[1:]} == {"洋溢村党总支"} and len(rows) == 1 + 33
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    page = client.get(f"/assessment/{town.year}/units/{town.units.a.id}/print")
    assert page.status_code == 200 and "print.css" in page.text
    # 合计 once, at the end: not a <tfoot>, which a printout repeats on every page.
    assert "<tfoot" not in page.text and page.text.count("合计") == 1
    assert client.get(f"/assessment/{town.year}/units/{town.units.b.id}").status_code == 404


def test_coordinator_flow_in_the_browser_forms(app, client, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    accept_all(town.units.a)
    tasks_of_row(town.units.a, "3-2-1")[0].status = TaskStatus.OPEN
    db.session.commit()
    login(client, town.users.admin)
    base = f"/assessment/{town.year}/units/{town.units.a.id}"
    assert client.post(f"{base}/start").status_code == 302
    page = client.get(base).text
    assert 'data-testid="total"><strong>97</strong>' in page
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    response = client.post(f"{base}/deductions", data={"node_id": node.id, "points": "9",
                                                       "reason": "x"})
    assert response.status_code == 400 and "below zero" in response.text
    deduction = db.session.scalar(sa.select(Deduction))
    # A 整改 falls due on a working day (a day off typed by hand is refused).
    from tracker.workdays.services import work_calendar
    due = work_calendar().working_on_or_after(max(date(town.year, 12, 21),
                                                  local_today(utcnow(), "Asia/Shanghai")))
    response = client.post(f"{base}/deductions/{deduction.id}/rectify",
                           data={"due_date": due.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    task = db.session.get(Deduction, deduction.id).rectification_task
    assert task.unit_id == town.units.a.id and task.title.startswith("整改：3-2-1")
    overview = client.get("/assessment", query_string={"year": town.year})
    assert overview.status_code == 200 and "洋溢村党总支" in overview.text
    assert client.post(f"{base}/lock").status_code == 302
    response = client.post(f"{base}/deductions", data={"node_id": node.id, "points": "1",
                                                       "reason": "x"})
    assert response.status_code == 400 and "locked" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deduction)) == 1


def test_manager_self_assesses_but_cannot_deduct(app, client, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, town.users.manager)
    base = f"/assessment/{town.year}/units/{town.units.a.id}"
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    response = client.post(f"{base}/self", data={"node_id": node.id, "score": "4",
                                                 "note": "已学习6次"})
    assert response.status_code == 302
    assert client.post(f"{base}/deductions", data={"node_id": node.id, "points": "1",
                                                   "reason": "x"}).status_code == 404
    assert client.post(f"{base}/lock").status_code == 404
    viewer = login(app.test_client(), town.users.viewer)
    assert viewer.post(f"{base}/self", data={"node_id": node.id, "score": "4"}).status_code == 403
    assert db.session.scalar(sa.select(Assessment.locked_at)) is None


def test_a_managers_self_assessment_does_not_begin_the_assessment(app, client, town, login):
    """``/start`` is the coordinator's; a manager saving a self-assessment first must not
    begin it either (no deductions in the manager's name, the sheet still "not begun")."""
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, town.users.manager)
    base = f"/assessment/{town.year}/units/{town.units.a.id}"
    assert client.post(f"{base}/start").status_code == 404
    node = db.session.scalar(sa.select(RubricNode).where(RubricNode.code == "1-4-1"))
    response = client.post(f"{base}/self", data={"node_id": node.id, "score": "4",
                                                 "note": "已学习6次"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deduction)) == 0
    page = client.get(base).text
    assert "Not begun" in page and "已学习6次" in page
    plan = plan_for_year(town.year)
    result = results(plan, town.year, [town.units.a])[town.units.a.id]
    assert result.assessment is None and result.rows[node.id].self_score == 4
    # The coordinator begins it: the evidence deductions, in the coordinator's name, and
    # the unit's self-assessment kept.
    admin = login(app.test_client(), town.users.admin)
    assert admin.post(f"{base}/start").status_code == 302
    db.session.expire_all()
    makers = set(db.session.scalars(sa.select(Deduction.created_by_id)))
    assert makers == {town.users.admin.id}
    result = results(plan, town.year, [town.units.a])[town.units.a.id]
    assert result.assessment is not None and result.rows[node.id].self_score == 4


def test_cli_export(runner, town, tmp_path):
    out = tmp_path / "sheet.xlsx"
    result = runner.invoke(args=["assessment", "export", "--year", str(town.year), "-o",
                                 str(out)])
    assert result.exit_code == 0, result.output
    names = load_workbook(out).sheetnames
    assert names[0] == "汇总" and set(names[1:]) == {"洋溢村党总支", "新北村党支部"}
    out_csv = tmp_path / "unit.csv"
    result = runner.invoke(args=["assessment", "export", "--year", str(town.year), "--unit",
                                 "新北村党支部", "-o", str(out_csv)])
    assert result.exit_code == 0 and out_csv.read_text("utf-8-sig").count("新北村党支部") == 33
    for args, message in (
        (["--year", str(town.year), "-o", str(tmp_path / "x.pdf")], "must end in .xlsx or .csv"),
        (["--year", "2099", "-o", str(out)], "No plan is loaded for 2099"),
        (["--year", str(town.year), "--unit", "火星村", "-o", str(out)], "no unit named"),
    ):
        result = runner.invoke(args=["assessment", "export", *args])
        assert result.exit_code == 2 and message in result.stderr, result.output
