"""The coordinator rolls this year's plan over to the next, moves a duty's date in the
editor (the schedule previewed as it is chosen), previews what publishing changes and
publishes; next year's tasks carry the new date. A unit manager is told /plans does not
exist."""

import re
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date

from tests.browser.test_flow import sign_in
from tracker.extensions import db
from tracker.phases.models import PlanVersion, VersionState
from tracker.tasks.models import Task
from tracker.workdays.services import work_calendar


def test_roll_over_move_a_date_preview_and_publish(live_server, town, page_for):
    from playwright.sync_api import expect  # here: without Playwright the fixtures skip

    base, year, next_year = live_server, town.year, town.year + 1
    moved = date(next_year, 6, 23)
    admin = page_for("admin")
    sign_in(admin, base, "admin@example.org")

    admin.goto(f"{base}/plans")
    admin.shot("plans")
    admin.locator(f"#year-{year} form[action$='/rollover'] button").click()
    admin.wait_for_url(re.compile(r"/plans/\d+$"))
    draft_url = admin.url
    assert str(next_year) in admin.locator("h1").inner_text()
    assert admin.locator("[data-testid=plan-loads]").is_visible()

    admin.locator("nav.tabs a").nth(3).click()  # the duties
    admin.locator("table[data-testid=duties] a[href$='/duties/training']").click()
    admin.wait_for_url(re.compile(r"/duties/training$"))
    dates = admin.locator("[data-schedule-dates]")
    rrule = admin.locator("input[name='schedule-rrule']")
    assert dates.inner_text() == "06-30" and rrule.input_value() == ""
    # Only the chosen kind's fields show; the RRULE the form writes appears as it is chosen.
    assert admin.locator("[data-when=dates]").is_visible()
    assert not admin.locator("[data-when=times]").is_visible()
    admin.check("input[name='schedule-kind'][value=times]")
    admin.select_option("select[name='schedule-times']", "6")
    # (expect() polls from Python: the page's CSP allows no eval, so no wait_for_function.)
    expect(rrule).to_have_value("FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1")
    expect(dates).to_have_text(re.compile(r"^02-2[89], 04-30, 06-30, 08-31, 10-31, 12-31$"))
    admin.shot("schedule-times")
    # Back to a date: June 23rd.
    admin.check("input[name='schedule-kind'][value=dates]")
    admin.fill("input[name='schedule-dates']", "06-23")
    expect(dates).to_have_text("06-23")
    expect(rrule).to_have_value("")
    # One more item of evidence, by the button the script adds.
    admin.get_by_role("button", name=re.compile("Add an item of evidence|添加")).click()
    new_row = admin.locator("[data-rows=evidence] > fieldset").last
    new_row.locator("select").select_option("photo")
    new_row.locator("input[name$='-title']").fill("培训签到表")
    admin.shot("duty")
    admin.locator("form[data-testid=duty-form] button.primary").click()
    admin.wait_for_url(re.compile(r"/duties/training$"))
    assert admin.locator("[data-schedule-dates]").inner_text() == "06-23"
    assert admin.locator("[data-testid=plan-loads]").is_visible()
    assert admin.locator("input[value='培训签到表']").count() == 1

    admin.goto(draft_url)
    admin.locator("form[action$='/preview'] button").click()
    admin.wait_for_url(re.compile(r"/preview"))
    expected = work_calendar().shift(moved, "previous")  # a day off moves to the one before
    training = admin.locator(".changes-new li", has_text="基层党员干部意识形态工作分层分类培训")
    assert training.count() == 2  # one for each village (the office has no training)
    assert format_date(expected, "medium", locale="zh_CN") in training.first.inner_text()
    admin.shot("preview")
    admin.locator("form[action$='/publish'] button").click()
    admin.wait_for_url(f"{base}/plans")
    admin.shot("published")

    db.session.expire_all()
    version = db.session.scalar(sa.select(PlanVersion).where(PlanVersion.year == next_year))
    assert version.state == VersionState.PUBLISHED
    tasks = db.session.scalars(sa.select(Task).join(Task.duty).where(
        Task.year == next_year, Task.duty.has(code="training"))).all()
    assert len(tasks) == 2
    assert {(t.planned_date or t.due_date, t.due_date) for t in tasks} == {(moved, expected)}
    this_year = db.session.scalars(sa.select(Task.due_date).join(Task.duty).where(
        Task.year == year, Task.duty.has(code="training"))).all()
    assert all(day.month == 6 and day.day >= 26 for day in this_year), "this year unchanged"

    manager = page_for("manager")
    sign_in(manager, base, "manager@example.org")
    # Asked with the manager's own session (a navigation would log the 404 as a console
    # error, which fails every browser test).
    for path in ("/plans", f"/plans/{version.id}", f"/plans/{version.id}/duties/training",
                 f"/plans/{version.id}/schedule"):
        response = manager.context.request.get(f"{base}{path}", max_redirects=0)
        assert response.status == 404, path
    assert manager.locator("a[href='/plans']").count() == 0
    manager.shot("no-plans")


def test_rubric_points_add_up_as_they_are_typed_and_rows_are_added(live_server, town,
                                                                   page_for):
    from playwright.sync_api import expect

    from tracker.core.timeutil import utcnow
    from tracker.planning import services

    draft = services.rollover(town.year, town.year + 1, None, utcnow())
    db.session.commit()
    base = f"{live_server}/plans/{draft.id}"
    admin = page_for("admin")
    sign_in(admin, live_server, "admin@example.org")
    admin.goto(f"{base}/rubric")
    item = admin.locator("[data-sum-for='g0/i0']")  # 1-1: rows 3 + 3 = 6
    expect(item).not_to_have_class(re.compile("mismatch"))
    admin.fill("input.points[data-path='g0/i0/r0']", "4")
    expect(item).to_have_class(re.compile("mismatch"))
    expect(item).to_contain_text("7")
    admin.shot("rubric-mismatch")
    admin.fill("input.points[data-path='g0/i0']", "7")
    expect(item).not_to_have_class(re.compile("mismatch"))
    expect(admin.locator("[data-sum-for='g0']")).to_have_class(re.compile("mismatch"))
    admin.fill("input.points[data-path='g0']", "27")
    expect(admin.locator("[data-sum-for='']")).to_have_class(re.compile("mismatch"))
    admin.fill("input[name=total]", "101")
    expect(admin.locator("[data-sum-for='']")).not_to_have_class(re.compile("mismatch"))
    # Adding a row saves what was typed and opens the new row's page.
    admin.locator("button[name=add][value='row:g0/i0']").click()
    admin.wait_for_url(re.compile(r"/rubric/1-1-3$"))
    assert admin.locator("[data-testid=plan-errors]").is_visible()
    admin.fill("textarea[name=requirement]", "组织分工到位。")
    admin.fill("textarea[name=deduction]", "未能提供分工文件")
    admin.get_by_role("button", name=re.compile("Add a minimum|添加")).click()
    minimum = admin.locator("[data-rows=requires] > fieldset").last
    minimum.locator("input[name$='-label']").fill("分工文件")
    minimum.locator("input[name$='-at_least']").fill("1")
    admin.shot("row")
    admin.locator("form[data-testid=row-form] button.primary").click()
    admin.wait_for_url(re.compile(r"/rubric/1-1-3$"))
    # The loader's message: the new minimum names no duty (and no duty serves the row).
    assert admin.locator("[data-testid=plan-errors]").is_visible()
    assert "1-1-3" in admin.locator("[data-testid=plan-errors]").inner_text()

    admin.goto(f"{base}/phases")
    before = admin.locator("[data-rows=phases] > fieldset").count()
    admin.get_by_role("button", name=re.compile("Add a phase|添加")).click()
    expect(admin.locator("[data-rows=phases] > fieldset")).to_have_count(before + 1)
    admin.shot("phases")

    # Removing a duty asks first.
    admin.goto(f"{base}/duties/xuexi-contribution")
    asked = []
    admin.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    admin.locator("form.remove-duty button").click()
    expect(admin.locator("input[name=code]")).to_have_value("xuexi-contribution")
    admin.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    admin.locator("form.remove-duty button").click()
    admin.wait_for_url(f"{base}/duties")
    assert len(asked) == 2 and "xuexi-contribution" in asked[0]
    assert admin.locator("a[href$='/duties/xuexi-contribution']").count() == 0
