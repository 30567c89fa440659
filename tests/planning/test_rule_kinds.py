"""The rubric's rule kinds are one table (``tracker.phases.rubricrules``): every kind of
minimum in it goes through the plan file, the row's page in the editor and the scoring
alike, and a kind the table does not hold is refused. A kind registered here, in the
test, works everywhere without a change to the loader, the editor or the scoring."""

import copy
import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from tests.planning.formdata import form_data
from tests.planning.test_editor import page, plan_of, post
from tracker.assessment.scoring import evidence_verdict
from tracker.assessment.services import results
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import Duty, PlanVersion
from tracker.phases.planfile import PlanError, bundled_plans, parse_plan
from tracker.phases.rubricrules import (EVIDENCE_MATCHES, MINIMUM_KINDS, MinimumKind, Param,
                                        kind_of, register_minimum_kind)
from tracker.phases.services import plan_for_year
from tracker.planning import editing, services
from tracker.tasks.models import Task, TaskStatus

#: Each kind of minimum in the table, with parameters for row 1-4-1's second minimum (the
#: study sessions) and what it counts when three sessions are accepted, the first of them
#: marked "on ideology". A kind added to the table without an example here fails
#: ``test_every_kind_has_an_example``.
EXAMPLES = {"accepted": ({}, 3), "marked": ({"flag": "ideology"}, 1)}


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(MINIMUM_KINDS)


def without_mark(need: dict, duties: list) -> str:
    for duty in duties:
        if need["besides"] not in [f["code"] for f in (duty.occurrence or {}).get("flags", [])]:
            return f"the duty {duty.code} records no mark {need['besides']!r}"
    return ""


@pytest.fixture
def unmarked():
    """A kind of minimum the town might want: occurrences held without a mark."""
    kind = register_minimum_kind(MinimumKind(
        "unmarked", (Param("besides", "Only occurrences without the mark"),), without_mark,
        lambda need, ids, work: sum(work.accepted(d) - work.marked(d, need["besides"])
                                    for d in ids)))
    try:
        yield kind
    finally:
        del MINIMUM_KINDS[kind.name]


def with_minimum(data: dict, params: dict) -> dict:
    """The plan's data with row 1-4-1's second minimum of the kind ``params`` give."""
    data = copy.deepcopy(data)
    need = editing.find_row(data, "1-4-1")["requires"][1]
    for kind in MINIMUM_KINDS.values():
        for param in kind.params:
            need.pop(param.key, None)
    need.update(params)
    return data


def accept_three_sessions(unit, year):
    """Three of the unit's study sessions accepted, the first marked "on ideology"."""
    sessions = db.session.scalars(
        sa.select(Task).join(Duty, Duty.id == Task.duty_id)
        .where(Task.unit_id == unit.id, Task.year == year, Duty.code == "study-session")
        .order_by(Task.due_date)).all()
    for task in sessions[:3]:
        task.status = TaskStatus.ACCEPTED
    sessions[0].flags = ["ideology"]
    db.session.commit()


def through_everything(admin, draft, town, params: dict, expected: int):
    """The minimum of ``params`` written into the draft: the loader takes it, the row's
    page shows each parameter in its field and gives the plan back unchanged, and once
    loaded for the year the unit's count is ``expected``."""
    data = with_minimum(plan_of(draft), params)
    services.save_draft_data(draft, data, utcnow())
    db.session.commit()
    version = db.session.get(PlanVersion, draft.id)
    assert services.draft_errors(version) == []
    spec = parse_plan(version.source.encode(), "draft")
    need = next(r for r in spec.leaves() if r.code == "1-4-1").requires[1]
    assert kind_of(need).name == kind_of(params).name
    assert {k: need[k] for k in params} == params

    url = f"/plans/{draft.id}/rubric/1-4-1"
    html = page(admin, url)
    for key, value in params.items():
        assert re.search(rf'name="requires-1-{key}"[^>]*value="{value}"', html), key
    post(admin, url, form_data(html, "row-form"))
    assert plan_of(draft) == data

    services.publish(version, None, datetime(draft.year, 1, 5, 2, tzinfo=timezone.utc),
                     None, False, previewed=services.revision(version))
    db.session.commit()
    accept_three_sessions(town.units.a, draft.year)
    plan = plan_for_year(draft.year)
    rows = results(plan, draft.year, [town.units.a], date(draft.year, 12, 31))[town.units.a.id]
    row = next(r for r in rows.rows.values() if r.node.code == "1-4-1")
    assert [m.label for m in row.minimums] == ["集中学习研讨", "有关意识形态内容的学习"]
    assert row.minimums[1].count == expected
    assert row.minimums[0].count == 3  # the first minimum, of accepted work, as it was


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_kind_goes_through_the_plan_file_the_editor_and_the_scoring(
        admin, draft, town, kind):
    params, expected = EXAMPLES[kind]
    through_everything(admin, draft, town, params, expected)


def test_a_kind_the_table_does_not_hold_is_refused(admin, draft):
    data = with_minimum(plan_of(draft), {"besides": "ideology"})
    services.save_draft_data(draft, data, utcnow())
    db.session.commit()
    errors = services.draft_errors(db.session.get(PlanVersion, draft.id))
    assert len(errors) == 1
    assert "rubric row 1-4-1 requires[1]: unknown key 'besides' (allowed: at_least, deduct, " \
           "duties, flag, label, label_en)" in errors[0]
    # The row's page has no field for it, and keeps it as written.
    url = f"/plans/{draft.id}/rubric/1-4-1"
    html = page(admin, url)
    assert 'name="requires-1-besides"' not in html
    post(admin, url, form_data(html, "row-form"))
    assert plan_of(draft) == data


def test_a_kind_registered_in_the_table_works_everywhere(admin, draft, town, unmarked):
    through_everything(admin, draft, town, {"besides": "ideology"}, 2)
    assert "Only occurrences without the mark" in page(
        admin, f"/plans/{draft.id}/rubric/1-4-1")


def test_a_kind_checks_its_parameters_and_a_minimum_is_of_one_kind(unmarked):
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    line = 'flag = "ideology", at_least = 1'
    assert line in text
    with pytest.raises(PlanError, match=r"requires\[1\]: the duty study-session records no "
                                        r"mark 'weekly'"):
        parse_plan(text.replace(line, 'besides = "weekly", at_least = 1').encode(), "plan")
    with pytest.raises(PlanError, match=r"requires\[1\]: 'flag' and 'besides' belong to two "
                                        r"kinds of minimum \(marked, unmarked\): a minimum "
                                        r"counts one way"):
        parse_plan(text.replace(line, line + ', besides = "ideology"').encode(), "plan")


def test_the_table_refuses_a_kind_it_could_not_tell_apart(unmarked):
    count = MINIMUM_KINDS["accepted"].count
    for kind, message in (
            (MinimumKind("unmarked", (Param("other", "x"),), without_mark, count),
             "named 'unmarked' is registered already"),
            (MinimumKind("twice", (Param("flag", "x"),), without_mark, count),
             "names a key another kind or every minimum has, or names it twice: 'flag'"),
            (MinimumKind("deduct", (Param("deduct", "x"),), without_mark, count),
             "'deduct'"),
            (MinimumKind("plain", (), without_mark, count),
             "has no key of its own, like 'accepted'")):
        with pytest.raises(ValueError, match=re.escape(message)):
            register_minimum_kind(kind)
    assert list(MINIMUM_KINDS) == ["accepted", "marked", "unmarked"]


@pytest.mark.parametrize("match", sorted(EVIDENCE_MATCHES))
def test_every_evidence_match_is_read_offered_and_scored(admin, draft, match):
    data = plan_of(draft)
    editing.find_row(data, "1-4-1")["evidence_match"] = match
    services.save_draft_data(draft, data, utcnow())
    db.session.commit()
    assert services.draft_errors(db.session.get(PlanVersion, draft.id)) == []
    html = page(admin, f"/plans/{draft.id}/rubric/1-4-1")
    offered = re.findall(r'name="evidence_match"[^>]*value="(\w+)"', html)
    assert offered == list(EVIDENCE_MATCHES)
    assert re.findall(r'checked[^>]*name="evidence_match"[^>]*value="(\w+)"', html) == [match]
    one_of_two = [(1, 1, None), (1, 0, date(2026, 2, 28))]
    points, _ = evidence_verdict(4, one_of_two, match)
    assert points == EVIDENCE_MATCHES[match].met([True, False]) * 4


def test_an_evidence_match_the_table_does_not_hold_is_refused():
    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    with pytest.raises(PlanError, match=r"'evidence_match' must be \"all\" \(each duty named "
                                        r"in 'evidence' has accepted work\) or \"any\" \(one "
                                        r"of them has\)"):
        parse_plan(text.replace('code = "1-4-1"\n', 'code = "1-4-1"\nevidence_match = "most"\n')
                   .encode(), "plan")
