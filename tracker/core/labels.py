"""Translated labels of stored values, shared by pages, mails and messages."""

from flask_babel import lazy_gettext as _l

#: Labels of the states a task is shown in (stored status, or derived overdue/soon).
STATE_LABELS = {
    "open": _l("Open"),
    "soon": _l("Due within 7 days"),
    "overdue": _l("Overdue"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "accepted": _l("Done"),
    "cancelled": _l("Cancelled"),
}
ROLE_LABELS = {"admin": _l("Coordinator"), "manager": _l("Unit manager"),
               "viewer": _l("Unit viewer")}
EVENT_LABELS = {
    "plan_updated": _l("changed by the plan"), "cancelled": _l("cancelled by the plan"),
    "restored": _l("restored by the plan"), "created": _l("created"),
    "due_moved": _l("due date moved"), "note_saved": _l("note saved"),
    "evidence_added": _l("file attached"), "evidence_removed": _l("file removed"),
    "submitted": _l("submitted for review"), "accepted": _l("accepted"),
    "returned": _l("returned for rework"),
}
KIND_LABELS = {"branch": _l("Party branch"), "office": _l("Office"),
               "enterprise": _l("Enterprise or institution"), "coordinator": _l("Coordinator")}
