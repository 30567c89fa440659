"""Scoring on the rubric and laying out the scoring sheet. Pure: data in, data out."""

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0")


def suggested_score(points: int, total: int, accepted: int) -> Decimal:
    """The row's score the evidence supports: full points when every task serving the
    row is accepted, none when any is missing (the seed's 扣分标准: 未能提供… loses the row).

    A row no task of the unit serves asks nothing of it and keeps its points.
    """
    return Decimal(points) if accepted >= total else ZERO


def row_score(points: int, deducted: Decimal) -> Decimal:
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
    points: int


@dataclass
class Layout:
    rows: list[SheetRow] = field(default_factory=list)
    groups: list[tuple[str, str, int]] = field(default_factory=list)  # (code, label, points)
    total: int = 0


def _points(value: int) -> str:
    return f"（{value}分）"


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
                item_label = f"{child.code} {child.title}{_points(child.points)}"
                leaves = child.children
            else:
                item_label, leaves = "", [child]
            first_of_item = len(layout.rows)
            for leaf in leaves:
                requirement = (f"{leaf.code} {leaf.requirement}" if leaf.numbered
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
