"""The kinds of unit, as the plan defines them: the one definition, for plan files, the
units and their admin pages, the editor and the scoring. Pure."""

import enum

from flask_babel import lazy_gettext as _l


class UnitKind(enum.StrEnum):
    """The seed's addressees, plus the coordinating office itself."""

    VILLAGE = "village"  # 村党（总）支部
    COMMUNITY = "community"  # 居民区党支部
    BRANCH = "branch"  # other party branches, e.g. 机关党支部
    OFFICE = "office"  # 机关科室
    ENTERPRISE = "enterprise"  # 镇属企业
    INSTITUTION = "institution"  # 镇属事业单位
    COORDINATOR = "coordinator"  # 镇党委宣传办: carries the coordinator's own duties


#: The kinds in the order plans, lists and forms use.
UNIT_KINDS = tuple(kind.value for kind in UnitKind)
#: The kinds scored on the rubric (a plan's ``applies_to = "units"``): all but the
#: coordinator.
ASSESSED_KINDS = tuple(kind for kind in UNIT_KINDS if kind != UnitKind.COORDINATOR)
#: The kinds that are party organisations: another unit (an enterprise, say) may name one
#: as its own, and a party organisation's own rubric rows are then asked of it.
PARTY_ORG_KINDS = (UnitKind.VILLAGE, UnitKind.COMMUNITY, UnitKind.BRANCH)
#: What a duty's ``applies_to`` may say instead of listing kinds.
APPLIES_TO_ALIASES = {"units": list(ASSESSED_KINDS), "coordinator": [UnitKind.COORDINATOR.value]}
#: What a rubric row's ``applies_to`` may say instead of listing kinds (rows score units).
ROW_ALIASES = {"units": list(ASSESSED_KINDS)}

KIND_LABELS = {"village": _l("Village party branch"),
               "community": _l("Neighbourhood party branch"),
               "branch": _l("Other party branch"), "office": _l("Office"),
               "enterprise": _l("Town-owned enterprise"),
               "institution": _l("Town-owned institution"), "coordinator": _l("Coordinator")}
