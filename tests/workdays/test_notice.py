"""The State Council's holiday notice (issue 25): read, checked against itself, shown, set.

The notices of 2024, 2025 and 2026 are in tests/data/notices as published (the lines that
set days, with the title and the closing paragraph); each is compared day by day with the
chinese-calendar package's schedule of its year.
"""

import io
import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import docx
import pytest
import sqlalchemy as sa
from chinese_calendar.constants import holidays as PACKAGE_HOLIDAYS
from chinese_calendar.constants import workdays as PACKAGE_WORKDAYS

from tests.planning.formdata import form_data
from tracker.extensions import db
from tracker.workdays.calendar import HOLIDAY_NAMES, schedule_known
from tracker.workdays.models import WorkdayOverride
from tracker.workdays.notice import NoticeError, notice_text, read_notice

NOTICES = Path(__file__).parent.parent / "data" / "notices"
YEARS = (2024, 2025, 2026)
#: A year past the package (a made-up notice for it below: not the real one).
UNKNOWN = max(y for y in range(2020, 2100) if schedule_known(y)) + 1


def text_of(year: int) -> str:
    return (NOTICES / f"{year}.txt").read_text("utf-8")


def days_of(year: int):
    for n in range((date(year, 12, 31) - date(year, 1, 1)).days + 1):
        yield date(year, 1, 1) + timedelta(days=n)


def package_day(day: date):
    """(working, Chinese name) as chinese-calendar has the day, None for a plain day."""
    if day in PACKAGE_HOLIDAYS:
        return False, HOLIDAY_NAMES[PACKAGE_HOLIDAYS[day]]
    if day in PACKAGE_WORKDAYS:
        return True, HOLIDAY_NAMES[PACKAGE_WORKDAYS[day]]
    return None


@pytest.mark.parametrize("year", YEARS)
def test_each_notice_is_the_packages_schedule_day_by_day(year):
    notice = read_notice(text_of(year))
    assert notice.year == year
    set_days = {d.day: d for d in notice.days}
    for day in days_of(year):
        entry = set_days.get(day)
        working = entry.working if entry else day.weekday() < 5
        assert working == chinese_calendar.is_workday(day), day
        expected = package_day(day)
        if expected is None:
            assert entry is None, day
        else:
            # 2025's "国庆节、中秋节" covers the package's 中秋节 on 6 October.
            assert entry.working == expected[0] and expected[1] in entry.name, (day, entry)
            assert entry.name.endswith("调休") == entry.working


def test_2024_in_detail():
    notice = read_notice(text_of(2024))
    assert notice.holidays() == ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    spring = [d.day for d in notice.days if d.name == "春节"]
    assert spring == [date(2024, 2, 10) + timedelta(days=n) for n in range(8)]
    # 除夕 (2月9日) is only recommended as a day of rest: not set.
    assert date(2024, 2, 9) not in {d.day for d in notice.days}
    assert [d.day for d in notice.days if d.working and d.name == "春节调休"] == [
        date(2024, 2, 4), date(2024, 2, 18)]


def wrong(year: int, old: str, new: str) -> str:
    text = text_of(year)
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (wrong(2024, "2月4日（星期日）", "2月4日（星期六）"),
     "Item 二 (春节): 2024年2月4日 is said to be 星期六, but it is 星期日; the notice "
     "contradicts itself."),
    (wrong(2025, "1月28日（农历除夕、周二）", "1月28日（农历除夕、周三）"),
     "Item 二 (春节): 2025年1月28日 is said to be 星期三, but it is 星期二"),
    (wrong(2026, "共9天", "共8天"), "Item 二 (春节): it says 8 days, but its dates hold 9."),
    (wrong(2026, "5月9日（周六）上班", "5月8日上班"),
     "Item 四 (劳动节): 2026年5月8日 is to be worked, but it is a weekday already."),
    (wrong(2026, "至23日（农历正月初七、周一）", "至2月13日"), "runs backwards"),
    (wrong(2024, "6月10日放假", "6月31日放假"), "6月31日 is not a date"),
    (text_of(2026).replace("2026", "2027"),
     "2027年1月1日 is said to be 星期四, but it is 星期五"),
    ("各省、自治区、直辖市人民政府：\n特此通知。", "names no year"),
    ("国务院办公厅关于2026年部分节假日安排的通知\n特此通知。", "No holiday found"),
], ids=["2024 weekday", "2025 weekday in a lunar note", "days counted", "work on a weekday",
        "range backwards", "no such date", "another year's notice", "no year", "no items"])
def test_a_notice_that_contradicts_itself_is_refused(text, message):
    with pytest.raises(NoticeError) as caught:
        read_notice(text)
    assert message in str(caught.value)


def test_the_year_given_must_be_the_notices():
    with pytest.raises(NoticeError, match="This is the notice for 2026, not for 2025."):
        read_notice(text_of(2026), 2025)
    body = text_of(2026).split("\n", 1)[1]  # without its title
    assert read_notice(body, 2026).days == read_notice(text_of(2026)).days


def as_html(text: str) -> bytes:
    lines = "".join(f"<p>{line}</p>" for line in text.splitlines())
    return (f"<!DOCTYPE html><html><head><title>通知</title><style>p{{}}</style></head>"
            f"<body><div class='article'>{lines}</div><script>var x='2月1日放假';</script>"
            f"</body></html>").encode("utf-8")


def as_docx(text: str) -> bytes:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["txt", "gb18030", "html", "docx"])
def test_the_notice_as_text_html_or_word(kind):
    text = text_of(2025)
    data = {"txt": text.encode("utf-8"), "gb18030": text.encode("gb18030"),
            "html": as_html(text), "docx": as_docx(text)}[kind]
    name = f"notice.{'txt' if kind == 'gb18030' else kind}"
    assert read_notice(notice_text(data, name)).days == read_notice(text).days


# -- the command line -------------------------------------------------------------------

def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def listed(runner, year):
    return json.loads(ok(runner.invoke(args=["workdays", "list", "--year", str(year),
                                             "--format", "json"])))


def notice_rows():
    return db.session.scalars(sa.select(WorkdayOverride).where(
        WorkdayOverride.source == "notice")).all()


@pytest.mark.parametrize("year", YEARS)
def test_cli_imports_each_notice_into_an_empty_year(app, runner, tmp_path, year):
    path = tmp_path / f"notice-{year}.txt"
    path.write_text(text_of(year), "utf-8")
    dry = ok(runner.invoke(args=["workdays", "import", str(path), "--dry-run"]))
    assert "Dry run: nothing set." in dry and f"{year}-10-01" in dry
    assert notice_rows() == []
    out = ok(runner.invoke(args=["workdays", "import", str(path), "--year", str(year)]))
    assert f"{year}: " in out and "days set from the notice" in out
    entries = listed(runner, year)
    assert {e["date"] for e in entries} == {d.isoformat() for d in days_of(year)
                                            if package_day(d)}
    for entry in entries:
        day = date.fromisoformat(entry["date"])
        working, name = package_day(day)
        assert entry["source"] == "notice" and entry["confirmed"] is True
        assert entry["working"] == working and name in entry["name"]
    # Again: nothing changes.
    again = ok(runner.invoke(args=["workdays", "import", str(path)]))
    assert f"{year}: 0 days set" in again


def test_cli_refuses_a_contradicting_notice_and_sets_nothing(app, runner, tmp_path):
    path = tmp_path / "notice.txt"
    path.write_text(wrong(2024, "10月12日（星期六）", "10月12日（星期日）"), "utf-8")
    result = runner.invoke(args=["workdays", "import", str(path)])
    assert result.exit_code == 2 and result.stderr.startswith("Error: Item 七 (国庆节): ")
    assert "Traceback" not in result.output
    assert notice_rows() == []
    missing = runner.invoke(args=["workdays", "import", str(tmp_path / "none.txt")])
    assert missing.exit_code == 2 and "cannot read the notice" in missing.stderr


MADE_UP = f"""国务院办公厅关于{UNKNOWN}年部分节假日安排的通知
一、元旦：1月1日至3日放假，共3天。
二、劳动节：5月1日至5日放假调休，共5天。{{work}}上班。
"""


def made_up() -> str:
    """A self-consistent notice for the year past the package (not the real one)."""
    may = [date(UNKNOWN, 4, 25) + timedelta(days=n) for n in range(14)]
    weekend = next(d for d in may if d.weekday() >= 5 and not date(UNKNOWN, 5, 1) <= d
                   <= date(UNKNOWN, 5, 5))
    weekday = "一二三四五六日"[weekend.weekday()]
    return MADE_UP.format(work=f"{weekend.month}月{weekend.day}日（星期{weekday}）")


def test_a_year_without_its_notice_is_unconfirmed_until_imported(app, runner, tmp_path):
    result = runner.invoke(args=["workdays", "set", f"{UNKNOWN}-06-01", "off", "--name", "镇庆"])
    assert result.exit_code == 0
    entries = listed(runner, UNKNOWN)
    assert entries == [{"date": f"{UNKNOWN}-06-01", "working": False, "name": "镇庆",
                        "source": "override", "confirmed": False}]
    table = runner.invoke(args=["workdays", "list", "--year", str(UNKNOWN)])
    assert f"{UNKNOWN}: unconfirmed" in table.stdout and "is unconfirmed" in table.stderr
    path = tmp_path / "notice.txt"
    path.write_text(made_up(), "utf-8")
    ok(runner.invoke(args=["workdays", "import", str(path)]))
    entries = listed(runner, UNKNOWN)
    assert all(e["confirmed"] for e in entries)
    assert {e["date"]: e["source"] for e in entries}[f"{UNKNOWN}-06-01"] == "override"
    assert sum(e["source"] == "notice" for e in entries) == 9


def test_the_coordinators_own_day_stays(app, runner, tmp_path):
    ok(runner.invoke(args=["workdays", "set", "2026-10-07", "on", "--name", "值班"]))
    path = tmp_path / "notice.txt"
    path.write_text(text_of(2026), "utf-8")
    out = ok(runner.invoke(args=["workdays", "import", str(path)]))
    assert "1 kept as you set them" in out
    assert db.session.get(WorkdayOverride, date(2026, 10, 7)).source == "override"


# -- the page ---------------------------------------------------------------------------

@pytest.fixture
def admin(app, login, create_unit, create_user):
    app.config["WTF_CSRF_ENABLED"] = False
    unit = create_unit("镇党委宣传办", "coordinator")
    user = create_user("admin@example.org", "admin", unit)
    db.session.commit()
    return login(app.test_client(), user)


def test_the_page_reads_a_pasted_notice_shows_it_then_sets_it(admin):
    page = admin.get(f"/workdays?year={UNKNOWN}").text
    assert 'data-testid="schedule-unknown"' in page and 'data-testid="notice-form"' in page
    response = admin.post("/workdays/notice", data={"notice": made_up()})
    assert response.status_code == 200
    assert 'data-testid="notice-days"' in response.text and f"{UNKNOWN}-05-05" in response.text
    assert notice_rows() == []  # shown, not set
    done = admin.post("/workdays/notice/confirm", data=form_data(response.text, "notice-confirm"))
    assert done.status_code == 302 and done.headers["Location"] == f"/workdays?year={UNKNOWN}"
    assert len(notice_rows()) == 9
    page = admin.get(f"/workdays?year={UNKNOWN}").text
    assert 'data-testid="schedule-unknown"' not in page and "劳动节调休" in page


def test_the_page_refuses_a_contradicting_notice(admin):
    response = admin.post("/workdays/notice", data={
        "notice": wrong(2025, "9月28日（周日）", "9月28日（周六）")})
    assert response.status_code == 400
    assert "2025年9月28日 is said to be 星期六, but it is 星期日" in response.text
    assert notice_rows() == []
    assert admin.post("/workdays/notice", data={"notice": " "}).status_code == 400
