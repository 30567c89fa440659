"""Reading and validating a plan file (TOML). Pure: no database, no app.

A plan file is data, not code, so another town or another year is a new file.
``parse_plan`` either returns a complete, consistent ``PlanSpec`` (the format's data
classes: ``tracker.phases.planspec``) or raises ``PlanError`` naming the file, the entry
and what is wrong.
"""

import hashlib
import math
import tomllib
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.core.errors import TrackerError
from tracker.phases.kinds import APPLIES_TO_ALIASES, ASSESSED_KINDS, ROW_ALIASES, UNIT_KINDS
from tracker.phases.planspec import (ASSESSMENT_COMBINE, ASSESSMENT_INPUTS, CODE,
                                     DEFAULT_CATCH_UP_DAYS, DEFAULT_RANKING,
                                     DEFAULT_REMINDERS, DUE_SOURCES, EVIDENCE_KINDS, MAX_DUTIES,
                                     MAX_PHASES, MAX_PLAN_BYTES, MAX_ROWS, NOT_APPLICABLE_RULES,
                                     SETTERS, DutySpec, PhaseSpec, PlanSpec, RubricNodeSpec)
from tracker.phases.recurrence import RecurrenceError, expand_due, parse_month_day, phase_of
from tracker.phases.rubricrules import (DEFAULT_MATCH, EVIDENCE_MATCHES, MinimumKindError,
                                        kind_of, minimum_keys)
from tracker.workdays.calendar import RULES as NON_WORKING_DAY_RULES

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "plans"
#: A leap and a common year: a year-agnostic plan must work in both.
CHECK_YEARS = (2024, 2025)


class PlanError(TrackerError):
    """A plan file that cannot be loaded."""


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
        with path.open("rb") as fh:
            data = fh.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan file: {exc.strerror}") from None
    return parse_plan(data, str(path))


def loads_toml(text: str) -> dict:
    """``tomllib.loads``, with arrays or tables nested too deeply for it (``a = [[[[...]]]]``:
    it recurses once per level) a TOMLDecodeError like any other bad TOML."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None


def _tables(parent, key: str) -> list:
    value = parent.get(key) if isinstance(parent, dict) else None
    return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []


def counts(raw: dict) -> dict[str, int]:
    """How many duties, rubric rows and phases a plan file's data holds (as far as it is
    one), before anything else of it is checked."""
    groups = _tables(raw.get("rubric"), "groups")
    rows = sum(len(_tables(g, "rows")) + sum(len(_tables(i, "rows")) for i in
                                              _tables(g, "items")) for g in groups)
    return {"duties": len(_tables(raw, "duties")), "rows": rows,
            "phases": len(_tables(raw, "phases"))}


def over_caps(raw: dict) -> str | None:
    """What a plan holds beyond MAX_DUTIES, MAX_ROWS or MAX_PHASES, in words; else None."""
    held = counts(raw)
    for what, cap in (("duties", MAX_DUTIES), ("rows", MAX_ROWS), ("phases", MAX_PHASES)):
        if held[what] > cap:
            noun = "rubric rows" if what == "rows" else what
            return f"the plan has {held[what]} {noun}; a plan holds at most {cap}"
    return None


def parse_plan(data: bytes, source: str) -> PlanSpec:
    """Parse and validate the bytes of a plan file; ``source`` names it in errors."""
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError(f"{source}: the plan file is larger than {MAX_PLAN_BYTES // 1000} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        raw = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: invalid TOML: {exc}") from None
    if message := over_caps(raw):
        raise PlanError(f"{source}: {message}")
    spec = _Validator(source).plan(raw, hashlib.sha256(data).hexdigest())
    spec.source = text
    return spec


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

    def points(self, table: dict, key: str, entry: str) -> int | float:
        """Points: a whole number, or one in halves (9.5); never negative."""
        value = table.get(key)
        if isinstance(value, float) and math.isfinite(value) and (value * 2).is_integer():
            value = int(value) if value.is_integer() else value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not (value * 2).is_integer()):
            self.fail(entry, f"'{key}' must be a number of points, whole or in halves (9.5)"
                      if value is not None else f"missing '{key}'")
        if value < 0:
            self.fail(entry, f"'{key}' must be at least 0, not {value}")
        return value

    def code(self, table: dict, entry: str) -> str:
        value = self.text(table, "code", entry)
        if not CODE.match(value):
            self.fail(entry, f"code {value!r} may hold only letters, digits, '.', '_' and '-'")
        return value

    def only(self, table: dict, allowed: set[str], entry: str):
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(entry, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")

    def boolean(self, table: dict, key: str, entry: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(entry, f"'{key}' must be true or false")
        return value

    def month_day(self, table: dict, key: str, entry: str) -> str:
        value = self.text(table, key, entry)
        try:
            parse_month_day(value)
        except RecurrenceError as exc:
            self.fail(entry, f"'{key}': {exc}")
        return value

    # -- sections ------------------------------------------------------------

    def plan(self, raw: dict, sha256: str) -> PlanSpec:
        self.only(raw, {"plan", "defaults", "phases", "rubric", "duties", "assessment"},
                  "top level")
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
        self.only(defaults, {"reminders", "non_working_day", "catch_up_days"}, "[defaults]")
        default_reminders = self.reminders(defaults, "[defaults]", DEFAULT_REMINDERS)
        non_working_day = self.non_working_day(defaults, "[defaults]", "keep")
        catch_up_days = DEFAULT_CATCH_UP_DAYS
        if "catch_up_days" in defaults:
            catch_up_days = self.integer(defaults, "catch_up_days", "[defaults]", minimum=1)
            if catch_up_days > 60:
                self.fail("[defaults]", "'catch_up_days' must be at most 60 working days")

        phases = self.phases(raw)
        rubric_table = self.table(raw, "rubric", "top level")
        rubric, total = self.rubric(rubric_table)
        duties = self.duties(raw, phases, rubric, tz, default_reminders)
        self.scoring(rubric, duties)
        rule = rubric_table.get("not_applicable", "rescale")
        if rule not in NOT_APPLICABLE_RULES:
            self.fail("[rubric]", f"'not_applicable' must be \"rescale\" (the score over the "
                                  f"applicable points, scaled to the total) or \"full\" (rows "
                                  f"that do not apply count their full points), not {rule!r}")
        name = self.text(meta, "name", "[plan]")
        if not CODE.match(name):
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
            catch_up_days=catch_up_days,
            ranking=self.ranking(rubric_table),
            not_applicable=rule,
            non_working_day=non_working_day,
            phases=phases,
            rubric=rubric,
            duties=duties,
            source_sha256=sha256,
            assessment=self.assessment(raw),
        )

    def assessment(self, raw: dict) -> dict:
        """The ``[assessment]`` table: how 年中评估, 群众评议, 抽查 and 督导 enter the 综合考评."""
        table = self.table(raw, "assessment", "top level", required=False)
        if not table:
            return {}
        self.only(table, {"combine", "inputs", "note"}, "[assessment]")
        combine = table.get("combine", "beside")
        if combine not in ASSESSMENT_COMBINE:
            self.fail("[assessment]", "'combine' must be \"beside\" (each input shown next to "
                                      "the rubric's total) or \"weighted\" (inputs weighted "
                                      "into the total)")
        inputs, seen = [], set()
        for i, item in enumerate(self.tables(table, "inputs", "[assessment]")):
            entry = f"[assessment] inputs[{i}]"
            self.only(item, {"kind", "label", "weight"}, entry)
            kind = item.get("kind")
            if kind not in ASSESSMENT_INPUTS or kind in seen:
                self.fail(entry, f"'kind' must be one of {', '.join(ASSESSMENT_INPUTS)}, "
                                 f"each once")
            seen.add(kind)
            weight = item.get("weight", 0)
            if combine == "weighted":
                weight = self.integer(item, "weight", entry, minimum=1)
            elif weight:
                self.fail(entry, "'weight' is for combine = \"weighted\"")
            inputs.append({"kind": kind, "label": self.text(item, "label", entry,
                                                           required=False), "weight": weight})
        if combine == "weighted" and sum(i["weight"] for i in inputs) >= 100:
            self.fail("[assessment]", "the inputs' weights must leave the rubric part of 100")
        return {"combine": combine, "inputs": inputs,
                "note": self.text(table, "note", "[assessment]", required=False)}

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

    def rubric(self, table: dict) -> tuple[list[RubricNodeSpec], int | float]:
        self.only(table, {"title", "title_en", "total", "groups", "not_applicable", "ranking"},
                  "[rubric]")
        total = self.points(table, "total", "[rubric]")
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

    def ranking(self, table: dict) -> list[dict]:
        """The groups units are ranked within (分类考核); each kind in at most one."""
        if "ranking" not in table:
            return [dict(g) for g in DEFAULT_RANKING]
        result, seen = [], set()
        for i, group in enumerate(self.tables(table, "ranking", "[rubric]")):
            where = f"rubric.ranking[{i}]"
            self.only(group, {"title", "title_en", "kinds"}, where)
            kinds = group.get("kinds")
            if (not isinstance(kinds, list) or not kinds
                    or not all(isinstance(k, str) and k in ASSESSED_KINDS for k in kinds)):
                self.fail(where, f"'kinds' must list unit kinds from: {', '.join(ASSESSED_KINDS)}")
            twice = seen & set(kinds)
            if twice:
                self.fail(where, f"kind {sorted(twice)[0]} is already in another ranking group")
            seen |= set(kinds)
            result.append({"title": self.text(group, "title", where),
                           "title_en": self.text(group, "title_en", where, required=False),
                           "kinds": sorted(set(kinds), key=UNIT_KINDS.index)})
        return result

    def rubric_node(self, item: dict, entry: str, kind: str) -> RubricNodeSpec:
        """A group (with items or rows), an item (with rows) or a leaf row."""
        code = self.code(item, entry)
        entry = f"{entry} ({code})"
        if kind == "row":
            self.only(item, {"code", "title", "title_en", "points", "requirement", "deduction",
                             "numbered", "code_space", "applies_to", "evidence",
                             "evidence_match", "requires", "party_org"}, entry)
            match = item.get("evidence_match", DEFAULT_MATCH)
            if match not in EVIDENCE_MATCHES:
                self.fail(entry, "'evidence_match' must be " + " or ".join(
                    f'"{m.name}" ({m.meaning})' for m in EVIDENCE_MATCHES.values()))
            numbered = self.boolean(item, "numbered", entry, True)
            requirement = self.text(item, "requirement", entry)
            evidence = item.get("evidence", [])
            if not isinstance(evidence, list) or not all(isinstance(c, str) for c in evidence):
                self.fail(entry, "'evidence' must be a list of duty codes")
            requires = item.get("requires", [])
            if not isinstance(requires, list) or not all(isinstance(r, dict) for r in requires):
                self.fail(entry, "'requires' must be a list of tables like { duty = \"...\", "
                                 "at_least = 2, label = \"...\", deduct = 1 }")
            return RubricNodeSpec(
                code=code,
                title=self.text(item, "title", entry, required=False, default=requirement),
                title_en=self.text(item, "title_en", entry, required=False),
                points=self.points(item, "points", entry),
                requirement=requirement,
                deduction=self.text(item, "deduction", entry),
                numbered=numbered,
                code_space=self.boolean(item, "code_space", entry, True),
                applies_to=self.applies_to(item, entry, default="units", assessed=True),
                evidence=list(evidence),
                evidence_match=match,
                requires=[dict(r) for r in requires],
                party_org=self.boolean(item, "party_org", entry, False),
            )
        child_key = "items" if kind == "group" and "items" in item else "rows"
        self.only(item, {"code", "title", "title_en", "points", "code_space", child_key}, entry)
        raw_children = self.tables(item, child_key, entry)
        if not raw_children:
            self.fail(entry, "has no items or rows" if kind == "group" else "has no rows")
        child_kind = "item" if child_key == "items" else "row"
        children = [self.rubric_node(c, f"{entry}.{child_key}[{i}]", child_kind)
                    for i, c in enumerate(raw_children)]
        node = RubricNodeSpec(
            code=code, title=self.text(item, "title", entry),
            title_en=self.text(item, "title_en", entry, required=False),
            points=self.points(item, "points", entry), children=children,
            code_space=self.boolean(item, "code_space", entry, True),
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
                   "phase", "evidence", "reminders", "occurrence"}
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
                occurrence=self.occurrence(item, entry),
            ))
        unserved = [code for code, node in nodes.items() if node.is_leaf and code not in served]
        if unserved:
            self.fail("[[duties]]", f"rubric row {unserved[0]} is served by no duty "
                                    f"({len(unserved)} unserved: {', '.join(unserved)})")
        return duties

    def applies_to(self, item: dict, entry: str, default="units", assessed=False) -> list[str]:
        value = item.get("applies_to", default)
        kinds = ASSESSED_KINDS if assessed else UNIT_KINDS
        aliases = ROW_ALIASES if assessed else APPLIES_TO_ALIASES
        if isinstance(value, str):
            if value not in aliases:
                self.fail(entry, f"'applies_to' must be {' or '.join(map(repr, aliases))} or "
                                 f"a list of unit kinds, not {value!r}")
            return list(aliases[value])
        if (not isinstance(value, list) or not value
                or not all(isinstance(k, str) and k in kinds for k in value)):
            self.fail(entry, f"'applies_to' must list unit kinds from: {', '.join(kinds)}")
        return sorted(set(value), key=UNIT_KINDS.index)

    def due(self, item, entry, phases, phase, tz) -> dict:
        due = item.get("due")
        whens = {"rrule", "dates", "set_by"} & set(due) if isinstance(due, dict) else set()
        if len(whens) != 1:
            self.fail(entry, "'due' must be { rrule = \"FREQ=...\" }, { dates = [\"MM-DD\", "
                             "...] } or { set_by = \"coordinator\" } (a date set each year)")
        self.only(due, {"rrule", "dates", "set_by", "source", "document", "note",
                        "non_working_day"}, f"{entry} due")
        source = due.get("source", "plan")
        if source not in DUE_SOURCES:
            self.fail(entry, "'due.source' must be \"plan\" (the plan's own choice of date) or "
                             "\"document\" (the date the plan document gives)")
        document = due.get("document", "")
        if not isinstance(document, str):
            self.fail(entry, "'due.document' must be text: what the plan document says of when")
        note = due.get("note", "")
        if not isinstance(note, str):
            self.fail(entry, "'due.note' must be text: the plan's own choice of when (its "
                             "dates, cadence or phase), apart from the document's words")
        extra = {"source": source, **({"document": document.strip()} if document.strip() else {}),
                 **({"note": note.strip()} if note.strip() else {})}
        if "non_working_day" in due:
            extra["non_working_day"] = self.non_working_day(due, f"{entry} due", None)
        if "set_by" in due:
            if due["set_by"] not in SETTERS:
                self.fail(entry, f"'due.set_by' must be one of {', '.join(SETTERS)}")
            return {"set_by": due["set_by"], **extra}
        if "dates" in due:
            dates = due["dates"]
            if not isinstance(dates, list) or not dates or not all(isinstance(d, str) for d in dates):
                self.fail(entry, "'due.dates' must be a non-empty list of \"MM-DD\" strings")
            due = {"dates": sorted(set(dates))}
        elif not isinstance(due["rrule"], str):
            self.fail(entry, "'due.rrule' must be a string")
        else:
            due = {"rrule": due["rrule"]}
        due.update(extra)
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

    def non_working_day(self, table: dict, entry: str, default: str | None) -> str | None:
        value = table.get("non_working_day", default)
        if value is not None and value not in NON_WORKING_DAY_RULES:
            self.fail(entry, "'non_working_day' must be \"previous\" (the working day before), "
                             "\"next\" (the working day after) or \"keep\"")
        return value

    def occurrence(self, item: dict, entry: str) -> dict | None:
        value = item.get("occurrence")
        if value is None:
            return None
        where = f"{entry} occurrence"
        if not isinstance(value, dict):
            self.fail(where, "'occurrence' must be a table like { attendance = true, flags = "
                             "[{ code = \"ideology\", title = \"...\" }] }")
        self.only(value, {"attendance", "flags"}, where)
        flags, seen = [], set()
        for i, flag in enumerate(self.tables(value, "flags", where)):
            at = f"{where} flags[{i}]"
            self.only(flag, {"code", "title", "title_en"}, at)
            code = self.code(flag, at)
            if code in seen:
                self.fail(at, f"duplicate flag code {code!r}")
            seen.add(code)
            flags.append({"code": code, "title": self.text(flag, "title", at),
                          "title_en": self.text(flag, "title_en", at, required=False)})
        return {"attendance": self.boolean(value, "attendance", where, False), "flags": flags}

    def scoring(self, rubric: list[RubricNodeSpec], duties: list[DutySpec]) -> None:
        """Rows and duties agree on kinds; each row's 扣分标准 evidence and minimums name
        duties that serve it."""
        by_code = {d.code: d for d in duties}
        for row in (n for g in rubric for n in g.walk() if n.is_leaf):
            entry = f"rubric row {row.code}"
            serving = [d for d in duties if row.code in d.rubric]
            for duty in serving:
                stray = [k for k in duty.applies_to if k not in row.applies_to]
                if stray:
                    self.fail(f"duty {duty.code}", f"it applies to {', '.join(stray)}, but the "
                              f"row {row.code} it serves does not: give the duty to the row's "
                              f"kinds ({', '.join(row.applies_to)}) or the row to {stray[0]}")
            for kind in row.applies_to:
                if not any(kind in d.applies_to for d in serving):
                    self.fail(entry, f"it applies to {kind} units, but no duty serving it does: "
                                     f"such a unit could never meet it")
            for code in row.evidence:
                if code not in by_code or by_code[code] not in serving:
                    self.fail(entry, f"'evidence' names {code!r}, which is not a duty serving "
                                     f"the row ({', '.join(d.code for d in serving)})")
            row.evidence = list(dict.fromkeys(row.evidence or [d.code for d in serving]))
            row.requires = [self.requirement(r, f"{entry} requires[{i}]", row, serving)
                            for i, r in enumerate(row.requires)]

    def requirement(self, value: dict, entry: str, row: RubricNodeSpec, serving) -> dict:
        self.only(value, minimum_keys(), entry)
        codes = value.get("duties")
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            self.fail(entry, "'duties' must name the duties (or duty) whose accepted work counts")
        duties = []
        for code in codes:
            duty = next((d for d in serving if d.code == code), None)
            if duty is None:
                self.fail(entry, f"duty {code!r} does not serve the row")
            duties.append(duty)
        at_least = value.get("at_least")
        if at_least != "all":
            at_least = self.integer(value, "at_least", entry, minimum=1)
        try:
            kind = kind_of(value)
        except MinimumKindError as exc:
            self.fail(entry, str(exc))
        if problem := kind.check(value, duties):
            self.fail(entry, problem)
        deduct = value.get("deduct")
        if (isinstance(deduct, bool) or not isinstance(deduct, (int, float))
                or not 0 < deduct <= row.points or round(deduct * 2) != deduct * 2):
            self.fail(entry, f"'deduct' must be the points a shortfall suggests taking off: "
                             f"more than 0, at most the row's {row.points}, in halves")
        result = {"duties": list(codes), "at_least": at_least,
                  "label": self.text(value, "label", entry),
                  "label_en": self.text(value, "label_en", entry, required=False),
                  "deduct": deduct}
        result.update((p.key, value[p.key]) for p in kind.params if p.key in value)
        return result

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
