"""The plan format (DESIGN.md, "The plan, as data"): what a plan file holds once read, as
data classes (``PlanSpec`` and its phases, rubric nodes and duties), and the values and
limits the format allows. Pure: no database, no app. Reading a file and checking it is
``tracker.phases.planfile``'s.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from tracker.phases.kinds import ASSESSED_KINDS


EVIDENCE_KINDS = ("document", "photo", "record", "statement")
#: How a unit's total treats rubric rows that do not apply to its kind.
NOT_APPLICABLE_RULES = ("rescale", "full")
#: Who sets a due date the plan cannot know in advance (``due = { set_by = ... }``).
SETTERS = ("coordinator",)
#: Where a due date comes from: the plan document, or the plan's own choice.
DUE_SOURCES = ("plan", "document")
DEFAULT_REMINDERS = {"before": [7, 1, 0], "overdue_every": 7}
#: Working days a unit has, after a plan started mid-year, for the one-off work whose dates
#: had passed (补报): the plan's choice (``[defaults] catch_up_days``).
DEFAULT_CATCH_UP_DAYS = 10
#: How towns rank their units apart (分类考核) unless the plan says otherwise
#: (``[[rubric.ranking]]``): 村居, 机关, 企事业.
DEFAULT_RANKING = [
    {"title": "村居", "title_en": "Villages and neighbourhoods", "kinds": ["village", "community"]},
    {"title": "机关", "title_en": "Offices and their branches", "kinds": ["branch", "office"]},
    {"title": "企事业", "title_en": "Enterprises and institutions",
     "kinds": ["enterprise", "institution"]},
]
#: The coordinator's inputs to the 综合考评 (tracker.assessment.records.InputKind).
ASSESSMENT_INPUTS = ("midyear", "public", "spot", "supervision")
#: How they enter the verdict: shown beside the rubric's total, or weighted into it.
ASSESSMENT_COMBINE = ("beside", "weighted")
#: A code of a phase, rubric node, duty or mark, and a plan's name.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: What a plan may hold: checking and loading it is work in proportion (the bundled plan,
#: 54 KB, has 47 duties, 32 rubric rows and 4 phases), and so is every editor page.
MAX_PLAN_BYTES = 256_000
MAX_DUTIES = 300
MAX_ROWS = 200
MAX_PHASES = 24


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
    #: Whole, or in halves (a float: 9.5 is exact in binary, and TOML and JSON write it).
    points: int | float
    requirement: str = ""
    deduction: str = ""
    numbered: bool = True
    children: list["RubricNodeSpec"] = field(default_factory=list)
    #: False where the document writes the code straight before the text ("2-3-3正确应对").
    code_space: bool = True
    #: A leaf row: the kinds of unit it applies to (others read 不适用 on their sheet).
    applies_to: list[str] = field(default_factory=lambda: list(ASSESSED_KINDS))
    #: A leaf row: the duties whose accepted work answers its 扣分标准; by default every
    #: duty serving the row.
    evidence: list[str] = field(default_factory=list)
    #: ``all``: the row is met when each of them has accepted work (of those that ask
    #: something of the unit this year); ``any``: when one of them has.
    evidence_match: str = "all"
    #: A leaf row: minimums of its 工作要求, counted from accepted work:
    #: ``[{duties, at_least, label, label_en, deduct, flag?}]`` (``at_least`` a number, or
    #: ``"all"``: every task of those duties the unit has this year).
    requires: list[dict] = field(default_factory=list)
    #: A leaf row that is a party organisation's own (党组织制定的文件…): a unit that names
    #: its party organisation has it asked of that organisation, once.
    party_org: bool = False

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
                "points": self.points, "code_space": self.code_space,
                "children": [c.to_json() for c in self.children]}
        if self.is_leaf:
            data.update(requirement=self.requirement, deduction=self.deduction,
                        numbered=self.numbered, applies_to=self.applies_to,
                        evidence=self.evidence, evidence_match=self.evidence_match,
                        requires=self.requires, party_org=self.party_org)
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
    #: "At least N a year" duties: each occurrence is recorded when it is held (its date,
    #: attendance where asked, the flags the plan names) and fills the next open slot;
    #: ``{"attendance": bool, "flags": [{code, title, title_en}]}``, or None.
    occurrence: dict | None = None

    def to_json(self) -> dict:
        return {"code": self.code, "title": self.title, "title_en": self.title_en,
                "description": self.description, "rubric": self.rubric,
                "applies_to": self.applies_to, "due": self.due, "phase": self.phase,
                "evidence": self.evidence, "reminders": self.reminders,
                "occurrence": self.occurrence}


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
    rubric_total: int | float
    #: ``rescale`` or ``full`` (NOT_APPLICABLE_RULES).
    not_applicable: str
    #: What a due date on a day off does, unless a duty says otherwise: ``previous``
    #: working day, ``next``, or ``keep``.
    non_working_day: str
    phases: list[PhaseSpec]
    rubric: list[RubricNodeSpec]
    duties: list[DutySpec]
    source_sha256: str
    #: The plan file's text, as read (kept with the version loaded for a year).
    source: str = ""
    #: Working days for catch-up work (补报) after a mid-year start: the plan's choice.
    catch_up_days: int = DEFAULT_CATCH_UP_DAYS
    #: The groups units are ranked within (分类考核): ``[{title, title_en, kinds}]``.
    ranking: list[dict] = field(default_factory=lambda: [dict(g) for g in DEFAULT_RANKING])
    #: The ``[assessment]`` table: ``{"combine": "beside"|"weighted", "inputs": [{"kind",
    #: "label", "weight"}]}``; empty where the plan says nothing of the inputs.
    assessment: dict = field(default_factory=dict)

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
            "rubric_total": self.rubric_total, "not_applicable": self.not_applicable,
            "non_working_day": self.non_working_day, "catch_up_days": self.catch_up_days,
            "ranking": self.ranking,
            "rubric": [g.to_json() for g in self.rubric],
            "duties": [d.to_json() for d in self.duties],
            "assessment": self.assessment,
        }
