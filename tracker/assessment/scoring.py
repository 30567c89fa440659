"""Scoring on the rubric and laying out the scoring sheet. Pure: data in, data out."""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tracker.phases.rubricrules import DEFAULT_MATCH, evidence_match

ZERO = Decimal("0")


#: Why a row's evidence supports less than its points (``evidence_verdict``).
GAP_NO_TASK = "no_task"  # the unit has no task that could show it: never made, or cancelled
GAP_NOT_DUE = "not_due"  # what would show it is not due yet
GAP_MISSING = "missing"  # due and not accepted: the seed's "未能提供X"


def evidence_verdict(points, evidence: list[tuple], match: str = DEFAULT_MATCH,
                     today: date | None = None) -> tuple[Decimal, str]:
    """The row's score the evidence supports by its 扣分标准 ("未能提供X": the row is lost
    when X cannot be shown), and why it falls short (a ``GAP_*``, or "").

    ``evidence`` holds, per duty the plan names as X, (the unit's tasks of it this year,
    how many are accepted, the first due date of those not accepted). Points come from
    accepted evidence alone: full points when the row's ``match`` is met (its entry in
    ``EVIDENCE_MATCHES``: each named duty has accepted work, or one has); none when it is
    not, is not due yet, or was never asked of the unit (a plan started late, a task
    cancelled). Work beyond the 扣分标准
    (a second meeting, the articles of 3-1-1) never costs the row: it is counted against
    the 工作要求's minimums instead.
    """
    asked = [(accepted, first) for total, accepted, first in evidence if total > 0]
    if not asked:
        return ZERO, GAP_NO_TASK
    if evidence_match(match).met([accepted > 0 for accepted, _ in asked]):
        return Decimal(str(points)), ""
    lacking = [first for accepted, first in asked if not accepted]
    if today is not None and all(first is not None and first >= today for first in lacking):
        return ZERO, GAP_NOT_DUE
    return ZERO, GAP_MISSING


def with_minimums(score: Decimal, minimums: list["Minimum"], waived=()) -> Decimal:
    """``score`` less the amounts of the minimums not met (those not ``waived``, by label),
    never below zero."""
    short = sum((m.deduct for m in minimums if not m.met and m.label not in waived), ZERO)
    return max(ZERO, score - short)


@dataclass(frozen=True)
class Minimum:
    """A minimum of a row's 工作要求 (不少于6次) and how far the unit's accepted work goes."""

    label: str
    label_en: str
    at_least: int
    count: int
    #: The points a shortfall takes off (the plan's choice; the coordinator may waive it).
    deduct: Decimal

    @property
    def met(self) -> bool:
        return self.count >= self.at_least

    @property
    def reason(self) -> str:
        """The reason a shortfall's deduction is recorded with (in the plan's language)."""
        return (f"{shortfall_prefix(self.label)}{self.count}/{self.at_least}"
                f"（扣{self.deduct.normalize():f}分为本系统设定）")


def shortfall_prefix(label: str) -> str:
    """How the reason of a minimum's shortfall begins (``Minimum.reason``)."""
    return f"未达到《工作方案》要求：{label} "


def scaled_total(raw: Decimal, possible: int | Decimal, total: int | Decimal,
                 not_applicable: str) -> Decimal:
    """A unit's total by the plan's rule for rows that do not apply to its kind:
    ``rescale`` (the score over the applicable points, scaled to ``total``, one decimal)
    or ``full`` (such rows count their full points)."""
    if not_applicable == "full":
        return raw + (total - possible)
    if possible <= 0:
        return ZERO
    return (raw * total / possible).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def row_score(points: int | Decimal, deducted: Decimal) -> Decimal:
    """A row's points less its deductions, never below zero."""
    return max(ZERO, Decimal(points) - deducted)


@dataclass
class SheetRow:
    """One leaf row of the scoring sheet, with the group and item cells it sits under.

    ``group_span``/``item_span`` are set on the first row of a group or item (the
    number of rows its merged cell covers) and are 0 on the rows below it.
    """

    code: str
    node_id: int
    group_label: str
    group_span: int
    item_label: str
    item_span: int
    requirement: str
    deduction: str
    points: int | Decimal


@dataclass
class Layout:
    rows: list[SheetRow] = field(default_factory=list)
    # (code, label, points)
    groups: list[tuple[str, str, int | Decimal]] = field(default_factory=list)
    total: int | Decimal = 0


def _points(value: int | Decimal) -> str:
    return f"（{value}分）"


def _coded(node, text: str) -> str:
    # As the document writes it: "1-1-1 明确…", or "2-3-3正确应对…" where it has no space.
    return f"{node.code}{' ' if getattr(node, 'code_space', True) else ''}{text}"


def sheet_layout(groups) -> Layout:
    """The annex's layout from rubric groups (objects with ``code``, ``title``,
    ``points``, ``children``; leaves with ``requirement``, ``deduction``, ``numbered``)."""
    layout = Layout()
    for group in groups:
        group_label = f"{group.code}.{group.title}{_points(group.points)}"
        layout.groups.append((group.code, group_label, group.points))
        layout.total += group.points
        first_of_group = len(layout.rows)
        for child in group.children:
            if child.children:
                item_label = f"{_coded(child, child.title)}{_points(child.points)}"
                leaves = child.children
            else:
                item_label, leaves = "", [child]
            first_of_item = len(layout.rows)
            for leaf in leaves:
                requirement = (_coded(leaf, leaf.requirement) if leaf.numbered
                               else leaf.requirement)
                layout.rows.append(SheetRow(
                    code=leaf.code, node_id=getattr(leaf, "id", 0), group_label=group_label,
                    group_span=0, item_label=item_label, item_span=0,
                    requirement=requirement, deduction=leaf.deduction, points=leaf.points))
            layout.rows[first_of_item].item_span = len(layout.rows) - first_of_item
        layout.rows[first_of_group].group_span = len(layout.rows) - first_of_group
    return layout


def rank(totals: dict) -> dict:
    """Competition ranking (1, 2, 2, 4) of keys by total, highest first."""
    ordered = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    ranks, previous, position = {}, None, 0
    for index, (key, total) in enumerate(ordered, start=1):
        if total != previous:
            position, previous = index, total
        ranks[key] = position
    return ranks


def rank_within(totals: dict, kinds: dict, groups: list[dict]) -> dict:
    """Ranks of ``totals``' keys within each of ``groups`` (the plan's ranking groups,
    ``{title, kinds}``; ``kinds``: key -> unit kind): {key: (group, rank)}."""
    within = {}
    for group in groups:
        members = {key: total for key, total in totals.items() if kinds[key] in group["kinds"]}
        within.update({key: (group, place) for key, place in rank(members).items()})
    return within
