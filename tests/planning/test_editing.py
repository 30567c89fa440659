"""Editing a plan file's data: references follow renames and removals, new nodes get free
codes, points are summed, and the loader's messages point at the page to mend. Pure: the
data is the bundled plan as tomllib reads it, checked by the plan loader itself."""

import copy
import tomllib

import pytest
import tomli_w

from tracker.phases.planfile import PlanError, bundled_plans, parse_plan
from tracker.planning import editing

BUNDLED = tomllib.loads(bundled_plans()["shuyuan-2020"].read_text("utf-8"))


@pytest.fixture
def data():
    return copy.deepcopy(BUNDLED)


def loads(data) -> None:
    parse_plan(tomli_w.dumps(data).encode(), "edited")


def loader_message(data) -> str:
    with pytest.raises(PlanError) as caught:
        loads(data)
    return str(caught.value)


def test_the_bundled_plan_reads_whole(data):
    assert len(editing.phases(data)) == 4
    assert len(editing.duties(data)) == 50
    assert len(editing.rows(data)) == 32
    assert [p for p, _ in editing.rows(data)][-2:] == ["g4/r0", "g4/r1"]
    assert editing.find_row(data, "1-4-1")["points"] == 4
    assert editing.node_at(data, "g0/i3/r0").code == "1-4-1"
    assert [d["code"] for d in editing.serving(data, "2-3-2")][:2] == [
        "contingency-sino-vietnam-war", "contingency-two-sessions"]


def test_renaming_a_duty_renames_it_in_evidence_and_minimums(data):
    editing.rename_duty(data, "xuexi-platform", "xuexi")
    editing.rename_duty(data, "contingency-party-congress", "contingency-congress")
    editing.find_duty(data, "xuexi-platform")["code"] = "xuexi"
    editing.find_duty(data, "contingency-party-congress")["code"] = "contingency-congress"
    assert editing.find_row(data, "2-1-4")["evidence"] == ["xuexi"]
    assert "contingency-congress" in editing.find_row(data, "2-3-2")["requires"][0]["duties"]
    loads(data)


def test_removing_a_duty_removes_what_names_it(data):
    changed = editing.remove_duty(data, "xuexi-contribution")
    assert changed == ["2-1-4"]
    row = editing.find_row(data, "2-1-4")
    assert [r["duties"] for r in row["requires"]] == ["pudong-app"]
    editing.remove_duty(data, "xuexi-platform")
    assert "evidence" not in row
    editing.remove_duty(data, "contingency-two-sessions")
    assert len(editing.find_row(data, "2-3-2")["requires"][0]["duties"]) == 4
    assert editing.find_duty(data, "xuexi-platform") is None
    # Row 2-1-4 is still served (by the app duty): the plan loads.
    loads(data)


def test_removing_a_row_or_an_item_frees_the_duties_that_served_it(data):
    gone = editing.remove_node(data, "g0/i3")  # 1-4, with its row 1-4-1
    assert gone == ["1-4-1"]
    assert editing.find_duty(data, "study-session")["rubric"] == []
    group = data["rubric"]["groups"][0]
    assert [i["code"] for i in group["items"]] == ["1-1", "1-2", "1-3", "1-5"]
    assert "points add up" not in loader_message(data)
    assert "its items add up to 22 points, not 26" in loader_message(data)


def test_new_nodes_get_free_codes(data):
    row = editing.add_child(data, "g0/i0", "row")
    assert (row.path, row.code) == ("g0/i0/r2", "1-1-3")
    assert row.table == {"code": "1-1-3", "requirement": "", "deduction": "", "points": 0}
    item = editing.add_child(data, "g0", "item")
    assert item.code == "1-6"
    assert editing.add_child(data, "g4", "row").code == "5-3"
    assert editing.add_child(data, "g4", "item") is None  # group 5 holds rows
    assert editing.add_child(data, "g0/i0/r0", "row") is None
    assert editing.add_child(data, "g9", "row") is None
    group = editing.add_group(data)
    assert (group.path, group.code) == ("g5", "6")
    assert editing.add_child(data, group.path, "item").code == "6-1"


def test_a_new_row_is_refused_by_the_loader_until_it_is_filled_in(data):
    editing.add_child(data, "g0/i0", "row")
    assert "rows[2] (1-1-3): 'requirement' must be a non-empty string" in loader_message(data)


def test_sums_say_what_does_not_add_up(data):
    sums = editing.sums(data)
    assert all(s.adds_up for s in sums.values())
    assert sums[""] == editing.Sum(100, 100) and sums["g0/i3"] == editing.Sum(4, 4)
    editing.find_row(data, "1-4-1")["points"] = 5
    sums = editing.sums(data)
    assert [path for path, s in sums.items() if not s.adds_up] == ["g0/i3"]
    editing.find_row(data, "1-4-1")["points"] = "five"
    assert editing.sums(data)["g0/i3"].children is None


def test_renaming_a_row_renames_it_in_its_duties(data):
    editing.find_row(data, "1-4-1")["code"] = "1-4-9"
    editing.rename_row(data, "1-4-1", "1-4-9")
    assert editing.find_duty(data, "study-session")["rubric"] == ["1-4-9"]
    loads(data)


def test_phases_follow_renames_and_removals(data):
    before = {d["code"]: d.get("phase") for d in editing.duties(data)}
    editing.rename_phases(data, {"P1": "P2", "P2": "P1"})  # two phases swap codes
    after = {d["code"]: d.get("phase") for d in editing.duties(data)}
    swap = {"P1": "P2", "P2": "P1"}
    assert after == {code: swap.get(phase, phase) for code, phase in before.items()}
    editing.rename_phases(data, {"P2": "P0"})
    assert editing.find_duty(data, "work-plan")["phase"] == "P0"
    assert editing.drop_phase(data, "P0") == 8
    assert "phase" not in editing.find_duty(data, "work-plan")


@pytest.mark.parametrize("break_it, at", [
    (lambda d: editing.find_duty(d, "training")["due"].update(dates=["13-01"]),
     ("duty", "training")),
    (lambda d: editing.find_duty(d, "briefing").update(rubric=[]), ("row", "1-5-2")),
    (lambda d: editing.find_row(d, "1-4-1").update(points=5), ("rubric", None)),
    (lambda d: editing.find_row(d, "1-4-1").update(applies_to=["village"]),
     ("duty", "study-session")),
    (lambda d: editing.find_row(d, "2-1-4")["requires"][0].update(deduct=9), ("row", "2-1-4")),
    (lambda d: d["phases"][1].update(end="13-01"), ("phases", None)),
    (lambda d: d.update(phases=[]), ("phases", None)),
    (lambda d: d["plan"].update(timezone="Mars/Olympus"), ("plan", None)),
    (lambda d: d["rubric"].update(total=99), ("rubric", None)),
    (lambda d: d["rubric"]["groups"][0].update(points=25), ("rubric", None)),
    (lambda d: d.update(extra=1), None),
])
def test_a_loader_message_points_at_the_page_to_mend(data, break_it, at):
    break_it(data)
    assert editing.locate(data, loader_message(data)) == at


def test_text_keys_are_set_or_dropped():
    table = {"title": "x", "other": 1}
    editing.set_text(table, "title", "  ")
    editing.set_text(table, "title_en", " Study ")
    assert table == {"other": 1, "title_en": "Study"}
    assert editing.text_of(table, "other") == "" and editing.code_list("a") == ["a"]


def test_a_plan_without_phases_duties_or_rubric_reads_as_empty():
    data = {"plan": {"name": "imported-2027"}}
    assert editing.phases(data) == [] and editing.duties(data) == [] and editing.rows(data) == []
    assert editing.summary(data) == {"title": "", "document_number": "", "phases": 0,
                                     "duties": 0, "rows": 0, "points": 0, "total": None}
    duty = editing.add_duty(data, "study", "学习")
    assert data["duties"] == [duty] and duty["applies_to"] == "units"
