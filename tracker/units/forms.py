"""The unit form."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from tracker.core.forms import TrackerForm, choices
from tracker.units.models import KIND_LABELS


class UnitForm(TrackerForm):
    name = StringField(_l("Unit name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS.items()))
    active = BooleanField(_l("Active"), default=True)
