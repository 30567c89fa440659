"""The group robot form."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from tracker.core.forms import TrackerForm, choices
from tracker.reminders.vendors import VENDORS

VENDOR_LABELS = {key: vendor.label for key, vendor in VENDORS.items()}


class RobotForm(TrackerForm):
    vendor = RadioField(_l("The group's app"), choices=choices(VENDOR_LABELS.items()),
                        validators=[DataRequired(_l("Choose the app the group is in."))])
    #: Blank keeps the stored address: the page never sends it back to the browser.
    url = StringField(_l("Webhook address"), validators=[Length(max=500)])
    secret = PasswordField(_l("Signing secret (DingTalk 加签, Feishu 签名校验)"),
                           validators=[Length(max=200)])
    no_secret = BooleanField(_l("The robot checks no signature (forget the stored secret)"))
