"""Checking text that people type or import, at every boundary (forms, CLI, files).

PostgreSQL refuses a NUL byte in text, a line break in a name or an address could
start a new mail header, and bidirectional overrides make a name read differently
from what it is (CVE-2021-42574). Such text is refused with a message, never stored.
"""

import unicodedata

from flask_babel import gettext as _

from tracker.core.errors import TrackerError

#: Characters that reorder the text around them: embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def bad_character(value: str, multiline: bool = False) -> str | None:
    """The first character ``value`` may not hold, or None.

    Control characters are refused (in multi-line text, line breaks and tabs are
    allowed); in one-line text (names, titles, addresses) bidirectional controls too.
    """
    for ch in value:
        if multiline and ch in "\r\n\t":
            continue
        if unicodedata.category(ch) == "Cc" or (not multiline and ch in BIDI_CONTROLS):
            return ch
        if ch in "\u2028\u2029" and not multiline:
            return ch
    return None


def printable(text: str) -> str:
    """Text from outside (a robot's or a mail server's answer) made storable and safe to
    show: each control character (NUL among them, which PostgreSQL refuses in text;
    line breaks and tabs too) and bidirectional control becomes U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS
                   or ch in "\u2028\u2029" else ch for ch in text)


def whole_number(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high`` (ASCII digits, a leading minus
    only where ``low`` is negative), or None. Never int() on text longer than the bound
    needs: past 4,300 digits int() raises, and a database column holds less anyway."""
    text = text.strip()
    digits = text[1:] if text.startswith("-") and low < 0 else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(max(abs(low),
                                                                                abs(high)))):
        return None
    value = int(text)
    return value if low <= value <= high else None


#: A cell starting with one of these is a formula to a spreadsheet program (OWASP's
#: "CSV Injection": =, +, -, @, tab and carriage return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value):
    """Text a spreadsheet would take for a formula, quoted with an apostrophe (OWASP's
    advice against CSV injection); numbers and other values as they are. Every CSV the
    app writes passes its cells through this."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def check_text(value: str, what: str, multiline: bool = False) -> str:
    """``value`` if it holds no character ``bad_character`` refuses; else TrackerError
    naming ``what`` and the character."""
    ch = bad_character(value, multiline)
    if ch is not None:
        code = f"{ord(ch):04X}"
        raise TrackerError(_("%(what)s holds a character that is not allowed (U+%(code)s); "
                             "remove it and try again.", what=what, code=code))
    return value


#: How text files from Chinese offices come: UTF-8 (with or without a BOM), or GB18030 as
#: Chinese Windows and Excel save them.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(data: bytes) -> str | None:
    """The text of a file's bytes in the first of ``TEXT_ENCODINGS`` that reads them, or
    None where none does."""
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
