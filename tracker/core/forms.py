"""Form helpers shared by the areas, and the base of every form."""

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, PasswordField, TextAreaField
from wtforms.fields.choices import SelectChoice

from tracker.core.errors import TrackerError
from tracker.core.text import bad_character, check_text


def choices(pairs) -> list[SelectChoice]:
    """Select or radio choices from (value, label) pairs (WTForms 3.3's SelectChoice)."""
    return [SelectChoice(value, label) for value, label in pairs]


class TrackerForm(FlaskForm):
    """The base of every form: text that may not be stored is refused in the field that
    holds it (``tracker.core.text``): control characters anywhere (line breaks and tabs
    only in multi-line text and passwords), and in one-line text (names, titles,
    addresses) the bidirectional controls that make it read as something else.

    Control characters never get this far (``tracker.core.web`` refuses them in every
    request); the field's own message is for the rest.
    """

    def validate(self, extra_validators=None):
        """The fields' own checks, then the characters of every text field."""
        valid = super().validate(extra_validators)
        refused = False
        for field in _text_fields(self):
            multiline = isinstance(field, (TextAreaField, PasswordField))
            if bad_character(field.data, multiline) is None:
                continue
            try:
                check_text(field.data, str(field.label.text or field.name), multiline)
            except TrackerError as exc:
                field.errors = [*field.errors, str(exc)]
                refused = True
        if refused:
            self._errors = None  # recomputed with the messages added here
        return valid and not refused


def _text_fields(form):
    for field in form:
        if isinstance(field, FormField):
            yield from _text_fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                if isinstance(entry, FormField):
                    yield from _text_fields(entry.form)
                elif isinstance(entry.data, str):
                    yield entry
        elif isinstance(field.data, str):
            yield field
