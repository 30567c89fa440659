"""The plan tab (``/plans/<id>/plan``): ``[plan]``, ``[defaults]`` and the rubric's title
and rule for rows that do not apply."""

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from tracker.core.forms import choices
from tracker.planning import editing
from tracker.planning.forms.fields import (NON_WORKING_DAY_LABELS, DaysField, EditorForm,
                                           apply_reminders, code_check)


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
