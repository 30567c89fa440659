"""The duties tab (``/plans/<id>/duties`` and a page per duty): what a duty asks of
which units, its evidence, marks and reminders, and when it falls (``ScheduleForm``, the
common cases written as an RRULE or dates)."""

from babel.dates import get_month_names
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, IntegerField,
                     RadioField, SelectField, StringField, TextAreaField)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from tracker.core.forms import choices
from tracker.phases.kinds import APPLIES_TO_ALIASES, KIND_LABELS, UNIT_KINDS
from tracker.phases.planspec import EVIDENCE_KINDS
from tracker.planning import editing
from tracker.planning.forms.fields import (NON_WORKING_DAY_LABELS, Checkboxes, DaysField,
                                           EditorForm, EntryForm, apply_reminders,
                                           code_check, duplicates, in_order, kinds_of,
                                           merge_rows, rows_data, schedule_message,
                                           written_applies_to)
from tracker.planning.schedule import (KINDS, LAST, TIMES_A_YEAR, Schedule, ScheduleError,
                                       parse_dates, recognise, rrule_of, write)


EVIDENCE_LABELS = {"document": _l("Document"), "photo": _l("Photos"), "record": _l("Record"),
                   "statement": _l("Written statement")}


def month_choices():
    """The months, named in the reader's language."""
    names = get_month_names("wide", locale=get_locale())
    return choices((str(m), names[m]) for m in range(1, 13))


def day_choices():
    """The days of a month, and the last day."""
    return choices([(str(LAST), _("the last day"))] + [(str(d), str(d)) for d in range(1, 32)])


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
            applies_to=kinds_of(duty.get("applies_to", "units"), APPLIES_TO_ALIASES),
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
        duplicates(field, _("Another mark has this code."))

    def apply(self, duty: dict, data: dict) -> None:
        """The duty as submitted (a new code followed by the rows that name it)."""
        old_code = duty.get("code")
        editing.set_text(duty, "code", self.code.data)
        if old_code and old_code != duty.get("code"):
            editing.rename_duty(data, old_code, duty["code"])
        for key in ("title", "title_en", "description"):
            editing.set_text(duty, key, self[key].data)
        duty["rubric"] = in_order(duty.get("rubric"), self.rubric.data)
        duty["applies_to"] = written_applies_to(duty.get("applies_to", "units"),
                                                self.applies_to.data or [],
                                                APPLIES_TO_ALIASES, UNIT_KINDS)
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


def _fill_flag(form, flag: dict) -> None:
    for key in FlagForm.content:
        editing.set_text(flag, key, form[key].data)


def _row_text(row: dict) -> str:
    return editing.text_of(row, "requirement") or editing.text_of(row, "title")


def _short(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


class NewDutyForm(EditorForm):
    code = StringField(_l("Code"), validators=[code_check])
    title = StringField(_l("Title"), validators=[Length(max=DUTY_TITLE)])
