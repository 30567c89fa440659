"""What the editor's forms share: fields (days, numbers, checkboxes), checks (codes,
MM-DD, points in halves), lists of rows (``EntryForm``, ``merge_rows``), the editor's form
with its revision check, and how ``applies_to``, reminders and code lists are written back.

Each form checks only what is malformed in itself (an MM-DD that is not a day, a number
that is not a number, a code with a space); whether the plan holds together is the
loader's to say, after the save.
"""

import math

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, Form, HiddenField, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.core.forms import TrackerForm
from tracker.phases.planspec import CODE
from tracker.planning import editing
from tracker.planning.schedule import ScheduleError, check_month_day


NON_WORKING_DAY_LABELS = {"previous": _l("the working day before"),
                          "next": _l("the working day after"), "keep": _l("keep the date")}


def schedule_message(error: ScheduleError) -> str:
    """What is wrong with a schedule choice, in the reader's language."""
    p = error.params
    messages = {
        "not_every_year": lambda: _("02-29 is not in every year: the plan is for any year."),
        "not_month_day": lambda: _("%(value)s is not a month and day written MM-DD, such as "
                                   "06-30.", value=p["value"]),
        "day_range": lambda: _("The day of the month must lie between 1 and 31."),
        "no_such_day": lambda: _("Month %(month)d has no day %(day)d every year: choose the "
                                 "last day instead.", month=p["month"], day=p["day"]),
        "no_dates": lambda: _("Give at least one date (MM-DD)."),
        "every_range": lambda: _("Every 1 to 12 months."),
        "month_range": lambda: _("Months run from 1 to 12."),
        "end_before_start": lambda: _("The last month comes before the first."),
        "quarter_month": lambda: _("A quarter has three months."),
        "times": lambda: _("Spread evenly over the year: 1, 2, 3, 4, 6 or 12 times."),
        "no_rrule": lambda: _("Write the RRULE, such as FREQ=MONTHLY;BYMONTHDAY=-1."),
        "invalid_rrule": lambda: p["error"],
    }
    return messages.get(error.code, lambda: _("Choose when the duty falls."))()


def code_check(form, field):
    """A code as the loader allows it."""
    if field.data and not CODE.match(field.data):
        raise ValidationError(_("A code holds only letters, digits, '.', '_' and '-', and "
                                "starts with a letter or digit (at most 64)."))
    if not field.data:
        raise ValidationError(_("Give it a code."))


def month_day_check(form, field):
    """MM-DD of a day every year has (or nothing)."""
    if field.data:
        try:
            check_month_day(field.data, field.name)
        except ScheduleError as exc:
            raise ValidationError(schedule_message(exc)) from None


class DaysField(StringField):
    """Days as whole numbers, "7, 1, 0"; None when empty."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").replace("，", ",").replace(",", " ")
        self.data = None
        if text.strip():
            try:
                self.data = [int(part) for part in text.split()]
            except ValueError:
                raise ValueError(_("Give days as whole numbers, such as 7, 1, 0.")) from None
            if any(not 0 <= day <= 366 for day in self.data):
                raise ValueError(_("Days run from 0 to 366."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(str(d) for d in self.data) if isinstance(self.data, list) else ""


class NumberField(StringField):
    """A number, whole or with a fraction (points in halves); None when empty."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if text:
            try:
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                raise ValueError(_("%(value)s is not a number.", value=text)) from None
            self.data = int(value) if value.is_integer() else value


def in_halves(form, field):
    """Points are whole or in halves (9.5)."""
    if field.data is not None and not (field.data * 2 == int(field.data * 2)):
        raise ValidationError(_("Give points whole or in halves, such as 9.5."))


class Checkboxes(SelectMultipleField):
    """A group of checkboxes (the template gives it a fieldset and a legend)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


def written_applies_to(value, selected: list[str], aliases: dict[str, list[str]],
                       order):
    """``applies_to`` as written: the old value where it means the same, an alias where
    one fits, else the kinds in the plan's order."""
    chosen = set(selected)
    old = aliases.get(value, value) if isinstance(value, str) else value
    if isinstance(old, list) and set(old) == chosen:
        return value
    for alias, kinds in aliases.items():
        if set(kinds) == chosen:
            return alias
    return [k for k in order if k in chosen]


def kinds_of(value, aliases) -> list[str]:
    """The kinds an ``applies_to`` names."""
    if isinstance(value, str):
        return list(aliases.get(value, []))
    return [k for k in value if isinstance(k, str)] if isinstance(value, list) else []


class EntryForm(Form):
    """A row of a list (a phase, an evidence item, a minimum): ``index`` ties it to the
    table it came from; a row left blank is no row, a row marked to remove goes."""

    index = HiddenField()
    remove = BooleanField(_l("Remove"))
    #: The fields whose text makes the row more than blank.
    content: tuple[str, ...] = ()

    def is_blank(self) -> bool:
        return not self.index.data and not any(
            (self[name].data or "") if not isinstance(self[name].data, list)
            else self[name].data for name in self.content)

    def skipped(self) -> bool:
        return self.is_blank() or self.remove.data

    def validate(self, extra_validators=None):
        if self.skipped():
            return True
        return super().validate(extra_validators)

    def origin(self, old: list[dict]) -> dict | None:
        """The table this row was made from."""
        index = self.index.data or ""
        return old[int(index)] if index.isdigit() and int(index) < len(old) else None


def merge_rows(entries, old: list[dict], fill) -> tuple[list[dict], list[dict]]:
    """The tables a list of rows gives: each row's own table (its keys without a field
    kept) filled by ``fill(form, table)``, in the order shown; and the tables removed."""
    kept, removed = [], []
    for entry in entries:
        form = entry.form
        if form.is_blank():
            continue
        origin = form.origin(old)
        if form.remove.data:
            if origin is not None:
                removed.append(origin)
            continue
        target = origin if origin is not None else {}
        fill(form, target)
        kept.append(target)
    return kept, removed


def rows_data(old: list[dict], values) -> list[dict]:
    """The form data of a list of rows, each with its index."""
    return [dict(values(table), index=str(i)) for i, table in enumerate(old)]


class EditorForm(TrackerForm):
    """A form of the editor: ``stale`` is set where the draft changed since the page
    was opened (another window saved it), so that nothing is overwritten unseen."""

    revision = HiddenField()
    stale = False

    def check_revision(self, current: str) -> bool:
        self.stale = self.is_submitted() and self.revision.data != current
        return not self.stale

    def valid(self, current_revision: str) -> bool:
        """Submitted, well formed, and made on the draft as it is."""
        return self.validate_on_submit() & self.check_revision(current_revision)


def apply_reminders(target: dict, before, every) -> None:
    """``reminders`` from the two fields: both empty drops it (the defaults apply)."""
    reminders = target.get("reminders") if isinstance(target.get("reminders"), dict) else {}
    for key, value in (("before", before), ("overdue_every", every)):
        if value is None:
            reminders.pop(key, None)
        else:
            reminders[key] = value
    if reminders:
        target["reminders"] = reminders
    else:
        target.pop("reminders", None)


def in_order(old, chosen) -> list[str]:
    """The codes chosen, those already listed in their order first (a list of checkboxes
    submits them in the page's order)."""
    before = editing.code_list(old)
    chosen = list(chosen or [])
    return [c for c in before if c in chosen] + [c for c in chosen if c not in before]


def duplicates(field, message: str) -> None:
    """Mark rows whose code another row has; ValidationError if any."""
    live = [e.form for e in field if not e.form.skipped()]
    codes = [f.code.data for f in live]
    clashes = [f for f in live if codes.count(f.code.data) > 1]
    for form in clashes:
        form.code.errors = list(form.code.errors) + [message]
    if clashes:
        raise ValidationError(message)
