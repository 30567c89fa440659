"""The bundled plan against the seed document, and refusing bad plan files."""

import re
from datetime import date
from pathlib import Path

import pytest

from tracker.phases.planfile import PlanError, bundled_plans, parse_plan, read_plan
from tracker.phases.recurrence import expand_due

SEED = (Path(__file__).parent.parent / "data" / "seed-shuyuan-2020.txt").read_text("utf-8")
BUNDLED = bundled_plans()["shuyuan-2020"].read_text("utf-8")


def squash(text):
    """The seed breaks lines and pads cells; compare text without white space."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def plan():
    return read_plan("shuyuan-2020")


def test_metadata(plan):
    assert plan.name == "shuyuan-2020"
    assert plan.document_number == "书委〔2020〕29号"
    assert plan.issuer == "中共浦东新区书院镇委员会"
    assert plan.issued_on == date(2020, 5, 12)
    assert plan.timezone == "Asia/Shanghai"


def test_four_phases_with_the_seed_ranges(plan):
    assert [(p.code, p.title, p.start, p.end) for p in plan.phases] == [
        ("P1", "谋划部署阶段", "02-01", "04-30"),
        ("P2", "协同推进阶段", "04-01", "06-30"),
        ("P3", "指导提升阶段", "07-01", "10-31"),
        ("P4", "年终考核阶段", "11-01", "12-31"),
    ]
    for phase in plan.phases:
        assert squash(phase.description) in squash(SEED)


def test_rubric_groups_and_total(plan):
    assert [g.points for g in plan.rubric] == [26, 46, 12, 6, 10]
    assert plan.rubric_total == sum(g.points for g in plan.rubric) == 100
    assert [g.title for g in plan.rubric] == [
        "加强组织领导", "阵地建设管理", "队伍建设管理", "加强考核检查", "特色亮点项目"]


def test_rubric_has_the_seed_rows_word_for_word(plan):
    leaves = plan.leaves()
    assert len(leaves) == 32
    assert sum(leaf.points for leaf in leaves) == 100
    seed = squash(SEED)
    for leaf in leaves:
        assert squash(leaf.requirement) in seed, leaf.code
        assert squash(leaf.deduction) in seed, leaf.code
        if leaf.numbered:
            # The seed prints the code just before the requirement.
            assert squash(leaf.code + leaf.requirement) in seed, leaf.code
    unnumbered = [leaf.code for leaf in leaves if not leaf.numbered]
    assert unnumbered == ["5-1", "5-2"]
    by_code = {leaf.code: leaf for leaf in leaves}
    assert by_code["1-4-1"].points == 4
    assert by_code["1-4-1"].deduction == "未能提供学习会议记录"
    assert by_code["2-2-1"].points == 8


def test_every_item_adds_up(plan):
    for node in plan.rubric_nodes():
        if node.children:
            assert node.points == sum(c.points for c in node.children), node.code


def test_every_rubric_row_is_served_by_a_duty(plan):
    served = {code for duty in plan.duties for code in duty.rubric}
    assert served == {leaf.code for leaf in plan.leaves()}


def dates_of(plan, code, year=2026):
    duty = next(d for d in plan.duties if d.code == code)
    return expand_due(duty.due, year, plan.timezone)


def test_recurring_duties_of_the_seed(plan):
    assert dates_of(plan, "study-session") == [
        date(2026, 2, 28), date(2026, 4, 30), date(2026, 6, 30),
        date(2026, 8, 31), date(2026, 10, 31), date(2026, 12, 31)]
    assert dates_of(plan, "study-session", 2028)[0] == date(2028, 2, 29)
    assert dates_of(plan, "topic-meeting") == [date(2026, 6, 30), date(2026, 12, 15)]
    assert dates_of(plan, "self-check-h1") + dates_of(plan, "self-check-h2") == [
        date(2026, 6, 30), date(2026, 11, 30)]
    assert dates_of(plan, "briefing") == [date(2026, 12, 15)]
    assert dates_of(plan, "articles") == [date(2026, 6, 30), date(2026, 12, 15)]
    assert len(dates_of(plan, "coord-guidance")) == 4


def test_contingency_plans_before_each_sensitive_date(plan):
    contingency = sorted(d.code for d in plan.duties if "2-3-2" in d.rubric)
    assert len(contingency) == 5
    dated = [code for code in contingency if code != "contingency-party-congress"]
    due = sorted(dates_of(plan, code)[0] for code in dated)
    assert due == [date(2026, 2, 10), date(2026, 2, 25), date(2026, 5, 28), date(2026, 7, 15)]
    # The party congress is called on no fixed date: the coordinator sets it each year.
    congress = next(d for d in plan.duties if d.code == "contingency-party-congress")
    assert congress.due == {"set_by": "coordinator", "source": "plan",
                            "document": "对两会、党代会",
                            "note": "党代会召开日期确定后，由镇党委宣传办设定截止日期；此前显示为“日期待定”"}


def test_statements_carry_the_seed_character_caps(plan):
    caps = {d.code: e["max_chars"] for d in plan.duties for e in d.evidence
            if e["kind"] == "statement"}
    by_row = {code: caps[d.code] for d in plan.duties if d.code in caps for code in d.rubric}
    assert by_row == {"3-3-1": 500, "5-1": 800, "5-2": 500}


def test_coordinator_duties(plan):
    coordinator = [d.code for d in plan.duties if d.applies_to == ["coordinator"]]
    assert coordinator == ["coord-plan", "coord-training", "coord-guidance",
                           "coord-theory-group", "coord-columns", "coord-practice-centre",
                           "coord-midyear", "coord-public-review", "coord-spot-check",
                           "coord-assessment"]


def test_bilingual_titles(plan):
    for duty in plan.duties:
        assert duty.title and duty.title_en, duty.code
    for node in plan.rubric_nodes():
        assert node.title_en, node.code


def edited(old, new, count=1):
    assert BUNDLED.count(old) >= count, old
    return BUNDLED.replace(old, new, count).encode("utf-8")


@pytest.mark.parametrize("data, message", [
    (edited('[plan]\nname', '[plan\nname'), r"plan\.toml: invalid TOML: .*line \d+"),
    (b"\xff\xfe not utf-8", r"not UTF-8"),
    (edited('FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1', 'FREQ=MONTHY;BYMONTHDAY=-1'),
     r"duties\[\d+\] \(study-session\): due: invalid RRULE 'FREQ=MONTHY"),
    (edited('FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1', 'FREQ=WEEKLY;BYDAY=XX'),
     r"\(study-session\): due: invalid RRULE .*BYDAY"),
    (edited('FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1', 'FREQ=HOURLY'),
     r"\(study-session\): .*FREQ must be"),
    (edited('FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1', 'FREQ=YEARLY;BYMONTH=1'),
     r"\(study-session\): due date 01-01 lies outside any phase"),
    (edited('rubric = ["1-4-1"]', 'rubric = ["9-9-9"]'),
     r"\(study-session\): unknown rubric code '9-9-9'"),
    (edited('rubric = ["1-4-1"]', 'rubric = ["1-4"]'), r"'1-4' is a group or item"),
    (edited('rubric = ["1-5-2"]', 'rubric = []'), r"rubric row 1-5-2 is served by no duty"),
    (edited('dates = ["06-30", "12-15"]', 'dates = ["06-30", "02-30"]'),
     r"'02-30' is not a month and day"),
    (edited('dates = ["06-30", "12-15"]', 'dates = ["06-30", "13-01"]'),
     r"'13-01' is not a month and day"),
    (edited('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), r"unknown timezone"),
    (edited('code = "study-session"', 'code = "topic-meeting"'),
     r"duplicate duty code 'topic-meeting'"),
    (edited('title_en = "Planning and deployment"', 'titel = "typo"'), r"unknown key 'titel'"),
    (edited('total = 100', 'total = 101'), r"add up to 100, not the total 101"),
    (edited('points = 26', 'points = 27'), r"rubric\.groups\[0\] \(1\): its items add up to 26"),
    (edited('start = "07-01"', 'start = "11-01"'), r"\(P3\): ends \(10-31\) before it starts"),
    (edited('phase = "P1"', 'phase = "P4"'), r"lies outside phase P4"),
    (edited('phase = "P1"', 'phase = "P9"'), r"unknown phase 'P9'"),
    (edited('max_chars = 500', 'max_chars = 0'), r"'max_chars' must be at least 1"),
    (edited('kind = "record"', 'kind = "video"'), r"kind must be one of"),
    (edited('\napplies_to = "coordinator"', '\napplies_to = "everyone"'), r"'applies_to' must be"),
    (edited('before = [7, 1, 0]', 'before = [-1]'), r"reminders.before"),
])
def test_bad_plans_are_refused_naming_file_entry_and_problem(data, message):
    with pytest.raises(PlanError, match=message) as info:
        parse_plan(data, "town/plan.toml")
    assert str(info.value).startswith("town/plan.toml: ")


def test_unknown_plan_name_lists_the_bundled_ones():
    with pytest.raises(PlanError, match=r"no bundled plan of that name \(bundled: shuyuan-2020"):
        read_plan("nowhere-2020")


def test_plan_file_by_path(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(BUNDLED.replace('name = "shuyuan-2020"', 'name = "other-town"'), "utf-8")
    assert read_plan(str(path)).name == "other-town"


def test_runaway_recurrence_is_refused_naming_the_duty():
    """Finding 10 through the loader (the browser editor goes through it too)."""
    data = BUNDLED.replace('rrule = "', 'rrule = "INTERVAL=0;', 1).encode()
    with pytest.raises(PlanError, match=r"duties\[\d+\] \(study-session\): due: .*INTERVAL"):
        parse_plan(data, "plan.toml")


def test_deeply_nested_toml_is_an_error_not_a_crash():
    """Finding 16: ``a = [[[[...]]]]`` ten thousand deep."""
    data = b"a = " + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    with pytest.raises(PlanError, match="nested too deeply"):
        parse_plan(data, "plan.toml")
