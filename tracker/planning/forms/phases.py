"""The phases tab (``/plans/<id>/phases``): the phases (总体安排), a row each."""

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import FieldList, FormField, StringField, TextAreaField
from wtforms.validators import Length

from tracker.planning import editing
from tracker.planning.forms.fields import (EditorForm, EntryForm, code_check, duplicates,
                                           merge_rows, month_day_check, rows_data)


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
        duplicates(field, _("Another phase has this code."))

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
        editing.rename_phases(data, renamed)
        codes = {p.get("code") for p in kept}
        for phase in removed:
            if phase.get("code") not in codes:
                editing.drop_phase(data, phase.get("code"))
