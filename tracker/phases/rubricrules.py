"""The rules a rubric row is scored by, one table each: how the evidence its 扣分标准 names
is met (``EVIDENCE_MATCHES``: ``evidence_match``), and the kinds of minimum of its
工作要求 (``MINIMUM_KINDS``: the entries of ``requires``). Pure.

The plan file's checks (``tracker.phases.planfile``), the editor's row page
(``tracker.planning.forms.rubric``, ``templates/planning/_require.html``) and the scoring
(``tracker.assessment``) read these tables and branch on nothing else: a new kind is one
entry here (``register_minimum_kind``) and the translation of its label. A kind that
counts something the scoring does not tally yet (attendance, say) also adds it to
``Work`` and to ``tracker.assessment.services.work_counts``.

The plan file names no kind: a minimum is of the kind whose parameters it holds (``flag =
"ideology"``: occurrences with that mark), or of the kind with none (accepted work).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flask_babel import lazy_gettext as _l


class Work(Protocol):
    """One unit's accepted work this year, as a minimum counts it (cancelled work counts
    for nothing)."""

    def accepted(self, duty_id: int) -> int:
        """The unit's accepted tasks of the duty."""

    def marked(self, duty_id: int, flag: str) -> int:
        """The unit's accepted occurrences of the duty that carry the mark ``flag``."""


@dataclass(frozen=True)
class EvidenceMatch:
    """When a row's evidence is met, given which of the duties it names have accepted
    work."""

    name: str
    #: The editor's choice ("The row is met when …").
    label: str
    #: What it means, in the plan file's messages.
    meaning: str
    met: Callable[[Sequence[bool]], bool]


#: ``evidence_match``: the row is met when each named duty has accepted work, or one has.
EVIDENCE_MATCHES = {match.name: match for match in (
    EvidenceMatch("all", _l("each of them has accepted work"),
                  "each duty named in 'evidence' has accepted work", all),
    EvidenceMatch("any", _l("one of them has"), "one of them has", any),
)}
DEFAULT_MATCH = "all"


def evidence_match(name: str) -> EvidenceMatch:
    """The match of that name (the default for one the table does not hold)."""
    return EVIDENCE_MATCHES.get(name) or EVIDENCE_MATCHES[DEFAULT_MATCH]


@dataclass(frozen=True)
class Param:
    """A parameter of a kind of minimum: its key in the plan file (``requires = [{ …,
    flag = "ideology" }]``, text) and the label of its field on the row's page."""

    key: str
    label: str


@dataclass(frozen=True)
class MinimumKind:
    """A kind of minimum of a row's 工作要求: what of a unit's work it counts.

    Every minimum also holds ``MINIMUM_KEYS``: the duties whose work counts, ``at_least``
    (a number, or ``"all"``: every task of them the unit has that year), its label and
    the points a shortfall takes off.
    """

    name: str
    #: Its own keys, beside ``MINIMUM_KEYS``; none for at most one kind (the default).
    params: tuple[Param, ...]
    #: What is wrong with the minimum's parameters given the duties it names (plan
    #: ``DutySpec``s), in the plan file's words; "" when nothing is.
    check: Callable[[dict, list], str]
    #: How much of the unit's ``Work`` on the duties (by id) counts towards it.
    count: Callable[[dict, list[int], Work], int]


#: The keys every minimum holds, whatever its kind, in the order the plan file writes them
#: (a kind's own keys go after ``at_least``).
MINIMUM_KEYS = ("duties", "at_least", "label", "label_en", "deduct")


def _nothing_to_check(need: dict, duties: list) -> str:
    return ""


def _recorded_mark(need: dict, duties: list) -> str:
    flag = need["flag"]
    for duty in duties:
        flags = [f["code"] for f in (duty.occurrence or {}).get("flags", [])]
        if flag not in flags:
            return (f"flag {flag!r} is not one the duty {duty.code} records "
                    f"({', '.join(flags) or 'none'})")
    return ""


#: The kinds of minimum, by name.
MINIMUM_KINDS: dict[str, MinimumKind] = {}


def register_minimum_kind(kind: MinimumKind) -> MinimumKind:
    """Add a kind of minimum to the table; refused (ValueError) where its name or a key is
    taken, or where it is a second kind without keys (a minimum would not say which)."""
    keys = [p.key for p in kind.params]
    taken = set(MINIMUM_KEYS) | {p.key for k in MINIMUM_KINDS.values() for p in k.params}
    if kind.name in MINIMUM_KINDS:
        raise ValueError(f"a kind of minimum named {kind.name!r} is registered already")
    if clash := sorted(taken & set(keys)) + sorted({k for k in keys if keys.count(k) > 1}):
        raise ValueError(f"the kind {kind.name!r} names a key another kind or every minimum "
                         f"has, or names it twice: {clash[0]!r}")
    if not keys and any(not k.params for k in MINIMUM_KINDS.values()):
        raise ValueError(f"the kind {kind.name!r} has no key of its own, like "
                         f"{default_kind().name!r}: a minimum would not say which it is")
    MINIMUM_KINDS[kind.name] = kind
    return kind


register_minimum_kind(MinimumKind(
    "accepted", (), _nothing_to_check,
    lambda need, duty_ids, work: sum(work.accepted(d) for d in duty_ids)))
register_minimum_kind(MinimumKind(
    "marked", (Param("flag", _l("Only occurrences with the mark (its code)")),),
    _recorded_mark,
    lambda need, duty_ids, work: sum(work.marked(d, need["flag"]) for d in duty_ids)))


def minimum_keys() -> set[str]:
    """Every key a minimum may hold: every minimum's, and each kind's own."""
    return set(MINIMUM_KEYS) | {p.key for kind in MINIMUM_KINDS.values() for p in kind.params}


def minimum_params() -> list[Param]:
    """Every kind's parameters, in the table's order (the row page's fields)."""
    return [p for kind in MINIMUM_KINDS.values() for p in kind.params]


def default_kind() -> MinimumKind:
    """The kind of a minimum that holds no kind's keys."""
    return next(kind for kind in MINIMUM_KINDS.values() if not kind.params)


class MinimumKindError(ValueError):
    """A minimum that holds the keys of two kinds."""


def kind_of(need: dict) -> MinimumKind:
    """The kind of a minimum: the one whose keys it holds, else the default;
    MinimumKindError where it holds the keys of two."""
    kinds = [kind for kind in MINIMUM_KINDS.values()
             if kind.params and any(p.key in need for p in kind.params)]
    if len(kinds) > 1:
        keys = [next(p.key for p in k.params if p.key in need) for k in kinds]
        raise MinimumKindError(
            f"'{keys[0]}' and '{keys[1]}' belong to two kinds of minimum ({kinds[0].name}, "
            f"{kinds[1].name}): a minimum counts one way")
    return kinds[0] if kinds else default_kind()
