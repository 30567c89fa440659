"""Sign-in, password and user forms."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.auth.passwords import MIN_LENGTH
from tracker.core.forms import TrackerForm, choices


class LoginForm(TrackerForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me signed in"))


class PasswordForm(TrackerForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"),
                        validators=[DataRequired(), Length(min=MIN_LENGTH, max=1024)])
    confirm = PasswordField(_l("New password again"),
                            validators=[EqualTo("new", message=_l("The passwords differ."))])


class LanguageForm(TrackerForm):
    lang = SelectField(choices=choices([("zh_CN", "中文"), ("en", "English")]))


class UserForm(TrackerForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=choices([("manager", _l("Unit manager")),
                                            ("viewer", _l("Unit viewer")),
                                            ("admin", _l("Coordinator"))]))
    unit_id = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    active = BooleanField(_l("Active"), default=True)
