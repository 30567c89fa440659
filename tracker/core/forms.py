"""Form helpers shared by the areas."""

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """Select or radio choices from (value, label) pairs (WTForms 3.3's SelectChoice)."""
    return [SelectChoice(value, label) for value, label in pairs]
