"""Reading and validating a plan file (TOML). Pure: no database, no app.

A plan file is data, not code, so another town or another year is a new file.
``parse_plan`` either returns a complete, consistent ``PlanSpec`` or raises
``PlanError`` naming the file, the entry and what is wrong.
"""

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.core.errors import TrackerError
from tracker.phases.recurrence import RecurrenceError, expand_due, parse_month_day, phase_of

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "plans"
EVIDENCE_KINDS = ("document", "photo", "record", "statement")
UNIT_KINDS = ("branch", "office", "enterprise", "coordinator")
APPLIES_TO_ALIASES = {"units": ["branch", "office", "enterprise"], "coordinator": ["coordinator"]}
DEFAULT_REMINDERS = {"before": [7, 1, 0], "overdue_every": 7}
#: A leap and a common year: a year-agnostic plan must work in both.
CHECK_YEARS = (2024, 2025)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PlanError(TrackerError):
    """A plan file that cannot be loaded."""


@dataclass
class PhaseSpec:
    code: str
    title: str
    title_en: str
    description: str
    start: str
    end: str


@dataclass
class RubricNodeSpec:
    code: str
    title: str
    title_en: str
    points: int
    requirement: str = ""
    deduction: str = ""
    numbered: bool = True
    children: list["RubricNodeSpec"] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self):
        """This node and all below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_json(self) -> dict:
        data = {"code": self.code, "title": self.title, "title_en": self.title_en,
                "points": self.points, "children": [c.to_json() for c in self.children]}
        if self.is_leaf:
            data.update(requirement=self.requirement, deduction=self.deduction,
                        numbered=self.numbered)
        return data


@dataclass
class DutySpec:
    code: str
    title: str
    title_en: str
    description: str
    rubric: list[str]
    applies_to: list[str]
    due: dict
    phase: str | None
    evidence: list[dict]
    reminders: dict

    def to_json(self) -> dict:
        return {"code": self.code, "title": self.title, "title_en": self.title_en,
                "description": self.description, "rubric": self.rubric,
                "applies_to": self.applies_to, "due": self.due, "phase": self.phase,
                "evidence": self.evidence, "reminders": self.reminders}


@dataclass
class PlanSpec:
    name: str
    title: str
    title_en: str
    issuer: str
    issuer_en: str
    document_number: str
    issued_on: date | None
    timezone: str
    rubric_title: str
    rubric_title_en: str
    rubric_total: int
    phases: list[PhaseSpec]
    rubric: list[RubricNodeSpec]
    duties: list[DutySpec]
    source_sha256: str

    def rubric_nodes(self):
        """Every rubric node, depth first."""
        for group in self.rubric:
            yield from group.walk()

    def leaves(self) -> list[RubricNodeSpec]:
        """The leaf rows, in order: what a unit is scored on."""
        return [node for node in self.rubric_nodes() if node.is_leaf]

    def to_json(self) -> dict:
        return {
            "name": self.name, "title": self.title, "title_en": self.title_en,
            "issuer": self.issuer, "issuer_en": self.issuer_en,
            "document_number": self.document_number,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "timezone": self.timezone,
            "phases": [vars(p).copy() for p in self.phases],
            "rubric_title": self.rubric_title, "rubric_title_en": self.rubric_title_en,
            "rubric_total": self.rubric_total,
            "rubric": [g.to_json() for g in self.rubric],
            "duties": [d.to_json() for d in self.duties],
        }


def bundled_plans() -> dict[str, Path]:
    """Plans shipped with tracker, by name."""
    return {path.stem: path for path in sorted(BUNDLED_DIR.glob("*.toml"))}


def read_plan(name_or_file: str) -> PlanSpec:
    """Read a bundled plan by name, or a plan file by path, and validate it."""
    path = Path(name_or_file)
    bundled = bundled_plans()
    if name_or_file in bundled:
        path = bundled[name_or_file]
    elif not path.is_file():
        names = ", ".join(bundled) or "none"
        raise PlanError(
            f"{name_or_file}: no such plan file, and no bundled plan of that name "
            f"(bundled: {names})"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan file: {exc.strerror}") from None
    return parse_plan(data, str(path))


def parse_plan(data: bytes, source: str) -> PlanSpec:
    """Parse and validate the bytes of a plan file; ``source`` names it in errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: invalid TOML: {exc}") from None
    return _Validator(source).plan(raw, hashlib.sha256(data).hexdigest())


class _Validator:
    """Walks the raw TOML, raising PlanError at the first problem."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, entry: str, message: str):
        raise PlanError(f"{self.source}: {entry}: {message}")

    # -- typed field readers -------------------------------------------------

    def table(self, parent: dict, key: str, entry: str, required=True) -> dict:
        value = parent.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(entry, f"'{key}' must be a table" if value is not None
                      else f"missing table '{key}'")
        return value

    def tables(self, parent: dict, key: str, entry: str) -> list[dict]:
        value = parent.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(entry, f"'{key}' must be an array of tables ([[{key}]])")
        return value

    def text(self, table: dict, key: str, entry: str, required=True, default="") -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.fail(entry, f"missing '{key}'")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(entry, f"'{key}' must be a non-empty string")
        return value.strip()

    def integer(self, table: dict, key: str, entry: str, minimum=0) -> int:
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(entry, f"'{key}' must be a whole number" if value is not None
                      else f"missing '{key}'")
        if value < minimum:
            self.fail(entry, f"'{key}' must be at least {minimum}, not {value}")
        return value

    def code(self, table: dict, entry: str) -> str:
        value = self.text(table, "code", entry)
        if not _CODE.match(value):
            self.fail(entry, f"code {value!r} may hold only letters, digits, '.', '_' and '-'")
        return value

    def only(self, table: dict, allowed: set[str], entry: str):
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(entry, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")

    def month_day(self, table: dict, key: str, entry: str) -> str:
        value = self.text(table, key, entry)
        try:
            parse_month_day(value)
        except RecurrenceError as exc:
            self.fail(entry, f"'{key}': {exc}")
        return value

    # -- sections ------------------------------------------------------------

    def plan(self, raw: dict, sha256: str) -> PlanSpec:
        self.only(raw, {"plan", "defaults", "phases", "rubric", "duties"}, "top level")
        meta = self.table(raw, "plan", "top level")
        self.only(meta, {"name", "title", "title_en", "issuer", "issuer_en", "document_number",
                         "issued_on", "timezone"}, "[plan]")
        issued_on = meta.get("issued_on")
        if issued_on is not None and type(issued_on) is not date:
            self.fail("[plan]", "'issued_on' must be a date such as 2020-05-12")
        tz = self.text(meta, "timezone", "[plan]")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail("[plan]", f"unknown timezone {tz!r} (use an IANA name like Asia/Shanghai)")

        defaults = self.table(raw, "defaults", "top level", required=False)
        self.only(defaults, {"reminders"}, "[defaults]")
        default_reminders = self.reminders(defaults, "[defaults]", DEFAULT_REMINDERS)

        phases = self.phases(raw)
        rubric_table = self.table(raw, "rubric", "top level")
        rubric, total = self.rubric(rubric_table)
        duties = self.duties(raw, phases, rubric, tz, default_reminders)
        name = self.text(meta, "name", "[plan]")
        if not _CODE.match(name):
            self.fail("[plan]", f"name {name!r} may hold only letters, digits, '.', '_' and '-'")
        return PlanSpec(
            name=name,
            title=self.text(meta, "title", "[plan]"),
            title_en=self.text(meta, "title_en", "[plan]", required=False),
            issuer=self.text(meta, "issuer", "[plan]", required=False),
            issuer_en=self.text(meta, "issuer_en", "[plan]", required=False),
            document_number=self.text(meta, "document_number", "[plan]", required=False),
            issued_on=issued_on,
            timezone=tz,
            rubric_title=self.text(rubric_table, "title", "[rubric]", required=False),
            rubric_title_en=self.text(rubric_table, "title_en", "[rubric]", required=False),
            rubric_total=total,
            phases=phases,
            rubric=rubric,
            duties=duties,
            source_sha256=sha256,
        )

    def phases(self, raw: dict) -> list[PhaseSpec]:
        phases, seen = [], set()
        items = self.tables(raw, "phases", "top level")
        if not items:
            self.fail("top level", "the plan has no [[phases]]")
        for i, item in enumerate(items):
            entry = f"phases[{i}]"
            code = self.code(item, entry)
            entry = f"phases[{i}] ({code})"
            self.only(item, {"code", "title", "title_en", "description", "start", "end"}, entry)
            if code in seen:
                self.fail(entry, f"duplicate phase code {code!r}")
            seen.add(code)
            start = self.month_day(item, "start", entry)
            end = self.month_day(item, "end", entry)
            if "02-29" in (start, end):
                self.fail(entry, "a phase cannot start or end on 02-29 (it must exist every year)")
            if end < start:
                self.fail(entry, f"ends ({end}) before it starts ({start})")
            phases.append(PhaseSpec(
                code=code, title=self.text(item, "title", entry),
                title_en=self.text(item, "title_en", entry, required=False),
                description=self.text(item, "description", entry, required=False),
                start=start, end=end,
            ))
        return phases

    def rubric(self, table: dict) -> tuple[list[RubricNodeSpec], int]:
        self.only(table, {"title", "title_en", "total", "groups"}, "[rubric]")
        total = self.integer(table, "total", "[rubric]")
        groups = [self.rubric_node(g, f"rubric.groups[{i}]", "group")
                  for i, g in enumerate(self.tables(table, "groups", "[rubric]"))]
        if not groups:
            self.fail("[rubric]", "the rubric has no [[rubric.groups]]")
        seen = set()
        for group in groups:
            for node in group.walk():
                if node.code in seen:
                    self.fail("[rubric]", f"duplicate rubric code {node.code!r}")
                seen.add(node.code)
        points = sum(g.points for g in groups)
        if points != total:
            self.fail("[rubric]", f"the groups' points add up to {points}, not the total {total}")
        return groups, total

    def rubric_node(self, item: dict, entry: str, kind: str) -> RubricNodeSpec:
        """A group (with items or rows), an item (with rows) or a leaf row."""
        code = self.code(item, entry)
        entry = f"{entry} ({code})"
        if kind == "row":
            self.only(item, {"code", "title", "title_en", "points", "requirement", "deduction",
                             "numbered"}, entry)
            numbered = item.get("numbered", True)
            if not isinstance(numbered, bool):
                self.fail(entry, "'numbered' must be true or false")
            requirement = self.text(item, "requirement", entry)
            return RubricNodeSpec(
                code=code,
                title=self.text(item, "title", entry, required=False, default=requirement),
                title_en=self.text(item, "title_en", entry, required=False),
                points=self.integer(item, "points", entry),
                requirement=requirement,
                deduction=self.text(item, "deduction", entry),
                numbered=numbered,
            )
        child_key = "items" if kind == "group" and "items" in item else "rows"
        self.only(item, {"code", "title", "title_en", "points", child_key}, entry)
        raw_children = self.tables(item, child_key, entry)
        if not raw_children:
            self.fail(entry, "has no items or rows" if kind == "group" else "has no rows")
        child_kind = "item" if child_key == "items" else "row"
        children = [self.rubric_node(c, f"{entry}.{child_key}[{i}]", child_kind)
                    for i, c in enumerate(raw_children)]
        node = RubricNodeSpec(
            code=code, title=self.text(item, "title", entry),
            title_en=self.text(item, "title_en", entry, required=False),
            points=self.integer(item, "points", entry), children=children,
        )
        points = sum(c.points for c in children)
        if points != node.points:
            self.fail(entry, f"its {child_key} add up to {points} points, not {node.points}")
        return node

    def reminders(self, table: dict, entry: str, default: dict) -> dict:
        value = table.get("reminders")
        if value is None:
            return dict(default)
        if not isinstance(value, dict):
            self.fail(entry, "'reminders' must be a table like { before = [7, 1, 0], "
                             "overdue_every = 7 }")
        self.only(value, {"before", "overdue_every"}, f"{entry} reminders")
        before = value.get("before", default["before"])
        if not isinstance(before, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 366 for d in before
        ):
            self.fail(entry, "'reminders.before' must be a list of days from 0 to 366")
        every = value.get("overdue_every", default["overdue_every"])
        if isinstance(every, bool) or not isinstance(every, int) or not 0 <= every <= 366:
            self.fail(entry, "'reminders.overdue_every' must be a number of days from 0 "
                             "(never) to 366")
        return {"before": sorted(set(before), reverse=True), "overdue_every": every}

    def duties(self, raw, phases, rubric, tz, default_reminders) -> list[DutySpec]:
        nodes = {n.code: n for g in rubric for n in g.walk()}
        phase_codes = {p.code for p in phases}
        duties, seen, served = [], set(), set()
        allowed = {"code", "title", "title_en", "description", "rubric", "applies_to", "due",
                   "phase", "evidence", "reminders"}
        for i, item in enumerate(self.tables(raw, "duties", "top level")):
            code = self.code(item, f"duties[{i}]")
            entry = f"duties[{i}] ({code})"
            self.only(item, allowed, entry)
            if code in seen:
                self.fail(entry, f"duplicate duty code {code!r}")
            seen.add(code)

            codes = item.get("rubric", [])
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                self.fail(entry, "'rubric' must be a list of rubric row codes")
            for rc in codes:
                if rc not in nodes:
                    self.fail(entry, f"unknown rubric code {rc!r}")
                if not nodes[rc].is_leaf:
                    self.fail(entry, f"rubric code {rc!r} is a group or item, not a leaf row")
            served.update(codes)

            applies_to = self.applies_to(item, entry)
            phase = item.get("phase")
            if phase is not None and phase not in phase_codes:
                self.fail(entry, f"unknown phase {phase!r} (phases: {', '.join(sorted(phase_codes))})")
            due = self.due(item, entry, phases, phase, tz)
            duties.append(DutySpec(
                code=code, title=self.text(item, "title", entry),
                title_en=self.text(item, "title_en", entry, required=False),
                description=self.text(item, "description", entry, required=False),
                rubric=list(codes), applies_to=applies_to, due=due, phase=phase,
                evidence=self.evidence(item, entry),
                reminders=self.reminders(item, entry, default_reminders),
            ))
        unserved = [code for code, node in nodes.items() if node.is_leaf and code not in served]
        if unserved:
            self.fail("[[duties]]", f"rubric row {unserved[0]} is served by no duty "
                                    f"({len(unserved)} unserved: {', '.join(unserved)})")
        return duties

    def applies_to(self, item: dict, entry: str) -> list[str]:
        value = item.get("applies_to", "units")
        if isinstance(value, str):
            if value not in APPLIES_TO_ALIASES:
                self.fail(entry, f"'applies_to' must be \"units\", \"coordinator\" or a list "
                                 f"of unit kinds, not {value!r}")
            return list(APPLIES_TO_ALIASES[value])
        if (not isinstance(value, list) or not value
                or not all(isinstance(k, str) and k in UNIT_KINDS for k in value)):
            self.fail(entry, f"'applies_to' must list unit kinds from: {', '.join(UNIT_KINDS)}")
        return sorted(set(value), key=UNIT_KINDS.index)

    def due(self, item, entry, phases, phase, tz) -> dict:
        due = item.get("due")
        if not isinstance(due, dict) or len(due) != 1 or not ({"rrule", "dates"} & set(due)):
            self.fail(entry, "'due' must be { rrule = \"FREQ=...\" } or "
                             "{ dates = [\"MM-DD\", ...] }")
        if "dates" in due:
            dates = due["dates"]
            if not isinstance(dates, list) or not dates or not all(isinstance(d, str) for d in dates):
                self.fail(entry, "'due.dates' must be a non-empty list of \"MM-DD\" strings")
            due = {"dates": sorted(set(dates))}
        elif not isinstance(due["rrule"], str):
            self.fail(entry, "'due.rrule' must be a string")
        for year in CHECK_YEARS:
            try:
                days = expand_due(due, year, tz)
            except RecurrenceError as exc:
                self.fail(entry, f"due: {exc}")
            if not days:
                self.fail(entry, f"due: the rule gives no date in {year}")
            for day in days:
                if phase_of(day, phases, year, phase) is None:
                    where = f"phase {phase}" if phase else "any phase"
                    self.fail(entry, f"due date {day:%m-%d} lies outside {where}")
        return due

    def evidence(self, item: dict, entry: str) -> list[dict]:
        result = []
        for i, ev in enumerate(self.tables(item, "evidence", entry)):
            where = f"{entry} evidence[{i}]"
            self.only(ev, {"kind", "title", "title_en", "max_chars"}, where)
            kind = self.text(ev, "kind", where)
            if kind not in EVIDENCE_KINDS:
                self.fail(where, f"kind must be one of {', '.join(EVIDENCE_KINDS)}, not {kind!r}")
            data = {"kind": kind, "title": self.text(ev, "title", where),
                    "title_en": self.text(ev, "title_en", where, required=False)}
            if kind == "statement":
                data["max_chars"] = self.integer(ev, "max_chars", where, minimum=1)
            elif "max_chars" in ev:
                self.fail(where, "only a statement has max_chars")
            result.append(data)
        return result
