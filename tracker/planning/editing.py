"""Editing a plan file's data (the dict ``tomllib`` reads) as the editor does: finding
phases, duties and rubric nodes, adding and removing them, and renaming them with every
reference that names them. Pure: no app, no database.

A draft may be incomplete or wrong while it is written; these functions read what they
can and never drop what they do not understand (keys the editor has no field for stay).
"""

import math
import re
from dataclasses import dataclass

_STEP = {"g": "groups", "i": "items", "r": "rows"}


def tables(parent, key: str) -> list[dict]:
    """``parent[key]`` as a list of tables (what of it is one), creating none."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []


def table(data: dict, key: str) -> dict:
    """``data[key]`` as a table, made if missing (or replaced if it is not one)."""
    value = data.get(key)
    if not isinstance(value, dict):
        value = data[key] = {}
    return value


def set_text(target: dict, key: str, value: str | None) -> None:
    """Set a text key, or drop it when the text is empty (the loader's default)."""
    value = (value or "").strip()
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def text_of(target, key: str) -> str:
    """A key's text, or empty where it is missing or not text."""
    value = target.get(key) if isinstance(target, dict) else None
    return value if isinstance(value, str) else ""


def code_list(value) -> list[str]:
    """A list of codes as the plan file writes it: one string or a list of them."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# -- phases ---------------------------------------------------------------------------

def phases(data: dict) -> list[dict]:
    """The plan's phases."""
    return tables(data, "phases")


def rename_phases(data: dict, renamed: dict[str, str]) -> None:
    """Phases' new codes (old -> new, all at once, so that two phases may swap codes), in
    every duty that names one."""
    for duty in duties(data):
        if duty.get("phase") in renamed:
            duty["phase"] = renamed[duty["phase"]]


def drop_phase(data: dict, code: str) -> int:
    """Duties that named a removed phase name none (their dates place them); how many."""
    count = 0
    for duty in duties(data):
        if duty.get("phase") == code:
            del duty["phase"]
            count += 1
    return count


# -- duties ---------------------------------------------------------------------------

def duties(data: dict) -> list[dict]:
    """The plan's duties."""
    return tables(data, "duties")


def find_duty(data: dict, code: str) -> dict | None:
    """The (first) duty of that code."""
    return next((d for d in duties(data) if d.get("code") == code), None)


def add_duty(data: dict, code: str, title: str) -> dict:
    """A new duty for every assessed unit, serving no row and falling on no date yet: the
    loader's messages say what it still needs."""
    duty = {"code": code, "title": title.strip(), "applies_to": "units", "rubric": []}
    if not isinstance(data.get("duties"), list):
        data["duties"] = []
    data["duties"].append(duty)
    return duty


def rename_duty(data: dict, old: str, new: str) -> None:
    """A duty's new code, in every rubric row's evidence and minimums that name it."""
    for _, row in rows(data):
        evidence = row.get("evidence")
        if isinstance(evidence, list):
            row["evidence"] = [new if c == old else c for c in evidence]
        for need in tables(row, "requires"):
            named = need.get("duties")
            if named == old:
                need["duties"] = new
            elif isinstance(named, list):
                need["duties"] = [new if c == old else c for c in named]


def remove_duty(data: dict, code: str) -> list[str]:
    """Remove a duty and what names it: rows' evidence, and minimums (one counting only
    it goes); the rows whose evidence or minimums changed."""
    data["duties"] = [d for d in data.get("duties", []) if not (
        isinstance(d, dict) and d.get("code") == code)]
    changed = []
    for _, row in rows(data):
        before = repr((row.get("evidence"), row.get("requires")))
        evidence = row.get("evidence")
        if isinstance(evidence, list):
            row["evidence"] = [c for c in evidence if c != code]
            if not row["evidence"]:
                del row["evidence"]
        if isinstance(row.get("requires"), list):
            kept = []
            for need in row["requires"]:
                if isinstance(need, dict):
                    named = [c for c in code_list(need.get("duties")) if c != code]
                    if not named:
                        continue
                    if named != code_list(need.get("duties")):
                        need["duties"] = named[0] if len(named) == 1 else named
                kept.append(need)
            row["requires"] = kept
            if not kept:
                del row["requires"]
        if repr((row.get("evidence"), row.get("requires"))) != before:
            changed.append(text_of(row, "code"))
    return changed


def serving(data: dict, row_code: str) -> list[dict]:
    """The duties that serve a rubric row."""
    return [d for d in duties(data) if row_code in code_list(d.get("rubric"))]


# -- the rubric -----------------------------------------------------------------------

@dataclass
class Node:
    """A rubric node where it stands: ``path`` ("g0", "g0/i1", "g0/i1/r2", "g4/r0")."""

    path: str
    kind: str  # group | item | row
    depth: int
    table: dict

    @property
    def code(self) -> str:
        return text_of(self.table, "code")

    @property
    def child_key(self) -> str | None:
        """Where its children go: a group's items or rows, an item's rows."""
        if self.kind == "row":
            return None
        if self.kind == "group" and "rows" not in self.table and "items" in self.table:
            return "items"
        return "rows" if self.kind == "item" or "rows" in self.table else None


def rubric(data: dict) -> dict:
    """The [rubric] table, made if missing."""
    return table(data, "rubric")


def walk(data: dict):
    """Every rubric node, depth first (groups, their items, their rows)."""
    rubric_table = data.get("rubric")
    for g, group in enumerate(tables(rubric_table, "groups")):
        path = f"g{g}"
        yield Node(path, "group", 0, group)
        for i, item in enumerate(tables(group, "items")):
            yield Node(f"{path}/i{i}", "item", 1, item)
            for r, row in enumerate(tables(item, "rows")):
                yield Node(f"{path}/i{i}/r{r}", "row", 2, row)
        for r, row in enumerate(tables(group, "rows")):
            yield Node(f"{path}/r{r}", "row", 1, row)


def rows(data: dict) -> list[tuple[str, dict]]:
    """The leaf rows (what duties serve and units are scored on), with their paths."""
    return [(n.path, n.table) for n in walk(data) if n.kind == "row"]


def find_row(data: dict, code: str) -> dict | None:
    """The (first) rubric row of that code."""
    return next((row for _, row in rows(data) if row.get("code") == code), None)


def node_at(data: dict, path: str) -> Node | None:
    """The rubric node at a path."""
    return next((n for n in walk(data) if n.path == path), None)


def children(node: Node) -> list[dict]:
    """A group's or item's items and rows."""
    return tables(node.table, "items") + tables(node.table, "rows")


def points_of(value) -> int | float | None:
    """Points as the loader takes them: a whole number or one in halves, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not (value * 2).is_integer():
            return None
        return int(value) if value.is_integer() else value
    return value


@dataclass
class Sum:
    """A node's points beside its children's (or the total beside the groups')."""

    points: int | float | None
    children: int | float | None

    @property
    def adds_up(self) -> bool:
        return self.points is not None and self.points == self.children


def sums(data: dict) -> dict[str, Sum]:
    """For the rubric ("") and each group and item: its points and its children's."""
    result = {}
    groups = tables(data.get("rubric"), "groups")
    result[""] = Sum(points_of(rubric(data).get("total")), _total(groups))
    for node in walk(data):
        if node.kind != "row":
            result[node.path] = Sum(points_of(node.table.get("points")),
                                    _total(children(node)))
    return result


def _total(nodes: list[dict]) -> int | float | None:
    values = [points_of(n.get("points")) for n in nodes]
    return None if None in values else sum(values)


def rubric_codes(data: dict) -> set[str]:
    """Every code in the rubric."""
    return {n.code for n in walk(data)}


def _free_code(prefix: str, start: int, taken: set[str]) -> str:
    number = start
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def add_group(data: dict) -> Node:
    """A new, empty group at the end of the rubric."""
    groups = rubric(data).setdefault("groups", [])
    code = _free_code("", len(groups) + 1, rubric_codes(data))
    groups.append({"code": code, "title": "", "points": 0})
    return node_at(data, f"g{len(groups) - 1}")


def add_child(data: dict, path: str, kind: str) -> Node | None:
    """A new item (``kind = "item"``, in a group) or row (in a group or an item) at the
    end of the node at ``path``; None where there is no such node or it cannot hold one."""
    parent = node_at(data, path)
    if parent is None or parent.kind == "row" or (kind == "item" and parent.kind != "group"):
        return None
    key = "items" if kind == "item" else "rows"
    other = "rows" if key == "items" else "items"
    if tables(parent.table, other):
        return None  # a group holds items or rows, not both
    siblings = parent.table.setdefault(key, [])
    code = _free_code(f"{parent.code}-", len(siblings) + 1, rubric_codes(data))
    new = {"code": code, "title": "", "points": 0} if kind == "item" else \
        {"code": code, "requirement": "", "deduction": "", "points": 0}
    siblings.append(new)
    return node_at(data, f"{path}/{kind[0]}{len(siblings) - 1}")


def remove_node(data: dict, path: str) -> list[str]:
    """Remove the node at ``path`` and all below it; the duties serving its rows no
    longer name them. The codes of the rows removed."""
    node = node_at(data, path)
    if node is None:
        return []
    gone = [n.code for n in walk(data) if n.kind == "row" and
            (n.path == path or n.path.startswith(path + "/"))]
    parent_path, _, last = path.rpartition("/")
    container = rubric(data) if not parent_path else node_at(data, parent_path).table
    siblings = container[_STEP[last[0]]]
    # The index counts tables only (as walk does): find this very table.
    siblings[:] = [t for t in siblings if t is not node.table]
    for duty in duties(data):
        if isinstance(duty.get("rubric"), list):
            duty["rubric"] = [c for c in duty["rubric"] if c not in gone]
    return gone


def rename_row(data: dict, old: str, new: str) -> None:
    """A rubric row's new code, in every duty that serves it."""
    for duty in duties(data):
        if isinstance(duty.get("rubric"), list):
            duty["rubric"] = [new if c == old else c for c in duty["rubric"]]


# -- where a loader's message points --------------------------------------------------

_DUTY_ENTRY = re.compile(r"duties\[\d+\] \(([^)]+)\)|\bduty ([A-Za-z0-9][A-Za-z0-9._-]*)")
_ROW_ENTRY = re.compile(r"rubric row ([A-Za-z0-9][A-Za-z0-9._-]*)"
                        r"|rubric\.groups\[[^\]]*\][^ ]* \(([^)]+)\)")


def locate(data: dict, message: str) -> tuple[str, str | None] | None:
    """The editor page a loader's message is about: ("duty", code), ("row", code),
    ("rubric", None), ("phases", None) or ("plan", None); None where no page is."""
    text = message.partition(": ")[2] or message
    entry = text.split(": ", 1)[0]
    if match := _ROW_ENTRY.search(entry):
        code = match.group(1) or match.group(2)
        return ("row", code) if find_row(data, code) is not None else ("rubric", None)
    if match := _DUTY_ENTRY.search(entry):
        code = match.group(1) or match.group(2)
        return ("duty", code) if find_duty(data, code) is not None else None
    if entry.startswith("phases[") or "no [[phases]]" in text:
        return "phases", None
    if entry.startswith("[rubric]") or entry.startswith("rubric.groups"):
        return "rubric", None
    if entry.startswith(("[plan]", "[defaults]")):
        return "plan", None
    if entry.startswith("[[duties]]"):
        if match := _ROW_ENTRY.search(text):
            return ("row", match.group(1)) if find_row(data, match.group(1)) else None
    return None


def summary(data: dict) -> dict:
    """What a plan holds, in figures (for the version's page)."""
    meta = data.get("plan") if isinstance(data.get("plan"), dict) else {}
    sum_ = sums(data)[""]
    return {"title": text_of(meta, "title"), "document_number": text_of(meta, "document_number"),
            "phases": len(phases(data)), "duties": len(duties(data)), "rows": len(rows(data)),
            "points": sum_.children, "total": sum_.points}
