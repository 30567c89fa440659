"""docs/seed-coverage.md: every one of the seed's 74 obligations is listed, and every duty,
rubric row or phase it names exists in the bundled plan; dates the seed does not give are
marked as the plan's choice."""

import re
from pathlib import Path

from tracker.phases.planfile import read_plan

COVERAGE = Path(__file__).resolve().parents[2] / "docs" / "seed-coverage.md"


def entries():
    rows = [line for line in COVERAGE.read_text("utf-8").splitlines()
            if re.match(r"\| \d+ \|", line)]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_every_obligation_is_listed_once():
    assert [int(number) for number, *_ in entries()] == list(range(1, 75))


def test_every_duty_row_and_phase_named_exists():
    plan = read_plan("shuyuan-2020")
    known = ({d.code for d in plan.duties} | {n.code for n in plan.rubric_nodes()}
             | {p.code for p in plan.phases} | {"[plan]"})
    named = {code for _, _, where, _ in entries() for code in re.findall(r"`([^`]+)`", where)}
    assert named and not named - known, sorted(named - known)


def test_the_plans_choices_are_marked_and_the_document_quoted():
    plan = read_plan("shuyuan-2020")
    for duty in plan.duties:
        # The seed gives no day for any duty: none may claim the document gave it; what
        # it says of when is quoted (verbatim: tests/assessment/test_verdict.py), the
        # plan's own arrangement stands apart.
        assert duty.due["source"] == "plan", duty.code
        assert duty.due.get("document") or duty.due.get("note"), \
            f"{duty.code}: neither the seed's words nor the plan's arrangement of when"
    duties = {d.code: d for d in plan.duties}
    for _, _, where, how in entries():
        if how.startswith("plan's choice"):
            named = [c for c in re.findall(r"`([^`]+)`", where) if c in duties]
            assert named, where
