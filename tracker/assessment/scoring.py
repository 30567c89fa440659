"""Scoring on the rubric and laying out the scoring sheet. Pure: data in, data out."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")


def suggested_score(points: int | Decimal, evidence: list[tuple[int, int]], match: str = "all") -> Decimal:
    """The row's score the evidence supports, by its 扣分标准 ("未能提供X": the row is lost
    when X cannot be shown): full points when each duty the plan names as X has accepted
    work (``match="any"``: when one of them has), none otherwise.

    ``evidence`` holds, per named duty, (the unit's tasks of it this year, how many are
    accepted). A duty that asks nothing of the unit this year (no task: e.g. a contingency
    plan for a congress never called) is not held against it; so a row that asks nothing
    keeps its points. Work beyond the 扣分标准 (a second meeting, the articles of 3-1-1)
    never costs the row: it is counted against the 工作要求's minimums instead.
    """
    asked = [accepted > 0 for total, accepted in evidence if total > 0]
    met = (any(asked) if match == "any" else all(asked)) if asked else True
    return Decimal(points) if met else ZERO


@dataclass(frozen=True)
class Minimum:
    """A minimum of a row's 工作要求 (不少于6次) and how far the unit's accepted work goes."""

    label: str
    label_en: str
    at_least: int
    count: int
    #: The points a shortfall suggests taking off (the coordinator takes or leaves it).
    deduct: Decimal

    @property
    def met(self) -> bool:
        return self.count >= self.at_least

    @property
    def reason(self) -> str:
        """The reason a shortfall's deduction is recorded with (in the plan's language)."""
        return f"未达到工作要求：{self.label} {self.count}/{self.at_least}"


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
