"""The unit form."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tracker.core.forms import TrackerForm, choices
from tracker.core.timeutil import MAX_YEAR, MIN_YEAR
from tracker.units.models import KIND_LABELS


class UnitForm(TrackerForm):
    name = StringField(_l("Unit name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS.items()))
    active = BooleanField(_l("Active"), default=True)
    party_org = SelectField(_l("Party organisation it belongs to (its rows are asked of it)"),
                            coerce=int, default=0)


class RowRuleForm(TrackerForm):
    """Exempt the unit from a rubric row for a year, or include one its kind does not carry."""

    year = IntegerField(_l("Year"), validators=[DataRequired(),
                                                NumberRange(MIN_YEAR, MAX_YEAR)])
    code = StringField(_l("Rubric row (e.g. 2-8-2)"), validators=[DataRequired(),
                                                                  Length(max=64)])
    mode = SelectField(_l("What"), choices=choices([("exempt", _l("Exempt: does not apply")),
                                                    ("include", _l("Include: applies as well"))]))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])
