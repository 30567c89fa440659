"""Forms on the task page and for ad-hoc tasks."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (DateField, IntegerField, RadioField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.core.forms import TrackerForm, choices


class WorkForm(TrackerForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])
    statement = TextAreaField(_l("Written statement"), validators=[Optional()])
    #: For a duty recorded by occurrence: when it was held, who came, its marks.
    held_on = DateField(_l("Date held"), validators=[Optional()])
    attendance = IntegerField(_l("Attendance"), validators=[Optional(), NumberRange(1, 100_000)])
    flags = SelectMultipleField(_l("Marks"), choices=[], validate_choice=False,
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())


class UploadForm(TrackerForm):
    file = MultipleFileField(_l("Evidence files"), validators=[FileRequired()])


class ReviewForm(TrackerForm):
    verdict = RadioField(_l("Verdict"), choices=choices([("accept", _l("Accept")),
                                                 ("return", _l("Return for rework"))]),
                         validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])


class MoveForm(TrackerForm):
    due_date = DateField(_l("New due date"), validators=[DataRequired()])
    scope = RadioField(_l("Which tasks"), choices=choices([("task", _l("This unit's task")),
                                            ("all", _l("This occurrence for every unit"))]),
                       default="task")


class NewTaskForm(TrackerForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("What is asked"), validators=[Optional(), Length(max=5000)])
    due_date = DateField(_l("Due date"), validators=[DataRequired()])
    units = SelectMultipleField(_l("Units"), coerce=int, validators=[DataRequired()])
