"""The year-end cycle as the document runs it: 督导, 年中评估, 群众评议, 抽查 → 综合考评 →
反馈 → 整改, from the command line and the pages."""

import csv
import io
import re
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from tracker.assessment.cycle import draw
from tracker.assessment.models import Assessment
from tracker.assessment.records import AssessmentInput, Feedback, Finding, SpotDraw, Survey
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today, utcnow
from tracker.extensions import db
from tracker.phases.services import plan_for_year
from tracker.reminders.models import Channel, Notification, OutboxMessage
from tracker.tasks.models import Task, TaskStatus
from tracker.tasks.services import review, submit
from tracker.workdays.services import work_calendar

A, B = "洋溢村党总支", "新北村党支部"


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def refused(result, message):
    """Exit code 2, ``Error: …`` on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error:") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def working_day(day: date) -> date:
    return work_calendar().working_on_or_after(day)


def day_off(after: date) -> date:
    day = after
    while work_calendar().is_working(day):
        day += timedelta(days=1)
    return day


def test_a_draw_with_the_same_seed_gives_the_same_units():
    pool = [f"单位{i:02d}" for i in range(40)]
    first = draw(pool, 5, "2026-抽查")
    assert draw(list(reversed(pool)), 5, "2026-抽查") == first
    assert draw(pool, 5, "another seed") != first
    assert len(set(first)) == 5 and set(first) <= set(pool)


def test_sample_is_recorded_and_reproducible(town, runner):
    out = ok(runner.invoke(args=["assessment", "sample", "--year", str(town.year),
                                 "--count", "1", "--seed", "s1"]))
    again = ok(runner.invoke(args=["assessment", "sample", "--year", str(town.year),
                                   "--count", "1", "--seed", "s1"]))
    draws = db.session.scalars(sa.select(SpotDraw).order_by(SpotDraw.id)).all()
    assert [d.seed for d in draws] == ["s1", "s1"] and draws[0].drawn == draws[1].drawn
    assert draws[0].drawn[0] in out and draws[0].pool == sorted([A, B])
    assert out.splitlines()[1:] == again.splitlines()[1:]
    refused(runner.invoke(args=["assessment", "sample", "--year", str(town.year),
                                "--count", "3"]), "Draw from 1 to 2 units")


def test_bad_input_writes_nothing(town, runner, snapshot, tmp_path):
    year = str(town.year)
    before = snapshot()
    for args, message in [
        (["deduct", "--year", year, "--unit", A, "--row", "9-9-9", "--points", "1",
          "--reason", "x"], "no rubric row"),
        (["deduct", "--year", year, "--unit", "无此单位", "--row", "1-4-1", "--points", "1",
          "--reason", "x"], "no unit named"),
        (["deduct", "--year", year, "--unit", A, "--row", "1-4-1", "--points", "99",
          "--reason", "x"], "fall below zero"),
        (["input", "--year", year, "--unit", A, "--kind", "midyear", "--score", "101"],
         "between 0 and 100"),
        (["input", "--year", year, "--unit", A, "--kind", "midyear"], "--score N or --grade"),
        (["input", "--year", year, "--unit", A, "--kind", "midyear", "--score", "9",
          "--grade", "优"], "--score N or --grade"),
        (["input", "--year", year, "--unit", "镇党委宣传办", "--kind", "midyear", "--score",
          "9"], "not assessed"),
        (["rectify", "--year", year, "--unit", A, "--finding", "1", "--title", "t",
          "--due", f"{town.year + 1}-01-15"], "has no finding 1"),
        (["lock", "--year", year], "no begun assessment"),
        (["feedback", "--year", year, "--unit", A], "give -o FILE.pdf, --send"),
        (["feedback", "--year", year, "--unit", A, "--send"], "Begin the assessment"),
        (["visit", "--unit", A, "--date", "2999-01-01", "--by", "x"], "future"),
    ]:
        refused(runner.invoke(args=["assessment", *args]), message)
    bad = tmp_path / "bad.csv"
    bad.write_text("单位名称,总分\n洋溢村党总支,90\n不存在的村,80\n", encoding="utf-8")
    refused(runner.invoke(args=["assessment", "input-import", str(bad), "--year", year,
                                "--kind", "public"]), "不存在的村")
    assert snapshot() == before


def test_the_whole_cycle_for_two_units(app, town, runner, client, login, tmp_path):
    """督导 → 年中评估 (table import) → 抽查 → begin, deduct → 整改 → lock → 反馈单 issued,
    read back and acknowledged → 整改 submitted and accepted in January of the next year,
    with no plan loaded for it."""
    app.config["WTF_CSRF_ENABLED"] = False
    year, next_year = town.year, town.year + 1
    today = local_today(utcnow(), "Asia/Shanghai")
    y = str(year)
    # 日常督导: a visit to each village with what it found.
    out = ok(runner.invoke(args=["assessment", "visit", "--unit", A, "--date",
                                 today.isoformat(), "--by", "宣传办 张三、李四",
                                 "--finding", "意识形态阵地台账不全"]))
    out_b = ok(runner.invoke(args=["assessment", "visit", "--unit", B, "--date",
                                   today.isoformat(), "--by", "宣传办 王五",
                                   "--finding", "宣传栏内容未及时更新"]))
    finding_a = db.session.scalar(sa.select(Finding).where(Finding.text == "意识形态阵地台账不全"))
    finding_b = db.session.scalar(sa.select(Finding).where(Finding.text == "宣传栏内容未及时更新"))
    assert f"findings: {finding_a.id}" in out and f"findings: {finding_b.id}" in out_b
    # 年中评估 from one sheet for all units (xlsx), 群众评议 from a 问卷星-shaped CSV.
    book = Workbook()
    book.active.append(["序号", "单位名称", "评估得分", "备注"])
    book.active.append([1, A, 88.5, ""])
    book.active.append([2, B, 91, ""])
    book.save(tmp_path / "midyear.xlsx")
    ok(runner.invoke(args=["assessment", "input-import", str(tmp_path / "midyear.xlsx"),
                           "--year", y, "--kind", "midyear"]))
    survey = tmp_path / "wjx.csv"
    survey.write_bytes("序号,提交答卷时间,1、单位,总分\n1,2026/11/2,洋溢村党总支,90\n"
                       "2,2026/11/2,洋溢村党总支,100\n3,2026/11/3,新北村党支部,80\n"
                       .encode("gb18030"))
    ok(runner.invoke(args=["assessment", "input-import", str(survey), "--year", y,
                           "--kind", "public"]))
    # 抽查: one unit drawn, its result recorded.
    ok(runner.invoke(args=["assessment", "sample", "--year", y, "--count", "1",
                           "--seed", "cycle"]))
    drawn = db.session.scalar(sa.select(SpotDraw)).drawn[0]
    ok(runner.invoke(args=["assessment", "input", "--year", y, "--unit", drawn, "--kind",
                           "spot", "--grade", "合格", "--note", "抽查资料齐全"]))
    # The assessment: the year's work accepted but A's briefing, begun for all (the
    # evidence deduction for A's 1-5-2), the coordinator's own deductions with reasons.
    for task in db.session.scalars(sa.select(Task).where(Task.year == year)):
        task.status = TaskStatus.ACCEPTED
    for task in db.session.scalars(sa.select(Task).join(Task.duty).where(
            Task.unit_id == town.units.a.id, Task.duty.has(code="briefing"))):
        task.status = TaskStatus.OPEN
    db.session.commit()
    ok(runner.invoke(args=["assessment", "begin", "--year", y]))
    ok(runner.invoke(args=["assessment", "deduct", "--year", y, "--unit", A, "--row", "1-4-1",
                           "--points", "1.5", "--reason", "学习研讨记录缺少两次"]))
    ok(runner.invoke(args=["assessment", "deduct", "--year", y, "--unit", B, "--row", "2-1-1",
                           "--points", "1", "--reason", "意识形态阵地管理制度未上墙"]))
    # 整改: a Saturday is refused with the working days nearest it; January is taken,
    # though no plan is loaded for the next year.
    with pytest.raises(TrackerError, match="No plan is loaded"):
        plan_for_year(next_year)
    saturday = day_off(date(next_year, 1, 5))
    refused(runner.invoke(args=["assessment", "rectify", "--year", y, "--unit", A, "--row",
                                "1-4-1", "--title", "补齐学习研讨记录", "--due",
                                saturday.isoformat()]), "is a day off")
    refused(runner.invoke(args=["assessment", "rectify", "--year", y, "--unit", A, "--row",
                                "1-4-1", "--title", "补齐学习研讨记录", "--due",
                                f"{next_year}-04-15"]), f"{next_year}-03-31")
    due = working_day(date(next_year, 1, 12))
    ok(runner.invoke(args=["assessment", "rectify", "--year", y, "--unit", A, "--row", "1-4-1",
                           "--title", "补齐学习研讨记录", "--due", due.isoformat()]))
    ok(runner.invoke(args=["assessment", "rectify", "--year", y, "--unit", B, "--finding",
                           str(finding_b.id), "--title", "更新宣传栏", "--due",
                           due.isoformat()]))
    refused(runner.invoke(args=["assessment", "rectify", "--year", y, "--unit", B, "--finding",
                                str(finding_b.id), "--title", "again", "--due",
                                due.isoformat()]), "exists for this finding already")
    task_a = db.session.scalar(sa.select(Task).where(Task.title == "补齐学习研讨记录"))
    task_b = db.session.scalar(sa.select(Task).where(Task.title == "更新宣传栏"))
    assert (task_a.year, task_a.due_date, task_a.unit.name) == (next_year, due, A)
    # The task shows in the next year's list, as any task.
    listed = ok(runner.invoke(args=["tasks", "list", "--unit", A, "--year", str(next_year),
                                    "--format", "csv"]))
    assert "补齐学习研讨记录" in listed
    # ... in the unit's calendar feed of that year, and in the reminders ahead of it.
    ok(runner.invoke(args=["ics", "export", "--unit", A, "--year", str(next_year), "-o",
                           str(tmp_path / "a.ics")]))
    assert "补齐学习研讨记录" in (tmp_path / "a.ics").read_text("utf-8")
    before = working_day(due - timedelta(days=7))
    ok(runner.invoke(args=["reminders", "dispatch", "--now", f"{before}T09:00:00+08:00"]))
    from tracker.reminders.models import ReminderLedgerEntry
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderLedgerEntry)
                             .where(ReminderLedgerEntry.task_id == task_a.id)) >= 1
    ok(runner.invoke(args=["assessment", "lock", "--year", y]))
    refused(runner.invoke(args=["assessment", "deduct", "--year", y, "--unit", A, "--row",
                                "1-4-1", "--points", "1", "--reason", "late"]), "locked")
    # The 反馈单: PDF read back with every deduction and its reason; issued to both.
    pdf = tmp_path / "a.pdf"
    ok(runner.invoke(args=["assessment", "feedback", "--year", y, "--unit", A, "-o", str(pdf),
                           "--send"]))
    ok(runner.invoke(args=["assessment", "feedback", "--year", y, "--unit", B, "--send"]))
    text = "".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                                  capture_output=True, text=True).stdout.split())
    assessment = db.session.scalar(sa.select(Assessment).where(Assessment.unit == task_a.unit))
    assert assessment.deductions and len(assessment.deductions) > 1  # evidence and own
    for deduction in assessment.deductions:
        assert "".join(deduction.reason.split()) in text, deduction.reason
    for words in ("问题反馈单", "意识形态阵地台账不全", "补齐学习研讨记录", due.isoformat(),
                  "年中评估", "88.5", "群众评议", "95", "导入：wjx.csv（2条平均）"):
        assert words in text, words
    # Mail, robot and inbox: every person of each unit is told.
    for user in (town.users.manager, town.users.viewer, town.users.other):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.channel == Channel.MAIL,
            OutboxMessage.key.like("feedback:%"))) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.kind == "feedback")) == 1
    # The coordinator sees who has not acknowledged; a unit acknowledges on its page.
    login(client, town.users.admin)
    page = client.get(f"/assessment/{year}/feedback").text
    assert page.count("Not acknowledged") == 2
    login(client, town.users.manager)
    response = client.get(f"/assessment/{year}/units/{town.units.a.id}/feedback")
    assert response.status_code == 200 and "学习研讨记录缺少两次" in response.text
    sheet_page = client.get(f"/assessment/{year}/units/{town.units.a.id}").text
    assert "not acknowledged yet" in sheet_page
    inbox = client.get("/inbox").text
    assert "Feedback sheet issued" in inbox and f"{A} {year} 年度问题反馈单" in inbox
    response = client.post(f"/assessment/{year}/units/{town.units.a.id}/feedback/acknowledge")
    assert response.status_code == 302, response.text
    assert client.post(f"/assessment/{year}/units/{town.units.b.id}/feedback/acknowledge"
                       ).status_code == 404
    login(client, town.users.admin)
    page = client.get(f"/assessment/{year}/feedback").text
    assert page.count("Not acknowledged") == 1
    # Next year's plan loaded: the unit's sheet of that year lists the 整改 still open.
    ok(runner.invoke(args=["plan", "load", "shuyuan-2020", "--year", str(next_year)]))
    login(client, town.users.manager)
    page = client.get(f"/assessment/{next_year}/units/{town.units.a.id}").text
    assert f"整改 of {year} still open" in page and "补齐学习研讨记录" in page
    assert db.session.get(Task, task_a.id).status == TaskStatus.OPEN
    login(client, town.users.admin)
    # January of the next year: the units do their 整改, the coordinator accepts it.
    january = datetime(next_year, 1, 8, 2, tzinfo=timezone.utc)
    for task, user in ((task_a, town.users.manager), (task_b, town.users.other)):
        submit(task, user, "已补齐并上传", "", january)
        review(task, town.users.admin, True, "", january + timedelta(days=1))
    db.session.commit()
    assert {t.status for t in (task_a, task_b)} == {TaskStatus.ACCEPTED}
    text = client.get(f"/assessment/{year}/units/{town.units.a.id}/feedback/print").text
    assert "审核通过" in text and "逾期未完成" not in text
    inputs = db.session.scalars(sa.select(AssessmentInput)).all()
    assert {(i.unit.name, i.kind.value) for i in inputs} >= {(A, "midyear"), (B, "public")}
    assert db.session.scalar(sa.select(Feedback).where(
        Feedback.unit_id == town.units.a.id)).acknowledged_by_id == town.users.manager.id


def test_an_adhoc_task_on_a_day_off_is_refused_with_the_nearest_working_days(town):
    from tracker.tasks.services import create_adhoc

    saturday = day_off(date(town.year, 9, 1))
    before, after = work_calendar().nearest_working_days(saturday)
    with pytest.raises(TrackerError) as refused_:
        create_adhoc(town.users.admin, [town.units.a], "临时任务", "", saturday, utcnow())
    message = str(refused_.value)
    assert "is a day off" in message and before.isoformat() in message \
        and after.isoformat() in message
    assert work_calendar().is_working(before) and work_calendar().is_working(after)


def test_the_questionnaire_is_anonymous_once_per_device_and_throttled(app, town, client,
                                                                      login):
    """No sign-in; a second answer from the same device is refused; a flood from one
    address is refused; the coordinator sees only counts; nobody else sees them."""
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["SURVEY_MAX_PER_ADDRESS"] = 3
    year = town.year
    login(client, town.users.admin)
    assert client.post(f"/assessment/{year}/surveys").status_code == 302
    page = client.get(f"/assessment/{year}/cycle").text
    links = re.findall(r'href="http://[^"]*(/survey/[A-Za-z0-9_-]+)"', page)
    assert len(links) == 2 and "<svg" in page  # a link and a QR code per unit
    client.get("/logout")
    link = links[0]
    voter = app.test_client()
    assert "是否满意" in voter.get(link).text  # no sign-in; the device's cookie is set
    assert voter.post(link, data={"choice": "满意"}).status_code == 200
    again = voter.post(link, data={"choice": "不满意"})
    assert again.status_code == 409  # the same device
    # Other devices (fresh cookies) from the same address: the flood stops at the limit.
    codes = []
    for choice in ("基本满意", "不满意", "满意"):
        other = app.test_client()
        other.get(link)
        codes.append(other.post(link, data={"choice": choice}).status_code)
    assert codes == [200, 200, 429]
    # A device without the cookie cannot answer.
    bare = app.test_client()
    assert bare.post(link, data={"choice": "满意"}).status_code == 400
    # From another address the next device is taken.
    other = app.test_client()
    other.get(link, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.post(link, data={"choice": "满意"},
                      environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    from tracker.assessment.records import SurveyAnswer
    answers = db.session.scalars(sa.select(SurveyAnswer)).all()
    assert len(answers) == 4 and len({a.device_hash for a in answers}) == 4
    assert all(len(a.address_hash) == 64 and "127.0.0.1" not in a.address_hash
               for a in answers)
    # Only counts, and only to the coordinator.
    for user in (town.users.manager, town.users.viewer):
        login(client, user)
        assert client.get(f"/assessment/{year}/cycle").status_code == 404
    login(client, town.users.admin)
    page = client.get(f"/assessment/{year}/cycle").text
    assert "4 answers" in page and "满意率 75%" in page
    survey_id = re.search(r'/surveys/(\d+)/adopt', page)[1]
    assert client.post(f"/assessment/{year}/surveys/{survey_id}/adopt").status_code == 302
    entry = db.session.scalar(sa.select(AssessmentInput))
    assert (entry.kind.value, entry.score, entry.source) == ("public", 75, "本系统问卷（4 份）")
    # Closed, the link takes no more answers (what was given stays counted); reopened, it
    # takes them again.
    assert "Close it" in page and "Close every questionnaire" in page
    assert client.post(f"/assessment/{year}/surveys/{survey_id}/close").status_code == 302
    page = client.get(f"/assessment/{year}/cycle").text
    assert "closed" in page and "Open it again" in page and "4 answers" in page
    late = app.test_client()
    assert "This questionnaire is closed." in late.get(link).text
    assert late.post(link, data={"choice": "满意"}).status_code == 400
    assert client.post(f"/assessment/{year}/surveys/{survey_id}/reopen").status_code == 302
    late.get(link, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert late.post(link, data={"choice": "满意"},
                     environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    assert client.post(f"/assessment/{year}/surveys/close").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Survey)
                             .where(Survey.closed.is_(False))) == 0


def test_the_questionnaires_from_the_command_line(town, runner):
    year = str(town.year)
    refused(runner.invoke(args=["assessment", "survey", "--year", year]),
            "make the links with --make")
    listed = ok(runner.invoke(args=["assessment", "survey", "--year", year, "--make"]))
    assert listed.startswith("2 questionnaire links made.")
    assert listed.count("\topen\tno answers\thttp://") == 2
    closed = ok(runner.invoke(args=["assessment", "survey", "--year", year, "--unit",
                                    town.units.a.name, "--close"]))
    assert closed.startswith("1 questionnaire closed.")
    assert f"{town.units.a.name}\tclosed\t" in closed and closed.count("\n") == 2
    again = ok(runner.invoke(args=["assessment", "survey", "--year", year, "--close"]))
    assert again.startswith("1 questionnaire closed.")
    refused(runner.invoke(args=["assessment", "survey", "--year", year, "--unit", "无此单位"]),
            "无此单位")


def test_the_sheet_shows_each_input_with_figure_and_source(town, runner, client, login,
                                                           create_user, tmp_path):
    """CSV (extra rows after 合计), .xlsx and the unit's page; the bundled plan sets them
    beside the total, without weight, and says so."""
    y = str(town.year)
    form = tmp_path / "年中评估表.pdf"
    form.write_bytes(b"%PDF-1.4 form")
    refused(runner.invoke(args=["assessment", "input", "--year", y, "--unit", A, "--kind",
                                "midyear", "--score", "86", "--file", str(tmp_path / "none")]),
            "cannot read")
    ok(runner.invoke(args=["assessment", "input", "--year", y, "--unit", A, "--kind",
                           "midyear", "--score", "86", "--note", "年中评估表",
                           "--file", str(form)]))
    stored = db.session.scalar(sa.select(AssessmentInput))
    assert (stored.file_name, stored.file_data) == ("年中评估表.pdf", b"%PDF-1.4 form")
    ok(runner.invoke(args=["assessment", "input", "--year", y, "--unit", A, "--kind",
                           "public", "--grade", "满意率 96%"]))
    ok(runner.invoke(args=["assessment", "export", "--year", y, "--unit", A, "-o",
                           str(tmp_path / "a.csv")]))
    rows = list(csv.reader(io.StringIO((tmp_path / "a.csv").read_text("utf-8-sig"))))
    assert rows[0] == ["单位", "一级项目", "二级项目", "工作要求", "扣分标准", "分值", "得分"]
    total = next(i for i, r in enumerate(rows) if r[1] == "合计")
    after = rows[total + 1:]
    assert after[0][1] == "年中评估" and after[0][3] == "录入（命令行）；年中评估表" \
        and after[0][6] == "86"
    assert after[1][1] == "群众评议" and after[1][6] == "满意率 96%"
    assert len(after) == 3 and "本系统设定" in after[-1][1]  # only what is recorded
    ok(runner.invoke(args=["assessment", "export", "--year", y, "--unit", A, "-o",
                           str(tmp_path / "a.xlsx")]))
    from openpyxl import load_workbook
    sheet = load_workbook(tmp_path / "a.xlsx").worksheets[1]
    values = [[c for c in row if c not in (None, "")]
              for row in sheet.iter_rows(values_only=True)]
    assert values[-3] == ["年中评估", "录入（命令行）；年中评估表", 86], values[-4:]
    login(client, town.users.manager)
    page = client.get(f"/assessment/{y}/units/{town.units.a.id}").text
    assert "年中评估" in page and "86" in page and "录入（命令行）" in page
    assert "本系统设定" in page
    # The attached file: a download for the unit's people and the coordinator, byte for
    # byte, never shown inline; nobody else's.
    link = f"/assessment/{y}/units/{town.units.a.id}/inputs/midyear/file"
    assert f'href="{link}"' in page and "年中评估表.pdf" in page
    got = client.get(link)
    assert got.status_code == 200 and got.data == b"%PDF-1.4 form"
    assert got.mimetype == "application/octet-stream"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert "%E5%B9%B4%E4%B8%AD%E8%AF%84%E4%BC%B0%E8%A1%A8.pdf" in got.headers["Content-Disposition"]
    assert client.get(link.replace("midyear", "public")).status_code == 404  # no file
    login(client, town.users.admin)
    assert f'href="{link}"' in client.get(f"/assessment/{y}/cycle").text
    assert client.get(link).data == b"%PDF-1.4 form"
    other = create_user("b-manager@example.org", "manager", unit=town.units.b)
    db.session.commit()
    login(client, other)
    assert client.get(link).status_code == 404


@pytest.mark.parametrize("vendor", ["wecom", "feishu"])
def test_an_issued_feedback_sheet_goes_out_by_mail_and_the_group_robot(
        app, town, runner, smtp_server, robot_server, vendor):
    from tests.mailserver import mail_config
    from tests.reminders.test_robot_delivery import text_of
    from tracker.reminders.channels import set_channel

    app.config.update(mail_config(smtp_server))
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ",".join(robot_server.allowed_hosts)
    set_channel(town.units.a, vendor, robot_server.add(vendor), None, now=utcnow())
    db.session.commit()
    y = str(town.year)
    ok(runner.invoke(args=["assessment", "begin", "--year", y, "--unit", A]))
    ok(runner.invoke(args=["assessment", "feedback", "--year", y, "--unit", A, "--send"]))
    ok(runner.invoke(args=["reminders", "dispatch"]))
    mails = [m for m in smtp_server.take() if "问题反馈单" in m.message["Subject"]]
    assert {m.recipients[0] for m in mails} == {"manager@example.org", "viewer@example.org"}
    link = f"https://tracker.shuyuan.example/assessment/{y}/units/{town.units.a.id}/feedback"
    assert all(link in m.text for m in mails)
    [robot] = [r for r in robot_server.take() if "问题反馈单" in text_of(r)]
    assert A in text_of(robot) and link in text_of(robot)


def test_the_plan_says_how_the_inputs_enter_the_verdict():
    from decimal import Decimal
    from types import SimpleNamespace

    from tracker.assessment.cycle import combined
    from tracker.phases.planfile import PlanError, bundled_plans, parse_plan

    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    bundled = parse_plan(text.encode(), "bundled")
    assert bundled.assessment["combine"] == "beside" and "本系统设定" in bundled.assessment["note"]
    head = text[:text.index("[assessment]")]
    weighted = parse_plan((head + '[assessment]\ncombine = "weighted"\ninputs = [\n'
                           '  { kind = "midyear", weight = 10 },\n'
                           '  { kind = "public", weight = 10 },\n]\n').encode(), "w")
    plan = SimpleNamespace(assessment=weighted.assessment)
    entries = {"midyear": SimpleNamespace(score=Decimal(90), figure="90", source="录入",
                                          note="", file_name=""),
               "public": SimpleNamespace(score=Decimal(100), figure="100", source="问卷",
                                         note="", file_name="")}
    lines, total, caption = combined(plan, Decimal(80), entries)
    assert [(line.label, line.weight) for line in lines] == [("年中评估", 10), ("群众评议", 10)]
    assert total == Decimal("83.0") and "80%" in caption  # 80×0.8 + 90×0.1 + 100×0.1
    assert combined(plan, Decimal(80), {"midyear": entries["midyear"]})[1] is None
    for table, message in [
        ('combine = "sum"', "'combine' must be"),
        ('combine = "weighted"\ninputs = [{ kind = "midyear", weight = 100 }]', "leave the"),
        ('inputs = [{ kind = "midyear", weight = 5 }]', "'weight' is for"),
        ('inputs = [{ kind = "other" }]', "'kind' must be one of"),
    ]:
        with pytest.raises(PlanError, match=message):
            parse_plan((head + "[assessment]\n" + table + "\n").encode(), "bad")


def test_the_coordinators_page_records_the_cycle(app, town, client, login):
    """One table for every unit's 年中评估, an import, a 督导 visit, a draw, a 抽查 finding
    and its 整改 (a day off refused); a refusal is a 400 page that keeps nothing."""
    app.config["WTF_CSRF_ENABLED"] = False
    year, a, b = town.year, town.units.a, town.units.b
    base = f"/assessment/{year}"
    login(client, town.users.admin)
    response = client.post(f"{base}/inputs", data={
        "kind": "midyear", f"score-{a.id}": "91.5", f"grade-{b.id}": "良好",
        f"note-{b.id}": "材料较全"})
    assert response.status_code == 302
    response = client.post(f"{base}/inputs", data={"kind": "midyear", f"score-{a.id}": "abc"})
    assert response.status_code == 400 and "is not a number" in response.text
    data = "单位名称,总分\n新北村党支部,88\n".encode("utf-8")
    response = client.post(f"{base}/inputs/import", data={
        "kind": "public", "file": (io.BytesIO(data), "问卷星.csv")})
    assert response.status_code == 302
    today = local_today(utcnow(), "Asia/Shanghai")
    response = client.post(f"{base}/visits", data={
        "unit_id": a.id, "visited_on": today.isoformat(), "visitors": "张三",
        "findings": "学习记录未归档\n\n宣传栏破损"})
    assert response.status_code == 302
    assert client.post(f"{base}/draws", data={"count": "2", "seed": "x"}).status_code == 302
    assert client.post(f"{base}/draws", data={"count": "9"}).status_code == 400
    assert client.post(f"{base}/findings", data={"unit_id": b.id, "text": "台账缺页"}
                       ).status_code == 302
    page = client.get(f"{base}/cycle").text
    assert "91.5" in page and "良好" in page and "导入：问卷星.csv" in page
    assert "学习记录未归档" in page and "宣传栏破损" in page and "台账缺页" in page
    assert "<code>x</code>" in page
    finding = db.session.scalar(sa.select(Finding).where(Finding.text == "台账缺页"))
    saturday = day_off(today + timedelta(days=1))
    response = client.post(f"{base}/findings/{finding.id}/rectify",
                           data={"title": "补页", "due_date": saturday.isoformat()})
    assert response.status_code == 400 and "is a day off" in response.text
    due = working_day(today + timedelta(days=1))
    response = client.post(f"{base}/findings/{finding.id}/rectify",
                           data={"title": "补页", "due_date": due.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    task = db.session.get(Finding, finding.id).task
    assert (task.unit_id, task.due_date, task.title) == (b.id, due, "补页")
    inputs = {(i.unit_id, i.kind.value): i for i in db.session.scalars(
        sa.select(AssessmentInput))}
    assert inputs[(a.id, "midyear")].score == 91.5
    assert inputs[(b.id, "midyear")].grade == "良好" and inputs[(b.id, "public")].score == 88
