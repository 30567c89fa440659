"""Texts in a given language, with or without an app: the compiled catalogue read directly.

Mails, robot messages and calendar feeds are built by pure functions, often in a
background job with no request to choose a language: they speak their reader's
language (a user's choice, or the town's for a group robot), as Flask-Babel's
``force_locale`` does inside an app. The messages are the same English msgids as
the interface's, in the same catalogue, so a translator edits the .po file only.
"""

import functools
import gettext as _gettext

from babel import Locale, support

from tracker.core.paths import PACKAGE

#: Where ``pybabel compile`` puts the catalogues (``<locale>/LC_MESSAGES/messages.mo``).
TRANSLATIONS = PACKAGE / "translations"
#: The languages texts are written in: the msgids' own (English) and the catalogues'.
LOCALES = ("zh_CN", "en")
#: The town's language: the default for a user who chose none, and a group robot's.
DEFAULT_LOCALE = "zh_CN"


def language(locale: str | None) -> str:
    """``locale`` if there are texts in it, else the default language."""
    return locale if locale in LOCALES else DEFAULT_LOCALE


@functools.cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``locale``; for English, the msgids themselves.

    A missing catalogue is an error, not English in its place: a Chinese mail must
    never go out in English because the .mo was not compiled.
    """
    if locale == "en":
        return support.NullTranslations()
    # Babel reads zh_CN as zh_Hans_CN (likely subtags): the folder's name.
    found = support.Translations.load(str(TRANSLATIONS), [Locale.parse(locale)])
    if not isinstance(found, support.Translations):
        raise LookupError(f"no compiled catalogue for {locale} under {TRANSLATIONS}: "
                          "run `pybabel compile -d tracker/translations`")
    return found


class Texts:
    """``gettext`` and ``ngettext`` in one language, formatting ``%(name)s`` placeholders
    as Flask-Babel's do (``ngettext`` always, with ``num`` the count)."""

    def __init__(self, locale: str):
        self.locale = locale
        self._catalogue = translations(locale)

    def gettext(self, string: str, **variables) -> str:
        """``string`` in this language."""
        text = self._catalogue.gettext(string)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        """The form for ``num`` of ``singular``/``plural`` in this language."""
        variables.setdefault("num", num)
        return self._catalogue.ngettext(singular, plural, num) % variables

    def sentences(self, parts: list[str]) -> str:
        """Sentences run together as the language writes them: a space between them in
        English, none after Chinese full stops."""
        return ("" if self.locale.startswith("zh") else " ").join(parts)


@functools.cache
def texts(locale: str | None) -> Texts:
    """The texts of ``locale`` (the default language's if there are none in it)."""
    return Texts(language(locale))
