"""The plan editor's forms: what each page shows of a draft's data (``values_of``), and
how what is submitted goes back into it (``apply``). Keys a form has no field for are
kept; an empty optional field drops its key (the loader's default).

Each form checks only what is malformed in itself (an MM-DD that is not a day, a number
that is not a number, a code with a space); whether the plan holds together is the
loader's to say, after the save.
"""

import math
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import get_month_names
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from wtforms import (BooleanField, DateField, FieldList, Form, FormField, HiddenField,
                     IntegerField, RadioField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.core.forms import TrackerForm, choices
from tracker.core.text import whole_number
from tracker.phases.kinds import (APPLIES_TO_ALIASES, ASSESSED_KINDS, KIND_LABELS, ROW_ALIASES,
                                  UNIT_KINDS)
from tracker.phases.planfile import EVIDENCE_KINDS
from tracker.planning import editing
from tracker.planning.schedule import (KINDS, LAST, TIMES_A_YEAR, Schedule, ScheduleError,
                                       check_month_day, parse_dates, recognise, rrule_of,
                                       write)

EVIDENCE_LABELS = {"document": _l("Document"), "photo": _l("Photos"), "record": _l("Record"),
                   "statement": _l("Written statement")}
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


# -- fields and checks ----------------------------------------------------------------

def code_check(form, field):
    """A code as the loader allows it."""
    if field.data and not editing.CODE.match(field.data):
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


def month_choices():
    """The months, named in the reader's language."""
    names = get_month_names("wide", locale=get_locale())
    return choices((str(m), names[m]) for m in range(1, 13))


def day_choices():
    """The days of a month, and the last day."""
    return choices([(str(LAST), _("the last day"))] + [(str(d), str(d)) for d in range(1, 32)])


def _applies_to(value, selected: list[str], aliases: dict[str, list[str]], order):
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


UNIT_ALIASES = APPLIES_TO_ALIASES


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


# -- [plan], [defaults], [rubric] -----------------------------------------------------

class PlanForm(EditorForm):
    name = StringField(_l("Name (letters, digits, - and _; names the plan in commands)"),
                       validators=[code_check])
    title = StringField(_l("Title"), validators=[Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=300)])
    issuer = StringField(_l("Issued by"), validators=[Length(max=300)])
    issuer_en = StringField(_l("Issued by, in English"), validators=[Length(max=300)])
    document_number = StringField(_l("Document number (文号)"), validators=[Length(max=100)])
    issued_on = DateField(_l("Issued on"), validators=[Optional()])
    timezone = StringField(_l("Timezone (an IANA name such as Asia/Shanghai)"),
                           validators=[Length(max=64)])
    before = DaysField(_l("Reminders: days before a due date"))
    overdue_every = IntegerField(_l("Then every … days while overdue (0: never)"),
                                 validators=[Optional(), NumberRange(0, 366)])
    non_working_day = SelectField(_l("A due date on a day off moves to"))
    rubric_title = StringField(_l("Title of the scoring rubric"), validators=[Length(max=300)])
    rubric_title_en = StringField(_l("Title of the scoring rubric, in English"),
                                  validators=[Length(max=300)])
    not_applicable = SelectField(_l("Rows that do not apply to a unit's kind"), choices=choices([
        ("rescale", _l("are left out, and the rest scaled to the total")),
        ("full", _l("count their full points"))]))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.non_working_day.choices = choices(
            [("", _("keep the date (the plan says nothing)"))]
            + list(NON_WORKING_DAY_LABELS.items()))

    def validate_timezone(self, field):
        if not (field.data or "").strip():
            return  # the loader says it is missing
        try:
            ZoneInfo(field.data.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_("There is no timezone %(name)s: use an IANA name such as "
                                    "Asia/Shanghai.", name=field.data)) from None

    @staticmethod
    def values_of(data: dict) -> dict:
        meta = data.get("plan") if isinstance(data.get("plan"), dict) else {}
        defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
        reminders = defaults.get("reminders") if isinstance(defaults.get("reminders"),
                                                            dict) else {}
        rubric = data.get("rubric") if isinstance(data.get("rubric"), dict) else {}
        values = {key: editing.text_of(meta, key) for key in (
            "name", "title", "title_en", "issuer", "issuer_en", "document_number",
            "timezone")}
        issued = meta.get("issued_on")
        values.update(
            issued_on=issued if type(issued) is date else None,
            before=reminders.get("before"), overdue_every=reminders.get("overdue_every"),
            non_working_day=editing.text_of(defaults, "non_working_day"),
            rubric_title=editing.text_of(rubric, "title"),
            rubric_title_en=editing.text_of(rubric, "title_en"),
            not_applicable=editing.text_of(rubric, "not_applicable") or "rescale")
        return values

    def apply(self, data: dict) -> None:
        meta = editing.table(data, "plan")
        for key in ("name", "title", "title_en", "issuer", "issuer_en", "document_number",
                    "timezone"):
            editing.set_text(meta, key, self[key].data)
        if self.issued_on.data:
            meta["issued_on"] = self.issued_on.data
        else:
            meta.pop("issued_on", None)
        had_defaults = "defaults" in data
        defaults = editing.table(data, "defaults")
        apply_reminders(defaults, self.before.data, self.overdue_every.data)
        editing.set_text(defaults, "non_working_day", self.non_working_day.data)
        if not defaults and not had_defaults:
            del data["defaults"]
        rubric = editing.rubric(data)
        editing.set_text(rubric, "title", self.rubric_title.data)
        editing.set_text(rubric, "title_en", self.rubric_title_en.data)
        if self.not_applicable.data != "rescale" or "not_applicable" in rubric:
            rubric["not_applicable"] = self.not_applicable.data


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


# -- phases ---------------------------------------------------------------------------

class PhaseForm(EntryForm):
    code = StringField(_l("Code"), validators=[code_check, Length(max=32)])
    title = StringField(_l("Title"), validators=[Length(max=200)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    start = StringField(_l("Starts (MM-DD)"), validators=[month_day_check])
    end = StringField(_l("Ends (MM-DD)"), validators=[month_day_check])
    content = ("code", "title", "title_en", "description", "start", "end")


class PhasesForm(EditorForm):
    phases = FieldList(FormField(PhaseForm))

    @staticmethod
    def values_of(data: dict) -> dict:
        return {"phases": rows_data(editing.phases(data), lambda p: {
            key: editing.text_of(p, key) for key in PhaseForm.content})}

    def validate_phases(self, field):
        _duplicates(field, _("Another phase has this code."))

    def apply(self, data: dict) -> None:
        """The phases as submitted; duties follow a renamed phase and forget a removed
        one."""
        renamed = {}

        def fill(form, phase):
            old = editing.text_of(phase, "code")
            for key in PhaseForm.content:
                editing.set_text(phase, key, form[key].data)
            if old and old != phase.get("code"):
                renamed[old] = phase.get("code")

        kept, removed = merge_rows(self.phases, editing.phases(data), fill)
        data["phases"] = kept
        for duty in editing.duties(data):
            if duty.get("phase") in renamed:
                duty["phase"] = renamed[duty["phase"]]
        codes = {p.get("code") for p in kept}
        for phase in removed:
            if phase.get("code") not in codes:
                editing.drop_phase(data, phase.get("code"))


# -- duties ---------------------------------------------------------------------------

class EvidenceForm(EntryForm):
    kind = SelectField(_l("Kind"), choices=choices(
        [("", "—")] + [(k, EVIDENCE_LABELS[k]) for k in EVIDENCE_KINDS]))
    title = StringField(_l("What is asked"), validators=[Length(max=300)])
    title_en = StringField(_l("In English"), validators=[Length(max=300)])
    max_chars = IntegerField(_l("At most … characters (a statement)"),
                             validators=[Optional(), NumberRange(1, 100_000)])
    content = ("kind", "title", "title_en")

    def validate_kind(self, field):
        if not field.data:
            raise ValidationError(_("Choose the kind of evidence."))

    def validate_max_chars(self, field):
        if field.data is not None and self.kind.data != "statement":
            raise ValidationError(_("Only a written statement has a character cap."))


class FlagForm(EntryForm):
    code = StringField(_l("Code"), validators=[code_check])
    title = StringField(_l("Mark"), validators=[Length(max=300)])
    title_en = StringField(_l("In English"), validators=[Length(max=300)])
    content = ("code", "title", "title_en")


class ScheduleForm(Form):
    """When a duty falls: a choice of the common cases, or the RRULE as written."""

    kind = RadioField(_l("When"), choices=choices([
        ("dates", _l("On these dates")), ("monthly", _l("Every few months")),
        ("quarterly", _l("Quarterly")), ("times", _l("A number of times a year, spread evenly")),
        ("set_by", _l("Set by the coordinator each year")),
        ("rrule", _l("As the RRULE below says"))]), default="dates")
    dates = StringField(_l("Dates (MM-DD, separated by commas)"))
    every = IntegerField(_l("Every how many months"), default=1,
                         validators=[Optional(), NumberRange(1, 12)])
    start = SelectField(_l("From"), default="1")
    end = SelectField(_l("To"), default="12")
    monthly_day = SelectField(_l("On day"), default=str(LAST))
    quarter_month = SelectField(_l("In the quarter's"), default="3", choices=choices([
        ("1", _l("first month")), ("2", _l("second month")), ("3", _l("third month"))]))
    quarter_day = SelectField(_l("On day"), default=str(LAST))
    times = SelectField(_l("Times a year"), default="4",
                        choices=choices((str(n), str(n)) for n in TIMES_A_YEAR))
    rrule = StringField(_l("RRULE (RFC 5545, without DTSTART)"), validators=[Length(max=500)])
    #: The RRULE as the page showed it: one edited by hand is kept as written.
    rrule_was = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start.choices = self.end.choices = month_choices()
        self.monthly_day.choices = self.quarter_day.choices = day_choices()

    @staticmethod
    def values_of(due) -> dict:
        chosen = recognise(due)
        rule = rrule_of(due)
        return {"kind": chosen.kind, "dates": ", ".join(chosen.dates), "every": chosen.every,
                "start": str(chosen.start), "end": str(chosen.end),
                "monthly_day": str(chosen.day), "quarter_month": str(chosen.quarter_month),
                "quarter_day": str(chosen.day), "times": str(chosen.times), "rrule": rule,
                "rrule_was": rule}

    def chosen(self) -> Schedule:
        """The choice submitted (an RRULE edited by hand wins); ScheduleError naming the
        field where it is malformed."""
        rule = (self.rrule.data or "").strip()
        kind = self.kind.data
        if rule and rule != (self.rrule_was.data or "").strip():
            kind = "rrule"
        if kind not in KINDS:
            raise ScheduleError("kind", "kind")
        number = {}
        for name in ("start", "end", "monthly_day", "quarter_month", "quarter_day", "times"):
            try:
                number[name] = int(self[name].data)
            except (TypeError, ValueError):
                raise ScheduleError(name, "kind") from None
        if kind == "monthly" and self.every.data is None:
            raise ScheduleError("every", "every_range")
        return Schedule(
            kind=kind, dates=parse_dates(self.dates.data or "") if kind == "dates" else (),
            every=self.every.data or 1, start=number["start"], end=number["end"],
            day=number["quarter_day"] if kind == "quarterly" else number["monthly_day"],
            quarter_month=number["quarter_month"], times=number["times"], rrule=rule)

    def written(self) -> dict | None:
        """The ``due`` keys that say when; None, with the message on its field, where the
        choice is malformed."""
        try:
            return write(self.chosen())
        except ScheduleError as exc:
            field = self[exc.field] if exc.field in self._fields else self.kind
            field.errors = list(field.errors) + [schedule_message(exc)]
            return None


#: A duty's title, with room for the occurrence a task's title adds ("（第12次，共12次）")
#: within the 300 characters a task's title holds.
DUTY_TITLE = 280


class DutyForm(EditorForm):
    code = StringField(_l("Code"), validators=[code_check])
    title = StringField(_l("Title"), validators=[Length(max=DUTY_TITLE)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=DUTY_TITLE)])
    description = TextAreaField(_l("What is asked"), validators=[Length(max=5000)])
    rubric = Checkboxes(_l("Rubric rows it serves"))
    applies_to = Checkboxes(_l("Kinds of unit it is asked of"))
    phase = SelectField(_l("Phase"), validate_choice=False)
    evidence = FieldList(FormField(EvidenceForm))
    before = DaysField(_l("Reminders: days before (empty: the plan's)"))
    overdue_every = IntegerField(_l("Then every … days while overdue (empty: the plan's)"),
                                 validators=[Optional(), NumberRange(0, 366)])
    by_occurrence = BooleanField(_l("Recorded by occurrence (“at least N a year”: each one "
                                    "when it is held)"))
    attendance = BooleanField(_l("Ask for the attendance"))
    flags = FieldList(FormField(FlagForm))
    schedule = FormField(ScheduleForm)
    non_working_day = SelectField(_l("A due date on a day off moves to"))
    source = RadioField(_l("The date comes from"), choices=choices([
        ("plan", _l("the plan's own choice")), ("document", _l("the plan document"))]),
        default="plan")
    document = TextAreaField(_l("What the plan document says of when (its own words, "
                                "verbatim)"), validators=[Length(max=1000)])
    note = TextAreaField(_l("The system’s own arrangement of when (cadence, dates, phase), "
                            "shown as the system’s setting"), validators=[Length(max=1000)])

    def setup(self, data: dict) -> "DutyForm":
        """Choices from the plan: its rubric rows, its phases."""
        rows = [(editing.text_of(r, "code"), r) for _, r in editing.rows(data)]
        known = {code for code, _ in rows}
        extra = [c for c in (self.rubric.data or []) if c not in known]
        self.rubric.choices = choices(
            [(code, f"{code} {_short(_row_text(r))}") for code, r in rows if code]
            + [(code, _("%(code)s (not in the rubric)", code=code)) for code in extra])
        self.applies_to.choices = choices((k, KIND_LABELS[k]) for k in UNIT_KINDS)
        phase_codes = [editing.text_of(p, "code") for p in editing.phases(data)]
        current = self.phase.data or ""
        self.phase.choices = choices(
            [("", _("the phase its dates fall in"))]
            + [(c, f"{c} {editing.text_of(p, 'title')}") for c, p in
               zip(phase_codes, editing.phases(data)) if c]
            + ([(current, current)] if current and current not in phase_codes else []))
        self.non_working_day.choices = choices(
            [("", _("as the plan says"))] + list(NON_WORKING_DAY_LABELS.items()))
        return self

    @staticmethod
    def values_of(duty: dict) -> dict:
        due = duty.get("due") if isinstance(duty.get("due"), dict) else {}
        reminders = duty.get("reminders") if isinstance(duty.get("reminders"), dict) else {}
        occurrence = duty.get("occurrence")
        occurrence = occurrence if isinstance(occurrence, dict) else None
        values = {key: editing.text_of(duty, key) for key in (
            "code", "title", "title_en", "description", "phase")}
        values.update(
            rubric=editing.code_list(duty.get("rubric")),
            applies_to=kinds_of(duty.get("applies_to", "units"), UNIT_ALIASES),
            evidence=rows_data(editing.tables(duty, "evidence"), lambda e: {
                "kind": editing.text_of(e, "kind"), "title": editing.text_of(e, "title"),
                "title_en": editing.text_of(e, "title_en"), "max_chars": e.get("max_chars")}),
            before=reminders.get("before"), overdue_every=reminders.get("overdue_every"),
            by_occurrence=occurrence is not None,
            attendance=bool(occurrence and occurrence.get("attendance") is True),
            flags=rows_data(editing.tables(occurrence, "flags"), lambda f: {
                key: editing.text_of(f, key) for key in FlagForm.content}),
            schedule=ScheduleForm.values_of(due),
            non_working_day=editing.text_of(due, "non_working_day"),
            source=editing.text_of(due, "source") or "plan",
            document=editing.text_of(due, "document"),
            note=editing.text_of(due, "note"))
        return values

    def validate_flags(self, field):
        _duplicates(field, _("Another mark has this code."))

    def apply(self, duty: dict, data: dict) -> None:
        """The duty as submitted (a new code followed by the rows that name it)."""
        old_code = duty.get("code")
        editing.set_text(duty, "code", self.code.data)
        if old_code and old_code != duty.get("code"):
            editing.rename_duty(data, old_code, duty["code"])
        for key in ("title", "title_en", "description"):
            editing.set_text(duty, key, self[key].data)
        duty["rubric"] = in_order(duty.get("rubric"), self.rubric.data)
        duty["applies_to"] = _applies_to(duty.get("applies_to", "units"),
                                         self.applies_to.data or [], UNIT_ALIASES, UNIT_KINDS)
        editing.set_text(duty, "phase", self.phase.data)

        def fill_evidence(form, item):
            item["kind"] = form.kind.data
            editing.set_text(item, "title", form.title.data)
            editing.set_text(item, "title_en", form.title_en.data)
            if form.max_chars.data is None:
                item.pop("max_chars", None)
            else:
                item["max_chars"] = form.max_chars.data

        evidence = merge_rows(self.evidence, editing.tables(duty, "evidence"), fill_evidence)[0]
        if evidence or "evidence" in duty:
            duty["evidence"] = evidence
        apply_reminders(duty, self.before.data, self.overdue_every.data)

        if self.by_occurrence.data:
            occurrence = duty.get("occurrence") if isinstance(duty.get("occurrence"),
                                                              dict) else {}
            occurrence["attendance"] = bool(self.attendance.data)
            occurrence["flags"] = merge_rows(self.flags, editing.tables(occurrence, "flags"),
                                             _fill_flag)[0]
            duty["occurrence"] = occurrence
        else:
            duty.pop("occurrence", None)

    def apply_due(self, duty: dict, when: dict) -> None:
        """The duty's ``due``: when it falls (the old words kept where the choice is the
        same), where the date comes from, what the document says, days off."""
        old = duty.get("due") if isinstance(duty.get("due"), dict) else {}
        whens = ("rrule", "dates", "set_by")
        same = recognise(old).normalized() == recognise(when).normalized() \
            and any(k in old for k in whens)
        due = {k: v for k, v in old.items() if k in whens} if same else dict(when)
        for key, value in old.items():
            if key not in whens:
                due[key] = value
        if self.source.data != "plan" or "source" in old:
            due["source"] = self.source.data
        editing.set_text(due, "document", self.document.data)
        editing.set_text(due, "note", self.note.data)
        editing.set_text(due, "non_working_day", self.non_working_day.data)
        duty["due"] = due


def in_order(old, chosen) -> list[str]:
    """The codes chosen, those already listed in their order first (a list of checkboxes
    submits them in the page's order)."""
    before = editing.code_list(old)
    chosen = list(chosen or [])
    return [c for c in before if c in chosen] + [c for c in chosen if c not in before]


def _fill_flag(form, flag: dict) -> None:
    for key in FlagForm.content:
        editing.set_text(flag, key, form[key].data)


def _duplicates(field, message: str) -> None:
    """Mark rows whose code another row has; ValidationError if any."""
    live = [e.form for e in field if not e.form.skipped()]
    codes = [f.code.data for f in live]
    clashes = [f for f in live if codes.count(f.code.data) > 1]
    for form in clashes:
        form.code.errors = list(form.code.errors) + [message]
    if clashes:
        raise ValidationError(message)


def _row_text(row: dict) -> str:
    return editing.text_of(row, "requirement") or editing.text_of(row, "title")


def _short(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


class NewDutyForm(EditorForm):
    code = StringField(_l("Code"), validators=[code_check])
    title = StringField(_l("Title"), validators=[Length(max=DUTY_TITLE)])


# -- the rubric -----------------------------------------------------------------------

class NodeForm(Form):
    """A group, item or row of the rubric's tree (a row's texts are on its own page)."""

    path = HiddenField()
    code = StringField(_l("Code"), validators=[code_check, Length(max=32)])
    title = StringField(_l("Title"), validators=[Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=300)])
    points = NumberField(_l("Points"), validators=[Optional(), NumberRange(0, 1000), in_halves])
    remove = BooleanField(_l("Remove"))

    def validate(self, extra_validators=None):
        return True if self.remove.data else super().validate(extra_validators)


class RubricForm(EditorForm):
    total = NumberField(_l("Total points"), validators=[Optional(), NumberRange(1, 10_000),
                                                        in_halves])
    nodes = FieldList(FormField(NodeForm))

    @staticmethod
    def values_of(data: dict) -> dict:
        return {"total": editing.points_of(editing.rubric(data).get("total")),
                "nodes": [{"path": n.path, "code": n.code,
                           "title": editing.text_of(n.table, "title"),
                           "title_en": editing.text_of(n.table, "title_en"),
                           "points": editing.points_of(n.table.get("points"))}
                          for n in editing.walk(data)]}

    def validate_nodes(self, field):
        live = [e.form for e in field if not e.form.remove.data]
        codes = [f.code.data for f in live]
        message = _("Another group, item or row has this code.")
        clashes = [f for f in live if codes.count(f.code.data) > 1]
        for form in clashes:
            form.code.errors = list(form.code.errors) + [message]
        if clashes:
            raise ValidationError(message)

    def apply(self, data: dict, add: str = "") -> str | None:
        """The tree as submitted: codes, titles (of groups and items), points, removals;
        then ``add`` ("row:PATH", "item:PATH" or "group"). The code of what was added."""
        rubric = editing.rubric(data)
        if self.total.data is None:
            rubric.pop("total", None)
        else:
            rubric["total"] = self.total.data
        nodes = {n.path: n for n in editing.walk(data)}
        renamed, removing = {}, []
        for entry in self.nodes:
            form = entry.form
            node = nodes.get(form.path.data)
            if node is None:
                continue
            if form.remove.data:
                removing.append(node.path)
                continue
            if node.kind == "row" and node.code and node.code != form.code.data:
                renamed[node.code] = form.code.data
            editing.set_text(node.table, "code", form.code.data)
            if node.kind != "row":
                editing.set_text(node.table, "title", form.title.data)
                editing.set_text(node.table, "title_en", form.title_en.data)
            if form.points.data is None:
                node.table.pop("points", None)
            else:
                node.table["points"] = form.points.data
        for duty in editing.duties(data):
            if isinstance(duty.get("rubric"), list):
                duty["rubric"] = [renamed.get(c, c) for c in duty["rubric"]]
        added = None
        kind, _, path = add.partition(":")
        if kind == "group":
            added = editing.add_group(data)
        elif kind in ("row", "item") and path not in removing:
            added = editing.add_child(data, path, kind)
        for path in sorted(removing, key=_path_key, reverse=True):
            editing.remove_node(data, path)
        return added.code if added is not None else None


def _path_key(path: str) -> tuple[int, ...]:
    return tuple(int(step[1:]) for step in path.split("/"))


class RequireForm(EntryForm):
    duties = Checkboxes(_l("Duties whose accepted work counts"))
    at_least = StringField(_l("At least (a number, or “all”)"))
    flag = StringField(_l("Only occurrences with the mark (its code)"))
    label = StringField(_l("Label"), validators=[Length(max=300)])
    label_en = StringField(_l("Label in English"), validators=[Length(max=300)])
    deduct = NumberField(_l("Points a shortfall takes off"))
    content = ("duties", "at_least", "flag", "label", "label_en")

    def validate_at_least(self, field):
        text = (field.data or "").strip()
        if text != "all" and whole_number(text, 1, 2**31 - 1) is None:
            raise ValidationError(_("Give a number from 1, or “all”."))


class RowForm(EditorForm):
    code = StringField(_l("Code"), validators=[code_check, Length(max=32)])
    title = StringField(_l("Title (empty: the requirement)"), validators=[Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Length(max=300)])
    requirement = TextAreaField(_l("Requirement (工作要求)"), validators=[Length(max=5000)])
    deduction = TextAreaField(_l("Deduction (扣分标准)"), validators=[Length(max=5000)])
    points = NumberField(_l("Points"), validators=[Optional(), NumberRange(0, 1000), in_halves])
    numbered = BooleanField(_l("The document numbers the row"))
    code_space = BooleanField(_l("A space between the code and the text"))
    applies_to = Checkboxes(_l("Kinds of unit it applies to"))
    evidence = Checkboxes(_l("Duties its deduction names (none checked: every duty serving it)"))
    evidence_match = RadioField(_l("The row is met when"), choices=choices([
        ("all", _l("each of them has accepted work")), ("any", _l("one of them has"))]),
        default="all")
    requires = FieldList(FormField(RequireForm))

    def setup(self, data: dict, row_code: str) -> "RowForm":
        """Choices: the kinds scored, the duties serving the row (and any it names)."""
        self.applies_to.choices = choices((k, KIND_LABELS[k]) for k in ASSESSED_KINDS)
        serving = [editing.text_of(d, "code") for d in editing.serving(data, row_code)]
        named = list(self.evidence.data or [])
        for entry in self.requires:
            named += entry.form.duties.data or []
        codes = list(dict.fromkeys(serving + named))
        titles = {editing.text_of(d, "code"): editing.text_of(d, "title")
                  for d in editing.duties(data)}
        duty_choices = [(c, f"{c} {titles.get(c, '')}".strip()) for c in codes if c]
        self.evidence.choices = choices(duty_choices)
        for entry in self.requires:
            entry.form.duties.choices = choices(duty_choices)
        self.duty_choices = duty_choices
        return self

    @staticmethod
    def values_of(row: dict) -> dict:
        values = {key: editing.text_of(row, key) for key in (
            "code", "title", "title_en", "requirement", "deduction")}
        values.update(
            points=editing.points_of(row.get("points")),
            numbered=row.get("numbered", True) is True,
            code_space=row.get("code_space", True) is True,
            applies_to=kinds_of(row.get("applies_to", "units"), ROW_ALIASES),
            evidence=editing.code_list(row.get("evidence")),
            evidence_match=editing.text_of(row, "evidence_match") or "all",
            requires=rows_data(editing.tables(row, "requires"), lambda r: {
                "duties": editing.code_list(r.get("duties")),
                "at_least": str(r.get("at_least", "")), "flag": editing.text_of(r, "flag"),
                "label": editing.text_of(r, "label"),
                "label_en": editing.text_of(r, "label_en"), "deduct": r.get("deduct")}))
        return values

    def apply(self, row: dict, data: dict) -> None:
        old_code = row.get("code")
        editing.set_text(row, "code", self.code.data)
        if old_code and old_code != row.get("code"):
            editing.rename_row(data, old_code, row["code"])
        for key in ("title", "title_en", "requirement", "deduction"):
            editing.set_text(row, key, self[key].data)
        if self.points.data is None:
            row.pop("points", None)
        else:
            row["points"] = self.points.data
        for key in ("numbered", "code_space"):
            if self[key].data:
                row.pop(key, None)
            else:
                row[key] = False
        applies_to = _applies_to(row.get("applies_to", "units"), self.applies_to.data or [],
                                 ROW_ALIASES, ASSESSED_KINDS)
        if applies_to == "units" and "applies_to" not in row:
            pass  # every unit, as the loader takes a row that says nothing
        else:
            row["applies_to"] = applies_to
        if self.evidence.data:
            row["evidence"] = in_order(row.get("evidence"), self.evidence.data)
        else:
            row.pop("evidence", None)
        if self.evidence_match.data != "all" or "evidence_match" in row:
            row["evidence_match"] = self.evidence_match.data

        def fill(form, need):
            named = in_order(need.get("duties"), form.duties.data)
            need["duties"] = named[0] if len(named) == 1 else named
            text = (form.at_least.data or "").strip()
            need["at_least"] = "all" if text == "all" else int(text)
            editing.set_text(need, "flag", form.flag.data)
            editing.set_text(need, "label", form.label.data)
            editing.set_text(need, "label_en", form.label_en.data)
            if form.deduct.data is None:
                need.pop("deduct", None)
            else:
                need["deduct"] = form.deduct.data

        requires = merge_rows(self.requires, editing.tables(row, "requires"), fill)[0]
        if requires:
            row["requires"] = requires
        else:
            row.pop("requires", None)
